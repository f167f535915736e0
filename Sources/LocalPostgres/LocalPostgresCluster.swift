import Foundation
import Logging
import Postgres

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster in a folder of ours, made from the installed server binaries:
/// created on first use, started when needed, reused after. The server and the CLI use it when
/// no database is configured; the tests make throwaway ones.
///
/// initdb and postgres refuse to run as root, so as root every server command runs as the
/// `postgres` system user, and the data folder belongs to that user.
public struct LocalPostgresCluster: Sendable {
    public struct Settings: Sendable {
        /// fsync and synchronous commit off: for throwaway test clusters only.
        public var unsafeFastWrites = false
        public var maxConnections = 200
        public var sharedBuffers = "128MB"
        public init() {}
    }

    /// The folder holding `pgdata/` and the application's password file.
    public let root: URL
    public let port: Int
    public let settings: Settings
    public let applicationRole = "clientele"
    public let applicationDatabase = "clientele"

    public init(root: URL, port: Int, settings: Settings = Settings()) {
        self.root = root.standardizedFileURL
        self.port = port
        self.settings = settings
    }

    public var dataDirectory: URL { root.appendingPathComponent("pgdata") }
    var passwordFile: URL { root.appendingPathComponent("db-password") }
    public var logFile: URL { dataDirectory.appendingPathComponent("server.log") }

    /// How the application connects: TCP on loopback, with the generated password.
    public func applicationConfiguration() throws -> PostgresConfiguration {
        let password = try String(contentsOf: passwordFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return PostgresConfiguration(
            host: "127.0.0.1", port: port, user: applicationRole, password: password,
            database: applicationDatabase, connectTimeout: Self.connectTimeout
        )
    }

    /// How the cluster's superuser connects: the Unix socket in the data folder (trust, 0700).
    public func superuserConfiguration(database: String = "postgres") -> PostgresConfiguration {
        PostgresConfiguration(host: dataDirectory.path, port: port, user: "postgres", database: database,
                              connectTimeout: Self.connectTimeout)
    }

    /// A private cluster shares its machine with whatever loads it (a whole test suite creating
    /// databases at once, a build): 5 s to connect was seen to run out there.
    static let connectTimeout = 30

    public var isInitialized: Bool {
        FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path)
    }

    public var isRunning: Bool {
        (try? runServerCommand("pg_ctl", ["status", "-D", dataDirectory.path]).status) == 0
    }

    /// Makes the cluster exist, run, and hold the application role and database.
    /// Returns true if this call started the server (so the caller may stop it when done).
    @discardableResult
    public func start(logger: Logger) async throws -> Bool {
        try await onOwnThread {
            try self.startBlocking(logger: logger)
        }
        try await bootstrapApplicationRole()
        return startedMarker.value
    }

    private let startedMarker = Flag()

    private func startBlocking(logger: Logger) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if !isInitialized {
            logger.info("creating a private PostgreSQL cluster", metadata: ["path": "\(dataDirectory.path)"])
            try initialize()
        }
        if isRunning {
            startedMarker.value = false
            return
        }
        let result = try runServerCommand(
            "pg_ctl", ["start", "-w", "-t", "60", "-D", dataDirectory.path, "-l", logFile.path]
        )
        guard result.status == 0 else {
            let log = (try? String(contentsOf: logFile, encoding: .utf8))?.split(separator: "\n").suffix(5)
                .joined(separator: "\n") ?? ""
            throw LocalPostgresError("PostgreSQL did not start (port \(port) taken?): \(result.output)\n\(log)")
        }
        startedMarker.value = true
    }

    public func stop() async throws {
        try await onOwnThread {
            guard self.isRunning else { return }
            let result = try self.runServerCommand("pg_ctl", ["stop", "-w", "-m", "fast", "-D", self.dataDirectory.path])
            guard result.status == 0 else { throw LocalPostgresError("PostgreSQL did not stop: \(result.output)") }
        }
    }

    /// Stops the server at once, from synchronous code (an `atexit` handler in tests).
    public func stopImmediately() {
        _ = try? runServerCommand("pg_ctl", ["stop", "-w", "-m", "immediate", "-D", dataDirectory.path])
    }

    /// Stops and starts the server: every open connection is closed by the server.
    public func restart() async throws {
        try await stop()
        _ = try await onOwnThread {
            let result = try self.runServerCommand(
                "pg_ctl", ["start", "-w", "-t", "60", "-D", self.dataDirectory.path, "-l", self.logFile.path]
            )
            guard result.status == 0 else { throw LocalPostgresError("PostgreSQL did not restart: \(result.output)") }
        }
    }

    /// Creates a database owned by the application role (tests use one per suite).
    public func createDatabase(_ name: String) async throws -> PostgresConfiguration {
        let admin = PostgresClient(configuration: superuserConfiguration(), options: .init(maximumConnections: 1), logger: Logger(label: "local-postgres"))
        do {
            let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = \(name)")
            if exists.isEmpty {
                _ = try await admin.query(PostgresQuery(unsafeSQL:
                    "CREATE DATABASE \(quoteIdentifier(name)) OWNER \(quoteIdentifier(applicationRole))"))
            }
            await admin.shutdown()
            try await givePublicSchema(database: name)
        } catch {
            await admin.shutdown()
            throw error
        }
        var configuration = try applicationConfiguration()
        configuration.database = name
        return configuration
    }

    /// The application role does not inherit `pg_database_owner` (it is NOINHERIT), so it is
    /// given the public schema of its databases outright.
    private func givePublicSchema(database: String) async throws {
        let admin = PostgresClient(configuration: superuserConfiguration(database: database), options: .init(maximumConnections: 1), logger: Logger(label: "local-postgres"))
        do {
            _ = try await admin.query(PostgresQuery(unsafeSQL: "ALTER SCHEMA public OWNER TO \(quoteIdentifier(applicationRole))"))
            await admin.shutdown()
        } catch {
            await admin.shutdown()
            throw error
        }
    }

    // MARK: Steps

    private func initialize() throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        if isRoot {
            try changeOwner(dataDirectory.path, to: "postgres")
            // initdb must reach its data folder through every parent.
            var parent = root
            while parent.path != "/" {
                let attributes = try fileManager.attributesOfItem(atPath: parent.path)
                let mode = (attributes[.posixPermissions] as? Int) ?? 0o755
                if mode & 0o001 == 0 { try fileManager.setAttributes([.posixPermissions: mode | 0o001], ofItemAtPath: parent.path) }
                parent = parent.deletingLastPathComponent()
            }
        }
        let initdb = try runServerCommand("initdb", [
            "-D", dataDirectory.path, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--locale=C.UTF-8",
        ])
        guard initdb.status == 0 else { throw LocalPostgresError("initdb failed: \(initdb.output)") }
        var conf = """

        # Written by Clientele for its private cluster.
        listen_addresses = '127.0.0.1'
        port = \(port)
        unix_socket_directories = '\(dataDirectory.path)'
        unix_socket_permissions = 0700
        max_connections = \(settings.maxConnections)
        shared_buffers = \(settings.sharedBuffers)
        max_locks_per_transaction = 256
        # A new WAL segment is created by the backend that needs it; filling its 16 MB with
        # zeros first took a third of a 100,000-client import's time in PostgreSQL (390 MB of
        # WAL). Recycled segments are never zeroed either.
        wal_init_zero = off
        log_min_messages = warning

        """
        if settings.unsafeFastWrites {
            conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        }
        let handle = try FileHandle(forWritingTo: dataDirectory.appendingPathComponent("postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(Data(conf.utf8))
        try handle.close()
        let password = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        _ = fileManager.createFile(atPath: passwordFile.path, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
    }

    /// The login role the server uses: not a superuser, can create tenant roles, and does not
    /// inherit their rights (it must SET ROLE to act as a tenant).
    private func bootstrapApplicationRole() async throws {
        let password = try applicationConfiguration().password ?? ""
        let admin = PostgresClient(configuration: superuserConfiguration(), options: .init(maximumConnections: 1), logger: Logger(label: "local-postgres"))
        do {
            if try await admin.query("SELECT 1 FROM pg_roles WHERE rolname = \(applicationRole)").isEmpty {
                // Utility statements take no parameters: PostgreSQL's format() quotes them.
                let create = try await admin.query(
                    "SELECT format('CREATE ROLE %I LOGIN CREATEROLE NOINHERIT PASSWORD %L', \(applicationRole)::text, \(password)::text)"
                )
                _ = try await admin.query(PostgresQuery(unsafeSQL: try create[0].decode(String.self, at: 0)))
            }
            if try await admin.query("SELECT 1 FROM pg_database WHERE datname = \(applicationDatabase)").isEmpty {
                _ = try await admin.query(PostgresQuery(unsafeSQL:
                    "CREATE DATABASE \(quoteIdentifier(applicationDatabase)) OWNER \(quoteIdentifier(applicationRole))"))
            }
            await admin.shutdown()
            try await givePublicSchema(database: applicationDatabase)
        } catch {
            await admin.shutdown()
            throw error
        }
    }

    // MARK: Processes

    var isRoot: Bool { getuid() == 0 }

    static func binDirectory() throws -> String {
        if let override = ProcessInfo.processInfo.environment["CLIENTELE_PG_BIN"] { return override }
        let base = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        let newest = versions.compactMap(Int.init).sorted().last
        guard let newest, FileManager.default.fileExists(atPath: "\(base)/\(newest)/bin/initdb") else {
            throw LocalPostgresError(
                "no PostgreSQL server binaries found under \(base): install them with `apt-get install -y postgresql`, or set DATABASE_URL"
            )
        }
        return "\(base)/\(newest)/bin"
    }

    struct CommandResult {
        var status: Int32
        var output: String
    }

    /// Runs a PostgreSQL server program, as the `postgres` user when we are root.
    func runServerCommand(_ program: String, _ arguments: [String]) throws -> CommandResult {
        let path = try Self.binDirectory() + "/" + program
        let command = isRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--", path] + arguments : [path] + arguments
        // Output goes to a file, not a pipe: a server started meanwhile by another thread could
        // inherit a pipe's write end and keep us waiting for its end forever.
        let outputFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("clientele-pg-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let status = try ChildProcess.run(command, outputPath: outputFile.path)
        let output = (try? Data(contentsOf: outputFile)) ?? Data()
        return CommandResult(status: status, output: String(decoding: output, as: UTF8.self))
    }

    private func changeOwner(_ path: String, to user: String) throws {
        guard let entry = getpwnam(user) else {
            throw LocalPostgresError("there is no '\(user)' system user: install PostgreSQL with `apt-get install -y postgresql`")
        }
        guard chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw LocalPostgresError("cannot give \(path) to the \(user) user")
        }
    }
}

public struct LocalPostgresError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs blocking work (child processes) on a thread of its own, off the cooperative pool.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    var value: Bool {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
