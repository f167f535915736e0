import Hummingbird
import Logging
import Postgres
import ServiceLifecycle

/// What a worker-only process serves over HTTP: `/healthz`, `/readyz` and `/metrics` (the job
/// runner's figures and the pool's), none of the API. The background services (the worker,
/// the scheduler) stop after the listener and before the pool.
public enum OperationsServer {
    public static func makeApplication(
        database: PostgresClient, metrics: HTTPMetrics, host: String, port: Int, background: [any Service],
        logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        HealthRoutes(database: database, metrics: metrics).register(on: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "clientele-worker"),
            services: [database] + background,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
