import ClientBase
import Hummingbird
import Logging
import Postgres
import ServiceLifecycle
import Tenancy

/// The HTTP API: routes, middleware and the services it runs with (the database pool and the
/// authentication cache). Shutting down stops taking connections, finishes the requests in
/// flight, then closes the pool.
public struct APIServer: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// How long a good API key is trusted without asking the database again.
        public var credentialCacheTTL: Duration

        public init(host: String = "127.0.0.1", port: Int = 8080, credentialCacheTTL: Duration = .seconds(30)) {
            self.host = host
            self.port = port
            self.credentialCacheTTL = credentialCacheTTL
        }
    }

    public let database: PostgresClient
    public let settings: Settings
    public let metrics: HTTPMetrics
    let authenticator: Authenticator
    let logger: Logger

    /// `listenForChanges` wires the auth cache to `clientele_auth` notifications.
    public init(database: PostgresClient, settings: Settings = Settings(), listenForChanges: Bool = true, logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
        self.metrics = HTTPMetrics(database: database)
        let listener = listenForChanges
            ? PostgresListener(configuration: database.configuration, channels: [APIKeyStore.changeChannel], logger: logger)
            : nil
        self.authenticator = Authenticator(
            keys: APIKeyStore(client: database), timeToLive: settings.credentialCacheTTL, listener: listener)
    }

    public func makeRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ProblemMiddleware())
        HealthRoutes(database: database, metrics: metrics).register(on: router)
        let v1 = router.group("v1").add(middleware: AuthMiddleware(authenticator: authenticator))
        ClientRoutes(repository: ClientRepository(database: database), idempotency: IdempotentRequests(database: database))
            .register(on: v1.group("clients"))
        TimelineRoutes(repository: TimelineRepository(database: database)).register(on: v1.group("clients"))
        AroundThePurchaseRoutes.register(on: v1, database: database)
        return router
    }

    /// The application, with the pool and the auth listener as services shut down after it.
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "clientele"),
            services: [database, authenticator],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
