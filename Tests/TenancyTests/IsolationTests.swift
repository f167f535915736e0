import Foundation
import Postgres
import Tenancy
import Testing
import TestSupport

@Suite("Tenant isolation, enforced by PostgreSQL")
struct IsolationTests {
    /// One connection only: every transaction below runs on the same backend, as behind a pool.
    let client: PostgresClient
    let directory: TenantDirectory
    let a: Tenant
    let b: Tenant

    init() async throws {
        (client, directory) = try await TestDatabase.platform("iso", maximumConnections: 2)
        a = try await directory.create(slug: "tenant-a", name: "A").tenant
        b = try await directory.create(slug: "tenant-b", name: "B").tenant
        for tenant in [a, b] {
            try await client.withTenantTransaction(TenantScope(tenant)) { session in
                try await session.query("""
                    INSERT INTO clients (id, kind, category, last_name) VALUES (\(UUID()), 'individual', 'actual_client', \(tenant.slug))
                    """)
            }
        }
    }

    @Test("raw SQL in one tenant's transaction cannot read another tenant's tables")
    func crossSchemaReadDenied() async throws {
        let error = try await #require(throws: PostgresError.self) {
            try await client.withTenantTransaction(TenantScope(a)) { session in
                try await session.query("SELECT * FROM \(identifier: b.schemaName).clients")
            }
        }
        #expect(error.sqlState == .insufficientPrivilege)
        #expect(error.message.contains("permission denied"))
        // Its own data is there, and unqualified names resolve to its own schema.
        let own = try await client.withTenantTransaction(TenantScope(a)) {
            try await $0.query("SELECT last_name FROM clients").map { try $0.decode(String.self, at: 0) }
        }
        #expect(own == ["tenant-a"])
        await client.shutdown()
    }

    @Test("a tenant cannot read the platform catalogue, write elsewhere, or make temporary tables")
    func otherObjectsDenied() async throws {
        let statements: [PostgresQuery] = [
            "SELECT * FROM platform.tenants",
            "SELECT * FROM platform.api_keys",
            "INSERT INTO \(identifier: b.schemaName).clients (id, kind, category) VALUES (\(UUID()), 'individual', 'prospect')",
            "CREATE TABLE \(identifier: b.schemaName).intruder (id int PRIMARY KEY)",
            "CREATE TEMPORARY TABLE leftover (id int PRIMARY KEY)",
            "CREATE TABLE public.leftover (id int PRIMARY KEY)",
        ]
        for statement in statements {
            let error = try await #require(throws: PostgresError.self, "\(statement.sql)") {
                try await client.tenantTransaction(TenantScope(a), [statement])
            }
            #expect(error.sqlState == .insufficientPrivilege, "\(statement.sql)")
        }
        await client.shutdown()
    }

    @Test("nothing of a tenant transaction survives on the pooled connection")
    func nothingLeaksToNextUser() async throws {
        let single = TestDatabase.makeClient(client.configuration, maximumConnections: 1)
        let pid = try await single.withTenantTransaction(TenantScope(a)) { session in
            try await session.query("SELECT pg_backend_pid()").first!.decode(Int.self, at: 0)
        }
        // Also after a failed transaction, the next user is back to the application role.
        await #expect(throws: PostgresError.self) {
            try await single.tenantTransaction(TenantScope(a), ["SELECT * FROM no_such_table"])
        }
        let after = try #require(try await single.query("""
            SELECT pg_backend_pid(), current_user, current_setting('search_path'),
                   to_regclass('clients') IS NULL
            """).first)
        #expect(try after.decode(Int.self, at: 0) == pid)
        #expect(try after.decode(String.self, at: 1) == "clientele")
        #expect(try after.decode(String.self, at: 2) == "\"$user\", public")
        #expect(try after.decode(Bool.self, at: 3) == true)
        await single.shutdown()
        await client.shutdown()
    }

    @Test("two tenants on one backend each see only their own rows")
    func sameBackendTwoTenants() async throws {
        let single = TestDatabase.makeClient(client.configuration, maximumConnections: 1)
        for tenant in [a, b, a, b] {
            let rows = try await single.tenantTransaction(TenantScope(tenant), ["SELECT last_name FROM clients"])
            #expect(try rows[0].map { try $0.decode(String.self, at: 0) } == [tenant.slug])
        }
        await single.shutdown()
        await client.shutdown()
    }

    @Test("a statement prepared for one tenant, run by name for another on the same backend, reads the other's rows")
    func sameBackendPreparedStatement() async throws {
        let single = TestDatabase.makeClient(client.configuration, maximumConnections: 1)
        let query: PostgresQuery = ("SELECT last_name FROM clients WHERE last_name <> \("")" as PostgresQuery).prepared()
        for tenant in [a, b, a, b, a, b, a, b] {
            let rows = try await single.tenantTransaction(TenantScope(tenant), [query])
            #expect(try rows[0].map { try $0.decode(String.self, at: 0) } == [tenant.slug])
        }
        // One name served both tenants: PostgreSQL replanned it for each search_path.
        let prepared = try await single.query("SELECT count(*)::int FROM pg_prepared_statements")
        #expect(try prepared[0].decode(Int.self, at: 0) == 1)
        await single.shutdown()
        await client.shutdown()
    }

    @Test("a tenant statement past the tenant's statement timeout is cancelled, and the connection lives on")
    func statementTimeout() async throws {
        var scope = TenantScope(a)
        scope.statementTimeout = .milliseconds(100)
        let error = try await #require(throws: PostgresError.self) {
            try await client.tenantTransaction(scope, ["SELECT pg_sleep(2)"])
        }
        #expect(error.sqlState == .queryCanceled)
        let rows = try await client.tenantTransaction(TenantScope(a), ["SELECT current_setting('statement_timeout')"])
        #expect(try rows[0][0].decode(String.self, at: 0) == "30s")
        await client.shutdown()
    }

    @Test("the tenant prelude binds its values: the role and schema are parameters, not SQL")
    func preludeIsBound() {
        let scope = TenantScope(tenantID: 1, schemaName: "x'; DROP", roleName: "y")
        #expect(scope.prelude.binds.count == 3)
        #expect(!scope.prelude.sql.contains("DROP"))
    }
}
