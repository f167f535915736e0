import ArgumentParser
import Foundation
import HTTPAPI
import Hummingbird
import Logging
import Outbound
import Prometheus
import ServiceLifecycle
import Surveys

/// A process that only runs jobs: start as many as the work needs, on as many machines. They
/// share the queue through PostgreSQL (SKIP LOCKED); none of them is a leader.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run background jobs only (no HTTP server).",
        discussion: """
            Environment: as `serve` for the database; CLIENTELE_POOL_SIZE (twice the cores, at least 4), CLIENTELE_JOB_CONCURRENCY (32), \
            CLIENTELE_JOB_RETENTION_DAYS (14), CLIENTELE_JOB_LISTEN (true); CLIENTELE_METRICS_PORT: serve /metrics, \
            /healthz and /readyz on this port (HOST's address; none by default). SIGTERM or SIGINT: stops claiming, \
            lets running jobs finish for 20 s, gives the rest back to the queue.
            """
    )

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        Runtime.bootstrapLogging(environment)
        let runtime: Runtime
        do {
            runtime = try await Runtime.make()
        } catch {
            fail(error)
        }
        let database = runtime.makeClient(maximumConnections: runtime.poolSize)
        let outbound: OutboundSettings
        do {
            outbound = try OutboundSettings.fromEnvironment(environment)
        } catch {
            await runtime.finish()
            fail(error)
        }
        var metricsPort: Int?
        if let text = environment["CLIENTELE_METRICS_PORT"] {
            do {
                metricsPort = try Runtime.port(text, of: "CLIENTELE_METRICS_PORT")
            } catch {
                await runtime.finish()
                fail(error)
            }
        }
        await JobRunner.declareSchedules(database: database, logger: runtime.logger)
        let host = environment["HOST"] ?? "127.0.0.1"
        let links = SurveyLinks.fromEnvironment(environment, host: host, port: Int(environment["PORT"] ?? "") ?? 8080)
        runtime.logger.info("worker started", metadata: ["pid": "\(getpid())"])
        if let port = metricsPort {
            let metrics = HTTPMetrics(database: database)
            let background = JobRunner.services(
                database: database, outbound: outbound, links: links, logger: runtime.logger, environment: environment,
                metrics: PrometheusMetricsFactory(registry: metrics.registry))
            let app = OperationsServer.makeApplication(
                database: database, metrics: metrics, host: host, port: port, background: background, logger: runtime.logger
            ) { port in
                FileHandle.standardOutput.write(Data("Worker metrics on http://\(host):\(port)/metrics\n".utf8))
            }
            do {
                try await app.runService()
            } catch {
                runtime.logger.error("worker stopped", metadata: ["error": "\(error)"])
            }
        } else {
            let services = [database] + JobRunner.services(
                database: database, outbound: outbound, links: links, logger: runtime.logger, environment: environment)
            let group = ServiceGroup(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: runtime.logger)
            do {
                try await group.run()
            } catch {
                runtime.logger.error("worker stopped", metadata: ["error": "\(error)"])
            }
        }
        await runtime.finish()
    }
}
