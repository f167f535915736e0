import Foundation
import Postgres
import Tenancy
import Testing
import TestSupport

@Suite("Tenant provisioning and lifecycle")
struct ProvisioningTests {
    @Test("create makes a schema and a NOLOGIN role named from the id, migrates it, and issues a working key")
    func create() async throws {
        let (client, directory) = try await TestDatabase.platform("prov")
        let (tenant, key) = try await directory.create(slug: "optique-durand", name: "Optique Durand")
        #expect(tenant.schemaName == "tenant_\(tenant.id)")
        #expect(tenant.roleName.hasSuffix("_tenant_\(tenant.id)"))
        #expect(tenant.status == .active)
        #expect(tenant.schemaVersion == directory.migrator.migrations.latestTenantVersion)
        let role = try #require(try await client.query("""
            SELECT rolcanlogin, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = \(tenant.roleName)
            """).first)
        #expect(try role.decode(Bool.self, at: 0) == false)
        #expect(try role.decode(Bool.self, at: 1) == false)
        let owner = try await client.query("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = \(tenant.schemaName)")
        #expect(try owner.first?.decode(String.self, at: 0) == tenant.roleName)
        let ledger = try await client.withTenantTransaction(TenantScope(tenant)) {
            try await $0.query("SELECT count(*) FROM schema_migrations").first!.decode(Int.self, at: 0)
        }
        #expect(ledger == directory.migrator.migrations.tenant.count)
        let credential = try #require(try await APIKeyStore(client: client).authenticate(token: key.token))
        #expect(credential.scope == TenantScope(tenant))
        #expect(credential.role == .owner)
        await client.shutdown()
    }

    @Test("slugs are validated and unique", arguments: ["", "Garage", "garage martin", "-garage", "garage-", "ga--rage", "garé", String(repeating: "a", count: 41)])
    func badSlugs(slug: String) async throws {
        let (client, directory) = try await TestDatabase.platform("prov")
        let error = try await #require(throws: TenancyError.self) { try await directory.create(slug: slug, name: "X") }
        #expect(error.code == .invalidSlug)
        #expect(try await directory.list().isEmpty)
        await client.shutdown()
    }

    @Test("a taken slug is refused with a clear error and leaves no second schema or role")
    func duplicateSlug() async throws {
        let (client, directory) = try await TestDatabase.platform("prov")
        _ = try await directory.create(slug: "garage-martin", name: "Garage Martin")
        let error = try await #require(throws: TenancyError.self) {
            try await directory.create(slug: "garage-martin", name: "Another")
        }
        #expect(error.code == .slugTaken)
        #expect(try await directory.list().count == 1)
        let schemas = try await client.query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'")
        #expect(try schemas.first?.decode(Int.self, at: 0) == 1)
        await client.shutdown()
    }

    @Test("a failing tenant migration leaves no half-made tenant: no row, schema, role or key")
    func atomicity() async throws {
        let (client, _) = try await TestDatabase.platform("prov")
        let base = try TestDatabase.migrations()
        let broken = MigrationSet(platform: base.platform, tenant: base.tenant + [
            Migration(version: base.tenant.count + 1, name: "broken", sql: "CREATE TABLE ok_so_far (id bigint PRIMARY KEY); SELEC oops;"),
        ])
        let directory = TenantDirectory(client: client, migrations: broken, logger: TestDatabase.logger)
        await #expect(throws: (any Error).self) { try await directory.create(slug: "traiteur", name: "Traiteur") }
        #expect(try await directory.list().isEmpty)
        let leftovers = try await client.query("""
            SELECT (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'),
                   (SELECT count(*) FROM pg_roles WHERE rolname LIKE \(directory.rolePrefix + "\\_tenant\\_%")),
                   (SELECT count(*) FROM platform.api_keys)
            """).first!
        #expect(try leftovers.decode(Int.self, at: 0) == 0)
        #expect(try leftovers.decode(Int.self, at: 1) == 0)
        #expect(try leftovers.decode(Int.self, at: 2) == 0)
        await client.shutdown()
    }

    @Test("suspend and resume change the status and dates; unknown slugs are clear errors")
    func suspendResume() async throws {
        let (client, directory) = try await TestDatabase.platform("prov")
        _ = try await directory.create(slug: "garage", name: "Garage")
        let suspended = try await directory.suspend(slug: "garage")
        #expect(suspended.status == .suspended)
        #expect(suspended.suspendedAt != nil)
        let resumed = try await directory.resume(slug: "garage")
        #expect(resumed.status == .active)
        #expect(resumed.suspendedAt == nil)
        let error = try await #require(throws: TenancyError.self) { try await directory.suspend(slug: "nobody") }
        #expect(error.code == .unknownTenant)
        await client.shutdown()
    }

    @Test("delete needs the slug again, drops schema and role, revokes keys, and keeps a record")
    func delete() async throws {
        let (client, directory) = try await TestDatabase.platform("prov")
        let (tenant, key) = try await directory.create(slug: "boulangerie", name: "Boulangerie")
        let refused = try await #require(throws: TenancyError.self) {
            try await directory.delete(slug: "boulangerie", confirmation: "boulangeri")
        }
        #expect(refused.code == .confirmationMismatch)
        #expect(try await directory.find(slug: "boulangerie").status == .active)

        let deleted = try await directory.delete(slug: "boulangerie", confirmation: "boulangerie")
        #expect(deleted.status == .deleted)
        #expect(deleted.deletedAt != nil)
        let left = try await client.query("""
            SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = \(tenant.schemaName)),
                   (SELECT count(*) FROM pg_roles WHERE rolname = \(tenant.roleName))
            """).first!
        #expect(try left.decode(Int.self, at: 0) == 0)
        #expect(try left.decode(Int.self, at: 1) == 0)
        #expect(try await APIKeyStore(client: client).authenticate(token: key.token) == nil)
        let record = try await directory.list()
        #expect(record.map(\.slug) == ["boulangerie"])
        #expect(record.first?.status == .deleted)
        // A deleted tenant is gone for every command, and its slug may be used again.
        await #expect(throws: TenancyError.self) { try await directory.find(slug: "boulangerie") }
        let again = try await directory.create(slug: "boulangerie", name: "Nouvelle boulangerie")
        #expect(again.tenant.id != tenant.id)
        await client.shutdown()
    }
}
