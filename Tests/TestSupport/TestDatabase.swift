import Foundation
import LocalPostgres
import Logging
import Postgres
import Tenancy

#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL for the tests: one private cluster per test process (fsync off), started
/// on first use and stopped when the process exits, with a fresh database for each suite.
public enum TestDatabase {
    public static let logger: Logger = {
        var logger = Logger(label: "clientele.tests")
        logger.logLevel = .warning
        return logger
    }()

    static let shared = Task<LocalPostgresCluster, any Error> {
        let cluster = try await startCluster(named: "shared")
        registerStopAtExit(cluster)
        return cluster
    }

    /// A new, empty database on the shared cluster, owned by the application role.
    public static func fresh(_ label: String = "t") async throws -> PostgresConfiguration {
        let cluster = try await shared.value
        let suffix = UUID().uuidString.prefix(8).lowercased()
        return try await cluster.createDatabase("\(label)_\(suffix)")
    }

    /// A cluster of the caller's own, for tests that stop or restart PostgreSQL.
    /// The caller stops it; it is also stopped when the process exits.
    public static func privateCluster() async throws -> LocalPostgresCluster {
        let cluster = try await startCluster(named: "private-\(UUID().uuidString.prefix(8))")
        registerStopAtExit(cluster)
        return cluster
    }

    public static func makeClient(
        _ configuration: PostgresConfiguration, maximumConnections: Int = 8,
        acquireTimeout: Duration = .seconds(5)
    ) -> PostgresClient {
        PostgresClient(
            configuration: configuration,
            options: .init(maximumConnections: maximumConnections, acquireTimeout: acquireTimeout),
            logger: logger)
    }

    /// The repository's `sql/` folder.
    public static var sqlDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sql")
    }

    public static func migrations() throws -> MigrationSet {
        try MigrationSet(directory: sqlDirectory)
    }

    /// A fresh database with the platform schema migrated, and a client on it.
    public static func platform(_ label: String, maximumConnections: Int = 8) async throws -> (PostgresClient, TenantDirectory) {
        let client = makeClient(try await fresh(label), maximumConnections: maximumConnections)
        let directory = TenantDirectory(client: client, migrations: try migrations(), logger: logger)
        _ = try await directory.migrator.migratePlatform()
        return (client, directory)
    }

    // MARK: Cluster plumbing

    private static func startCluster(named name: String) async throws -> LocalPostgresCluster {
        let root = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("clientele-tests-\(getpid())-\(name)")
        var settings = LocalPostgresCluster.Settings()
        settings.unsafeFastWrites = true
        // Every test holds a harness (a pool of 8 and a listener) and they all run at once.
        settings.maxConnections = 600
        let cluster = LocalPostgresCluster(root: root, port: try freePort(), settings: settings)
        try await cluster.start(logger: logger)
        return cluster
    }

    private static let stopList = StopList()

    private static func registerStopAtExit(_ cluster: LocalPostgresCluster) {
        stopList.add(cluster)
    }

    /// A TCP port nobody listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LocalPostgresError.noPort }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw LocalPostgresError.noPort }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension LocalPostgresError {
    static var noPort: LocalPostgresError { LocalPostgresError("no free TCP port for the test cluster") }
}

/// Clusters to stop when the test process exits, so no server outlives the run.
final class StopList: @unchecked Sendable {
    private let lock = NSLock()
    private var clusters: [LocalPostgresCluster] = []
    private var installed = false

    func add(_ cluster: LocalPostgresCluster) {
        lock.withLock {
            clusters.append(cluster)
            if !installed {
                installed = true
                atexit { TestDatabase.stopAll() }
            }
        }
    }

    func all() -> [LocalPostgresCluster] { lock.withLock { clusters } }
}

extension TestDatabase {
    static func stopAll() {
        for cluster in stopList.all() {
            cluster.stopImmediately()
            try? FileManager.default.removeItem(at: cluster.root)
        }
    }
}
