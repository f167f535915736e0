import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Surveys

/// A process that only runs jobs: start as many as the work needs, on as many machines. They
/// share the queue through PostgreSQL (SKIP LOCKED); none of them is a leader.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run background jobs only (no HTTP server).",
        discussion: """
            Environment: as `serve` for the database; CLIENTELE_POOL_SIZE (10), CLIENTELE_JOB_CONCURRENCY (32), \
            CLIENTELE_JOB_RETENTION_DAYS (14), CLIENTELE_JOB_LISTEN (true). SIGTERM or SIGINT: stops claiming, \
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
        let poolSize = Int(environment["CLIENTELE_POOL_SIZE"] ?? "") ?? 10
        let database = runtime.makeClient(maximumConnections: max(2, poolSize))
        let mail: OutboundMail?
        do {
            mail = try OutboundMail.fromEnvironment(environment)
        } catch {
            await runtime.finish()
            fail(error)
        }
        await JobRunner.declareSchedules(database: database, logger: runtime.logger)
        let links = SurveyLinks.fromEnvironment(
            environment, host: environment["HOST"] ?? "127.0.0.1", port: Int(environment["PORT"] ?? "") ?? 8080)
        let services = [database] + JobRunner.services(
            database: database, mail: mail, links: links, logger: runtime.logger, environment: environment)
        let group = ServiceGroup(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: runtime.logger)
        runtime.logger.info("worker started", metadata: ["pid": "\(getpid())"])
        do {
            try await group.run()
        } catch {
            runtime.logger.error("worker stopped", metadata: ["error": "\(error)"])
        }
        await runtime.finish()
    }
}
