import ArgumentParser
import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import Logging
import Outbound
import Postgres
import Prometheus
import Surveys
import Tenancy

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API (the default command).",
        discussion: """
            Environment: DATABASE_URL (else a private cluster in CLIENTELE_DATA_DIR, default ./.clientele, \
            on CLIENTELE_PG_PORT, default 54329), HOST (127.0.0.1), PORT (8080), CLIENTELE_POOL_SIZE (twice the cores, at least 4), \
            CLIENTELE_AUTO_MIGRATE (true), CLIENTELE_KEY_CACHE_SECONDS (30), LOG_LEVEL (info), CLIENTELE_SQL_DIR, \
            CLIENTELE_PG_PREPARED (true; false behind a pooler in transaction mode); \
            the job worker: CLIENTELE_WORKERS (true), CLIENTELE_JOB_CONCURRENCY (32), CLIENTELE_JOB_RETENTION_DAYS (14), \
            CLIENTELE_JOB_LISTEN (true).
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
        let logger = runtime.logger
        var port = 8080
        if let text = environment["PORT"], !text.isEmpty {
            do {
                port = try Runtime.port(text, of: "PORT")
            } catch {
                await runtime.finish()
                fail(error)
            }
        }
        let database = runtime.makeClient(maximumConnections: runtime.poolSize)
        let outbound: OutboundSettings
        do {
            outbound = try OutboundSettings.fromEnvironment(environment)
        } catch {
            await runtime.finish()
            fail(error)
        }
        do {
            if environment["CLIENTELE_AUTO_MIGRATE"] != "false" {
                let report = try await Migrator(client: database, migrations: runtime.migrations, logger: logger)
                    .migrateAll()
                for failure in report.failures {
                    logger.error("tenant not migrated", metadata: ["tenant": "\(failure.slug)", "error": "\(failure.message)"])
                }
            }
            if runtime.cluster != nil {
                try await DemoTenant.ensure(runtime: runtime, database: database)
            }
            if environment["CLIENTELE_WORKERS"] != "false" {
                await JobRunner.declareSchedules(database: database, logger: logger)
            }
        } catch {
            await database.shutdown()
            await runtime.finish()
            fail(error, configuration: runtime.configuration)
        }

        let settings = APIServer.Settings(
            host: environment["HOST"] ?? "127.0.0.1",
            port: port,
            credentialCacheTTL: .seconds(Int(environment["CLIENTELE_KEY_CACHE_SECONDS"] ?? "") ?? 30),
            secretBox: outbound.secretBox)
        let server = APIServer(database: database, settings: settings, logger: logger)
        let demoKey = runtime.cluster.flatMap { DemoTenant.savedKey(in: $0.root) }
        let background = environment["CLIENTELE_WORKERS"] == "false" ? []
            : JobRunner.services(database: database, outbound: outbound,
                                 links: SurveyLinks.fromEnvironment(environment, host: settings.host, port: settings.port),
                                 logger: logger, environment: environment,
                                 metrics: PrometheusMetricsFactory(registry: server.metrics.registry))
        let app = server.makeApplication(background: background) { port in
            var lines = ["Clientele is listening on http://\(settings.host):\(port)"]
            if let demoKey {
                lines.append("Demo tenant key: \(demoKey)")
                lines.append("Try: curl -s -H 'Authorization: Bearer \(demoKey)' http://\(settings.host):\(port)/v1/clients")
                lines.append("Or log in: curl -s -X POST -H 'Content-Type: application/json' -d '{\"account\": \"\(DemoTenant.slug)\", \"email\": \"\(DemoTenant.ownerEmail)\", \"password\": \"\(DemoTenant.ownerPassword)\"}' http://\(settings.host):\(port)/v1/auth/login")
            }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        do {
            try await app.runService()
        } catch {
            // The port taken, say: one line and a non-zero exit, as for any other failure.
            await runtime.finish()
            fail(ConfigurationError(message: "the server stopped: \(error)"))
        }
        await runtime.finish()
    }
}
