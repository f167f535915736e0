import ArgumentParser
import Foundation
import LocalPostgres
import Logging
import Postgres
import Tenancy

/// What every command needs: a logger, the database (configured or private), the migrations.
struct Runtime {
    let logger: Logger
    let configuration: PostgresConfiguration
    /// The private cluster, when no DATABASE_URL is set.
    let cluster: LocalPostgresCluster?
    /// Whether this process started that cluster (and should stop it when done).
    let startedCluster: Bool
    let migrations: MigrationSet
    /// CLIENTELE_PG_PREPARED=false: behind a pooler in transaction mode, no named statements.
    var preparedStatements = true
    /// CLIENTELE_POOL_SIZE: the connections of `serve` and `worker`.
    var poolSize = Runtime.defaultPoolSize()

    static let defaultDataDirectory = ".clientele"
    static let defaultClusterPort = 54329

    static func bootstrapLogging(_ environment: [String: String]) {
        let level = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    static func make(logLevel: Logger.Level? = nil) async throws -> Runtime {
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "clientele")
        if let logLevel { logger.logLevel = logLevel }
        let migrations = try MigrationSet(directory: try MigrationSet.locate(environment: environment))
        let prepared = try preparedStatements(environment)
        let poolSize = try poolSize(environment)
        if let url = environment["DATABASE_URL"], !url.isEmpty {
            let configuration: PostgresConfiguration
            do {
                configuration = try PostgresConfiguration(url: url)
            } catch {
                throw ConfigurationError(message: "DATABASE_URL is not usable: \((error as? PostgresError)?.message ?? "\(error)")")
            }
            return Runtime(logger: logger, configuration: configuration,
                           cluster: nil, startedCluster: false, migrations: migrations, preparedStatements: prepared,
                           poolSize: poolSize)
        }
        let root = URL(fileURLWithPath: environment["CLIENTELE_DATA_DIR"] ?? defaultDataDirectory)
        let port = Int(environment["CLIENTELE_PG_PORT"] ?? "") ?? defaultClusterPort
        let cluster = LocalPostgresCluster(root: root.standardizedFileURL, port: port)
        let started = try await cluster.start(logger: logger)
        return Runtime(logger: logger, configuration: try cluster.applicationConfiguration(),
                       cluster: cluster, startedCluster: started, migrations: migrations, preparedStatements: prepared,
                       poolSize: poolSize)
    }

    private static func preparedStatements(_ environment: [String: String]) throws -> Bool {
        switch environment["CLIENTELE_PG_PREPARED"]?.lowercased() {
        case nil, "", "true": return true
        case "false": return false
        case let other?:
            throw ConfigurationError(message: "CLIENTELE_PG_PREPARED must be true or false, not '\(other)'")
        }
    }

    /// Twice the machine's cores, at least 4: PostgreSQL's rule of thumb for busy connections.
    /// More backends than that only take turns on the cores, and the slow queries' turns
    /// stretch the tail: on 2 cores at 16 HTTP connections, a pool of 16 gave name searches a p99
    /// of 70 ms where a pool of 4 gave 40 ms, at the same rate (README, "At scale").
    static func defaultPoolSize(processors: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        max(4, 2 * processors)
    }

    private static func poolSize(_ environment: [String: String]) throws -> Int {
        guard let text = environment["CLIENTELE_POOL_SIZE"], !text.isEmpty else { return defaultPoolSize() }
        guard let size = Int(text), (2...1000).contains(size) else {
            throw ConfigurationError(message: "CLIENTELE_POOL_SIZE must be a whole number from 2 to 1000, not '\(text)'")
        }
        return size
    }

    /// The port number in `text`, the value of environment variable `name`.
    static func port(_ text: String, of name: String) throws -> Int {
        guard let port = Int(text), (0...65535).contains(port) else {
            throw ConfigurationError(message: "\(name) must be a port number, not '\(text)'")
        }
        return port
    }

    func makeClient(maximumConnections: Int) -> PostgresClient {
        var options = PostgresClient.Options(maximumConnections: maximumConnections)
        if !preparedStatements { options.preparedStatementsPerConnection = 0 }
        return PostgresClient(configuration: configuration, options: options, logger: logger)
    }

    /// Stops the private cluster if this process started it.
    func finish() async {
        if startedCluster, let cluster {
            try? await cluster.stop()
        }
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Runs a command body with a database client; any failure becomes one line on stderr and exit 1.
func withDatabase<T>(
    maximumConnections: Int = 2, migratePlatform: Bool = true,
    _ body: (Runtime, PostgresClient) async throws -> T
) async throws -> T {
    let runtime: Runtime
    do {
        runtime = try await Runtime.make(logLevel: .warning)
    } catch {
        fail(error)
    }
    let client = runtime.makeClient(maximumConnections: maximumConnections)
    do {
        if migratePlatform {
            _ = try await Migrator(client: client, migrations: runtime.migrations, logger: runtime.logger).migratePlatform()
        }
        let result = try await body(runtime, client)
        await client.shutdown()
        await runtime.finish()
        return result
    } catch {
        await client.shutdown()
        await runtime.finish()
        if error is ExitCode { throw error }
        fail(error, configuration: runtime.configuration)
    }
}

/// Prints one line and exits non-zero.
func fail(_ error: any Error, configuration: PostgresConfiguration? = nil) -> Never {
    let message: String
    switch error {
    case let error as PostgresError where error.code == .connectionFailed:
        let target = configuration.map { "\($0.host):\($0.port)" } ?? "the database"
        message = "cannot reach the database at \(target): \(error.message)"
    case let error as PostgresError:
        message = error.message
    default:
        message = "\(error)"
    }
    let line = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; ")
    FileHandle.standardError.write(Data("error: \(line)\n".utf8))
    // _exit, not exit: a background thread may still be inside libpq (a listener opening its
    // connection), and exit's teardown of the C libraries under it crashed the process.
    fflush(nil)
    _exit(1)
}
