import Foundation
import Logging
import Postgres

/// Applies the platform and tenant migrations. Each migration runs in a transaction together
/// with its ledger row, so a crash leaves every schema at a known version and a rerun resumes.
public struct Migrator: Sendable {
    public let client: PostgresClient
    public let migrations: MigrationSet
    let logger: Logger

    /// The session advisory lock held by a `migrate` run: a second run waits for the first.
    static let runLockKey: Int64 = 0x436C_6965_6E74  // "Client"

    public init(client: PostgresClient, migrations: MigrationSet, logger: Logger) {
        self.client = client
        self.migrations = migrations
        self.logger = logger
    }

    /// What a `migrate` run did.
    public struct Report: Sendable {
        public var platformApplied: [String] = []
        public var tenantsMigrated: [(slug: String, from: Int, to: Int)] = []
        public var tenantsUpToDate = 0
        public var failures: [(slug: String, message: String)] = []
        public var succeeded: Bool { failures.isEmpty }
    }

    /// Brings the platform and every living tenant up to date, `concurrency` tenants at a time.
    /// A tenant that fails is reported and the others go on.
    public func migrateAll(concurrency: Int = 4) async throws -> Report {
        // The lock holds one connection; tenants are migrated on the others.
        guard client.options.maximumConnections >= 2 else {
            throw TenancyError(.migrationFailed, "migrate needs a database pool of at least 2 connections")
        }
        let workers = max(1, min(concurrency, client.options.maximumConnections - 1))
        return try await withRunLock { lock in
            var report = Report()
            report.platformApplied = try await migratePlatformLocked(on: lock)
            try await inTransaction(lock) { try await registerTenantMigrations(lock) }
            let latest = migrations.latestTenantVersion
            let tenants = try await lock.query("""
                SELECT \(fragment: Tenant.columns) FROM platform.tenants
                WHERE status <> 'deleted' ORDER BY id
                """).map(Tenant.init(row:))
            let stale = tenants.filter { $0.schemaVersion < latest }
            report.tenantsUpToDate = tenants.count - stale.count
            try await withThrowingTaskGroup(of: TenantOutcome.self) { group in
                var next = stale.makeIterator()
                for _ in 0..<workers {
                    guard let tenant = next.next() else { break }
                    group.addTask { await migrateOne(tenant) }
                }
                while let outcome = try await group.next() {
                    switch outcome {
                    case .migrated(let slug, let from, let to): report.tenantsMigrated.append((slug, from, to))
                    case .failed(let slug, let message): report.failures.append((slug, message))
                    }
                    if let tenant = next.next() {
                        group.addTask { await migrateOne(tenant) }
                    }
                }
            }
            return report
        }
    }

    /// Applies pending platform migrations (the server does this at start).
    public func migratePlatform() async throws -> [String] {
        try await withRunLock { try await migratePlatformLocked(on: $0) }
    }

    private enum TenantOutcome: Sendable {
        case migrated(slug: String, from: Int, to: Int)
        case failed(slug: String, message: String)
    }

    private func migrateOne(_ tenant: Tenant) async -> TenantOutcome {
        do {
            let reached = try await migrateTenant(tenant)
            logger.info("tenant migrated", metadata: ["tenant": "\(tenant.slug)", "version": "\(reached)"])
            return .migrated(slug: tenant.slug, from: tenant.schemaVersion, to: reached)
        } catch {
            logger.error("tenant migration failed", metadata: ["tenant": "\(tenant.slug)", "error": "\(error)"])
            return .failed(slug: tenant.slug, message: "\(error)")
        }
    }

    /// Applies a tenant's pending migrations, one transaction each (with its ledger row and the
    /// catalogue's schema version). Returns the version reached.
    public func migrateTenant(_ tenant: Tenant) async throws -> Int {
        let scope = TenantScope(tenant).withoutStatementTimeout
        let filesBefore = try await tableFiles(scope)
        while true {
            let (version, remaining) = try await client.withTenantTransaction(scope) { session in
                let outcome = try await applyTenantMigrations(in: session, scope: scope, limit: 1)
                _ = try await session.pipeline([
                    "SET LOCAL ROLE NONE",
                    "UPDATE platform.tenants SET schema_version = \(outcome.version) WHERE id = \(tenant.id)",
                ])
                return outcome
            }
            if remaining == 0 {
                // The schema is migrated either way: a vacuum that fails is autovacuum's to do.
                do {
                    let rewritten = try await tableFiles(scope).filter { filesBefore[$0.key] != $0.value }.keys
                    try await vacuum(rewritten.sorted(), of: scope)
                } catch {
                    logger.warning("vacuum after migration failed", metadata: ["tenant": "\(tenant.slug)", "error": "\(error)"])
                }
                return version
            }
        }
    }

    /// Each table of the tenant's schema and the file holding its rows, which a rewrite replaces.
    func tableFiles(_ scope: TenantScope) async throws -> [String: Int64] {
        let rows = try await client.query("""
            SELECT c.relname::text, c.relfilenode::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(scope.schemaName) AND c.relkind = 'r'
            """)
        return Dictionary(try rows.map { (try $0.decode(String.self, at: 0), try $0.decode(Int64.self, at: 1)) }) { first, _ in first }
    }

    /// A migration that rewrites a table (a stored column added, a type changed) leaves it with
    /// no page known all-visible: index-only scans read the table again for every row (the search
    /// of a common name at a million clients: 10 ms instead of 2), and autovacuum does not come,
    /// a rewrite being neither inserts nor dead rows. So the tables a migration rewrote (or made)
    /// are vacuumed after it, as the tenant, their owner. VACUUM cannot run in a transaction: the
    /// role is set for the session and reset before the connection goes back to the pool.
    func vacuum(_ tables: [String], of scope: TenantScope) async throws {
        guard !tables.isEmpty else { return }
        try await client.withConnection { session in
            try await session.query("SET ROLE \(identifier: scope.roleName)")
            do {
                for table in tables {
                    try await session.query("VACUUM (ANALYZE) \(identifier: scope.schemaName).\(identifier: table)")
                }
            } catch {
                _ = try? await session.query("RESET ROLE")
                throw error
            }
            try await session.query("RESET ROLE")
        }
        logger.info("tables vacuumed after migration", metadata: ["schema": "\(scope.schemaName)", "tables": "\(tables.joined(separator: ", "))"])
    }

    // MARK: Inside a tenant transaction

    /// Run as the tenant (role and search path set): ensures the ledger, checks the checksums of
    /// applied migrations, applies up to `limit` pending ones and records each.
    func applyTenantMigrations(
        in session: PostgresSession, scope: TenantScope, limit: Int = .max
    ) async throws -> (version: Int, remaining: Int) {
        let ledger = try await session.pipeline([
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """,
            // Serialises a migrate run with anything else migrating this tenant.
            "SELECT pg_advisory_xact_lock(\(Int32(0x436C)), \(Int32(truncatingIfNeeded: scope.tenantID)))",
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
        ])[2]
        let applied = try ledger.map { (try $0.decode(Int.self, at: 0), try $0.decode(String.self, at: 1)) }
        let schema = scope.schemaName
        try verify(applied: applied, against: migrations.tenant, schema: schema)
        let pending = migrations.tenant.dropFirst(applied.count)
        var version = applied.count
        for migration in pending.prefix(limit) {
            do {
                try await session.executeScript(migration.sql)
            } catch {
                throw TenancyError(.migrationFailed, "tenant migration \(migration.fileName) failed in \(schema): \(error)")
            }
            try await session.query("""
                INSERT INTO schema_migrations (version, name, checksum)
                VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                """)
            version = migration.version
        }
        return (version, migrations.tenant.count - version)
    }

    /// Records the tenant migrations as released, refusing any whose file changed since.
    func registerTenantMigrations(_ session: PostgresSession) async throws {
        let released = try await session.query(
            "SELECT version, checksum FROM platform.tenant_migrations ORDER BY version"
        ).map { (try $0.decode(Int.self, at: 0), try $0.decode(String.self, at: 1)) }
        try verify(applied: released, against: migrations.tenant, schema: "the tenant migrations")
        for migration in migrations.tenant.dropFirst(released.count) {
            try await session.query("""
                INSERT INTO platform.tenant_migrations (version, name, checksum)
                VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                ON CONFLICT (version) DO NOTHING
                """)
        }
    }

    private func verify(applied: [(Int, String)], against files: [Migration], schema: String) throws {
        for (version, checksum) in applied {
            guard version >= 1, version <= files.count else {
                throw TenancyError(.unknownMigration,
                    "\(schema) has migration \(version) applied, which is not in sql/: is this an older server?")
            }
            let file = files[version - 1]
            if file.checksum != checksum {
                throw TenancyError(.editedMigration,
                    "migration \(file.fileName) was edited after it was applied to \(schema); "
                    + "restore the original file and add the change as a new migration")
            }
        }
    }

    // MARK: Platform

    /// Runs on the connection that holds the run lock, so that a pool of one connection is enough.
    private func migratePlatformLocked(on lock: PostgresSession) async throws -> [String] {
        _ = try await lock.pipeline([
            "CREATE SCHEMA IF NOT EXISTS platform",
            """
            CREATE TABLE IF NOT EXISTS platform.schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """,
        ])
        let applied = try await lock.query("SELECT version, checksum FROM platform.schema_migrations ORDER BY version")
            .map { (try $0.decode(Int.self, at: 0), try $0.decode(String.self, at: 1)) }
        try verify(applied: applied, against: migrations.platform, schema: "the platform schema")
        var names: [String] = []
        for migration in migrations.platform.dropFirst(applied.count) {
            try await inTransaction(lock) {
                do {
                    try await lock.executeScript(migration.sql)
                } catch {
                    throw TenancyError(.migrationFailed, "platform migration \(migration.fileName) failed: \(error)")
                }
                try await lock.query("""
                    INSERT INTO platform.schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """)
            }
            logger.info("platform migration applied", metadata: ["migration": "\(migration.fileName)"])
            names.append(migration.fileName)
        }
        return names
    }

    /// BEGIN, the body, COMMIT on a session that is not in a transaction; ROLLBACK on error.
    private func inTransaction(_ session: PostgresSession, _ body: () async throws -> Void) async throws {
        try await session.query("BEGIN")
        do {
            try await body()
            try await session.query("COMMIT")
        } catch {
            _ = try? await session.query("ROLLBACK")
            throw error
        }
    }

    /// Holds the run lock on a connection of its own for the duration of the body.
    private func withRunLock<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        try await client.withConnection { lock in
            try await lock.query("SELECT pg_advisory_lock(\(Self.runLockKey))")
            do {
                let result = try await body(lock)
                try await lock.query("SELECT pg_advisory_unlock(\(Self.runLockKey))")
                return result
            } catch {
                _ = try? await lock.query("SELECT pg_advisory_unlock(\(Self.runLockKey))")
                throw error
            }
        }
    }
}
