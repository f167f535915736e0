import Foundation
import Postgres
import Tenancy
import Testing
import TestSupport

@Suite("Migrations")
struct MigrationTests {
    let base: MigrationSet

    init() throws {
        base = try TestDatabase.migrations()
    }

    func adding(_ sql: String, name: String = "add_notes") -> MigrationSet {
        MigrationSet(platform: base.platform, tenant: base.tenant + [Migration(version: base.tenant.count + 1, name: name, sql: sql)])
    }

    @Test("the repository's migration files are numbered without gaps and checksummed")
    func files() throws {
        #expect(!base.platform.isEmpty)
        #expect(!base.tenant.isEmpty)
        #expect(base.tenant.map(\.version) == Array(1...base.tenant.count))
        #expect(base.tenant.allSatisfy { $0.checksum.count == 64 })
    }

    @Test("platform migrations are applied once and recorded")
    func platformOnce() async throws {
        let (client, directory) = try await TestDatabase.platform("mig")
        #expect(try await directory.migrator.migratePlatform().isEmpty)
        let recorded = try await client.query("SELECT count(*) FROM platform.schema_migrations").first!.decode(Int.self, at: 0)
        #expect(recorded == base.platform.count)
        await client.shutdown()
    }

    @Test("migrate brings every tenant up to date, records the version, and a rerun does nothing")
    func migrateAll() async throws {
        let (client, directory) = try await TestDatabase.platform("mig")
        for index in 0..<6 { _ = try await directory.create(slug: "t\(index)", name: "T") }
        let migrator = Migrator(client: client, migrations: adding("ALTER TABLE clients ADD COLUMN notes text"), logger: TestDatabase.logger)
        let report = try await migrator.migrateAll(concurrency: 3)
        #expect(report.succeeded)
        #expect(report.tenantsMigrated.count == 6)
        #expect(report.tenantsMigrated.allSatisfy { $0.to == base.tenant.count + 1 })
        for tenant in try await directory.list() {
            #expect(tenant.schemaVersion == base.tenant.count + 1)
            let rows = try await client.tenantTransaction(TenantScope(tenant), ["SELECT notes FROM clients"])
            #expect(rows[0].isEmpty)
        }
        let again = try await migrator.migrateAll()
        #expect(again.tenantsMigrated.isEmpty)
        #expect(again.tenantsUpToDate == 6)
        await client.shutdown()
    }

    @Test("a tenant that fails is reported and the others go on")
    func failingTenant() async throws {
        let (client, directory) = try await TestDatabase.platform("mig")
        for slug in ["a", "b", "c"] { _ = try await directory.create(slug: slug, name: slug) }
        // Tenant b already has a column the new migration adds: it alone fails.
        let b = try await directory.find(slug: "b")
        _ = try await client.tenantTransaction(TenantScope(b), ["ALTER TABLE clients ADD COLUMN notes text"])
        let migrator = Migrator(client: client, migrations: adding("ALTER TABLE clients ADD COLUMN notes text"), logger: TestDatabase.logger)
        let report = try await migrator.migrateAll()
        #expect(!report.succeeded)
        #expect(report.failures.map(\.slug) == ["b"])
        let file = Migration(version: base.tenant.count + 1, name: "add_notes", sql: "").fileName
        #expect(report.failures.first?.message.contains(file) == true)
        #expect(Set(report.tenantsMigrated.map(\.slug)) == ["a", "c"])
        #expect(try await directory.find(slug: "b").schemaVersion == base.tenant.count)
        await client.shutdown()
    }

    @Test("an edited migration that was already applied is refused with a clear message")
    func editedMigration() async throws {
        let (client, directory) = try await TestDatabase.platform("mig")
        _ = try await directory.create(slug: "a", name: "A")
        var edited = base
        edited.tenant[0] = Migration(version: 1, name: edited.tenant[0].name, sql: edited.tenant[0].sql + "\n-- a quiet edit\n")
        let migrator = Migrator(client: client, migrations: edited, logger: TestDatabase.logger)
        let error = try await #require(throws: TenancyError.self) { try await migrator.migrateAll() }
        #expect(error.code == .editedMigration)
        #expect(error.message.contains("0001_clients.sql was edited"))
        // Provisioning refuses it as well.
        let editedDirectory = TenantDirectory(client: client, migrations: edited, logger: TestDatabase.logger)
        await #expect(throws: TenancyError.self) { try await editedDirectory.create(slug: "b", name: "B") }

        var editedPlatform = base
        editedPlatform.platform[0] = Migration(version: 1, name: base.platform[0].name, sql: base.platform[0].sql + " ")
        let platformError = try await #require(throws: TenancyError.self) {
            try await Migrator(client: client, migrations: editedPlatform, logger: TestDatabase.logger).migratePlatform()
        }
        #expect(platformError.code == .editedMigration)
        await client.shutdown()
    }

    @Test("two concurrent migrate runs never collide: each tenant gets the migration exactly once")
    func concurrentRuns() async throws {
        let (client, directory) = try await TestDatabase.platform("mig", maximumConnections: 12)
        for index in 0..<8 { _ = try await directory.create(slug: "t\(index)", name: "T") }
        let set = adding("ALTER TABLE clients ADD COLUMN notes text")
        let first = Migrator(client: client, migrations: set, logger: TestDatabase.logger)
        let second = Migrator(client: client, migrations: set, logger: TestDatabase.logger)
        async let one = first.migrateAll(concurrency: 4)
        async let two = second.migrateAll(concurrency: 4)
        let reports = try await [one, two]
        #expect(reports.allSatisfy { $0.succeeded })
        #expect(reports.map(\.tenantsMigrated.count).sorted() == [0, 8])
        for tenant in try await directory.list() {
            let ledger = try await client.tenantTransaction(TenantScope(tenant), ["SELECT count(*) FROM schema_migrations"])
            #expect(try ledger[0][0].decode(Int.self, at: 0) == base.tenant.count + 1)
        }
        await client.shutdown()
    }

    @Test("a table a migration rewrites is vacuumed after it, as the tenant: index-only scans skip it again; the pool's connections are the platform's again")
    func rewrittenTablesVacuumed() async throws {
        let (client, directory) = try await TestDatabase.platform("mig", maximumConnections: 2)
        let tenant = try await directory.create(slug: "big", name: "Big").tenant
        let scope = TenantScope(tenant)
        _ = try await client.tenantTransaction(scope, [
            "INSERT INTO clients (id, kind, category, last_name) SELECT gen_random_uuid(), 'individual', 'prospect', 'N' || i FROM generate_series(1, 2000) AS i",
        ])
        /// How many rows an index-only scan of every client id read from the table.
        func heapFetches() async throws -> Int {
            let plan = try await client.tenantTransaction(scope, [
                "SET LOCAL enable_seqscan = off",
                "SET LOCAL enable_bitmapscan = off",
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM clients ORDER BY id",
            ])[2].first!.decode(String.self, at: 0)
            let node = try #require(plan.firstRange(of: #/"Heap Fetches": (\d+)/#))
            return Int(plan[node].split(separator: " ").last!)!
        }
        let migrator = Migrator(client: client, migrations: adding("SELECT 1", name: "nothing"), logger: TestDatabase.logger)
        #expect(try await migrator.migrateAll().succeeded)
        #expect(try await heapFetches() == 2000)  // never vacuumed, and not by a migration that rewrote nothing

        // A stored generated column rewrites the table.
        let rewrite = MigrationSet(platform: base.platform, tenant: migrator.migrations.tenant + [
            Migration(version: base.tenant.count + 2, name: "shout", sql: "ALTER TABLE clients ADD COLUMN shout text GENERATED ALWAYS AS (upper(last_name)) STORED"),
        ])
        #expect(try await Migrator(client: client, migrations: rewrite, logger: TestDatabase.logger).migrateAll().succeeded)
        #expect(try await heapFetches() == 0)

        // Both connections of the pool are back to the platform's role.
        let roles = try await client.withConnection { first in
            try await client.withConnection { second in
                [try await first.query("SELECT current_user::text"), try await second.query("SELECT current_user::text")]
            }
        }.map { try $0.first!.decode(String.self, at: 0) }
        #expect(roles.count == 2 && !roles.contains(tenant.roleName))
        await client.shutdown()
    }

    @Test("a run interrupted after some tenants resumes where it stopped")
    func resumable() async throws {
        let (client, directory) = try await TestDatabase.platform("mig")
        for slug in ["a", "b"] { _ = try await directory.create(slug: slug, name: slug) }
        let set = adding("ALTER TABLE clients ADD COLUMN notes text")
        let migrator = Migrator(client: client, migrations: set, logger: TestDatabase.logger)
        // As if the process died after tenant a.
        _ = try await migrator.migrateTenant(try await directory.find(slug: "a"))
        let report = try await migrator.migrateAll()
        #expect(report.tenantsMigrated.map(\.slug) == ["b"])
        #expect(report.tenantsUpToDate == 1)
        await client.shutdown()
    }

    @Test("the category history migration gives existing clients their first history entry")
    func categoryHistoryBackfill() async throws {
        let (client, _) = try await TestDatabase.platform("mig")
        let first = MigrationSet(platform: base.platform, tenant: Array(base.tenant.prefix(1)))
        let old = TenantDirectory(client: client, migrations: first, logger: TestDatabase.logger)
        let tenant = try await old.create(slug: "old", name: "Old").tenant
        #expect(tenant.schemaVersion == 1)
        _ = try await client.tenantTransaction(TenantScope(tenant), [
            "INSERT INTO clients (id, kind, category, last_name) VALUES (\(UUID()), 'individual', 'prescriber', 'Rousseau')",
        ])
        let report = try await Migrator(client: client, migrations: base, logger: TestDatabase.logger).migrateAll()
        #expect(report.succeeded)
        let rows = try await client.tenantTransaction(TenantScope(tenant), [
            "SELECT from_category, to_category, author FROM category_changes",
            "SELECT category_since = created_at FROM clients",
        ])
        #expect(rows[0].count == 1)
        #expect(try rows[0][0].decode(String?.self, at: 0) == nil)
        #expect(try rows[0][0].decode(String.self, at: 1) == "prescriber")
        #expect(try rows[0][0].decode(String.self, at: 2) == "migration")
        #expect(try rows[1][0].decode(Bool.self, at: 0))
        await client.shutdown()
    }

    @Test("badly named migration files are refused")
    func badFileNames() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mig-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("platform"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("tenant"), withIntermediateDirectories: true)
        try "SELECT 1;".write(to: folder.appendingPathComponent("tenant/1_short.sql"), atomically: true, encoding: .utf8)
        let error = try #require(throws: TenancyError.self) { try MigrationSet(directory: folder) }
        #expect(error.code == .invalidMigration)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("tenant/1_short.sql"))
        try "SELECT 1;".write(to: folder.appendingPathComponent("tenant/0002_gap.sql"), atomically: true, encoding: .utf8)
        #expect(throws: TenancyError.self) { try MigrationSet(directory: folder) }
        try FileManager.default.removeItem(at: folder)
    }
}
