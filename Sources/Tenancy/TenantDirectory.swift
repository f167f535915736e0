import Foundation
import Logging
import Postgres

/// The tenant lifecycle: create, list, find, suspend, resume, delete.
public struct TenantDirectory: Sendable {
    public let client: PostgresClient
    public let migrator: Migrator
    /// Roles belong to the whole PostgreSQL cluster, schemas to one database: role names carry
    /// this prefix (by default the database name) so that two databases never share a role.
    public let rolePrefix: String

    public init(client: PostgresClient, migrations: MigrationSet, logger: Logger, rolePrefix: String? = nil) {
        self.client = client
        self.migrator = Migrator(client: client, migrations: migrations, logger: logger)
        let base = (rolePrefix ?? client.configuration.database).lowercased()
        let cleaned = String(base.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "_" })
        self.rolePrefix = String(cleaned.prefix(40))
    }

    /// Creates the tenant's role and schema, applies the tenant migrations, records it and
    /// issues its first API key, in one transaction: a failure leaves nothing behind.
    public func create(slug: String, name: String) async throws -> (tenant: Tenant, key: IssuedAPIKey) {
        try Tenant.validateSlug(slug)
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else {
            throw TenancyError(.invalidName, "a tenant name must be 1 to 200 characters")
        }
        do {
            return try await client.withTransaction { session in
                try await migrator.registerTenantMigrations(session)
                let inserted = try await session.query("""
                    INSERT INTO platform.tenants (id, slug, name, schema_name, role_name)
                    SELECT n, \(slug), \(name), 'tenant_' || n, \(rolePrefix + "_tenant_") || n
                    FROM nextval(pg_get_serial_sequence('platform.tenants', 'id')) AS n
                    RETURNING \(fragment: Tenant.columns)
                    """)
                guard let row = inserted.first else {
                    throw PostgresError(.protocolViolation, "INSERT ... RETURNING returned no row")
                }
                var tenant = try Tenant(row: row)
                let scope = TenantScope(tenant).withoutStatementTimeout
                _ = try await session.pipeline([
                    "CREATE ROLE \(identifier: tenant.roleName) NOLOGIN",
                    "GRANT \(identifier: tenant.roleName) TO CURRENT_USER",
                    "CREATE SCHEMA \(identifier: tenant.schemaName) AUTHORIZATION \(identifier: tenant.roleName)",
                    scope.prelude,
                ])
                let outcome = try await migrator.applyTenantMigrations(in: session, scope: scope)
                _ = try await session.pipeline([
                    "SET LOCAL ROLE NONE",
                    "UPDATE platform.tenants SET schema_version = \(outcome.version) WHERE id = \(tenant.id)",
                ])
                tenant.schemaVersion = outcome.version
                let key = try await APIKeyStore.issue(for: tenant, name: "first key", role: .owner, in: session)
                return (tenant, key)
            }
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "tenants_live_slug" {
            throw TenancyError(.slugTaken, "a tenant with slug '\(slug)' already exists")
        }
    }

    /// Living and deleted tenants, oldest first.
    public func list() async throws -> [Tenant] {
        try await client.query("SELECT \(fragment: Tenant.columns) FROM platform.tenants ORDER BY id")
            .map(Tenant.init(row:))
    }

    /// The living tenant with this slug.
    public func find(slug: String) async throws -> Tenant {
        try await client.withConnection { try await Self.find(slug: slug, in: $0) }
    }

    static func find(slug: String, in session: PostgresSession, forUpdate: Bool = false) async throws -> Tenant {
        let rows = try await session.query("""
            SELECT \(fragment: Tenant.columns) FROM platform.tenants
            WHERE slug = \(slug) AND status <> 'deleted'
            \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """)
        guard let row = rows.first else {
            throw TenancyError(.unknownTenant, "no tenant with slug '\(slug)'")
        }
        return try Tenant(row: row)
    }

    static func find(id: Int64, in session: PostgresSession) async throws -> Tenant {
        let rows = try await session.query("""
            SELECT \(fragment: Tenant.columns) FROM platform.tenants WHERE id = \(id) AND status <> 'deleted'
            """)
        guard let row = rows.first else { throw TenancyError(.unknownTenant, "no tenant with id \(id)") }
        return try Tenant(row: row)
    }

    /// Gives the tenant a new slug: the catalogue only (its schema and role are named from its
    /// id). Logins take the new slug at once; API keys and sessions keep working.
    public func rename(slug: String, to newSlug: String) async throws -> Tenant {
        try Tenant.validateSlug(newSlug)
        do {
            return try await client.withTransaction { session in
                let tenant = try await Self.find(slug: slug, in: session, forUpdate: true)
                guard newSlug != slug else { return tenant }
                let rows = try await session.pipeline([
                    "UPDATE platform.tenants SET slug = \(newSlug) WHERE id = \(tenant.id) RETURNING \(fragment: Tenant.columns)",
                    "SELECT pg_notify(\(APIKeyStore.changeChannel), \(slug))",
                ])
                return try Tenant(row: rows[0][0])
            }
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "tenants_live_slug" {
            throw TenancyError(.slugTaken, "a tenant with slug '\(newSlug)' already exists")
        }
    }

    /// A suspended tenant's API calls are refused with 403 until it is resumed.
    public func suspend(slug: String) async throws -> Tenant {
        try await setStatus(slug: slug, to: .suspended, assignments: "status = 'suspended', suspended_at = now()")
    }

    public func resume(slug: String) async throws -> Tenant {
        try await setStatus(slug: slug, to: .active, assignments: "status = 'active', suspended_at = NULL")
    }

    private func setStatus(slug: String, to status: Tenant.Status, assignments: PostgresQuery) async throws -> Tenant {
        try await client.withTransaction { session in
            let tenant = try await Self.find(slug: slug, in: session, forUpdate: true)
            guard tenant.status != status else { return tenant }
            let rows = try await session.pipeline([
                "UPDATE platform.tenants SET \(fragment: assignments) WHERE id = \(tenant.id) RETURNING \(fragment: Tenant.columns)",
                "SELECT pg_notify(\(APIKeyStore.changeChannel), \(tenant.slug))",
            ])
            return try Tenant(row: rows[0][0])
        }
    }

    /// Drops the tenant's schema (all its data) and role, revokes its keys and marks it deleted.
    /// `confirmation` must repeat the slug. The catalogue keeps the row and the date.
    public func delete(slug: String, confirmation: String) async throws -> Tenant {
        guard confirmation == slug else {
            throw TenancyError(.confirmationMismatch, "confirmation '\(confirmation)' does not match slug '\(slug)'; nothing was deleted")
        }
        return try await client.withTransaction { session in
            let tenant = try await Self.find(slug: slug, in: session, forUpdate: true)
            // The schema's objects belong to the tenant role: drop them as that role.
            let rows = try await session.pipeline([
                TenantScope(tenant).withoutStatementTimeout.prelude,
                "DROP SCHEMA \(identifier: tenant.schemaName) CASCADE",
                "SET LOCAL ROLE NONE",
                "DROP ROLE \(identifier: tenant.roleName)",
                "UPDATE platform.api_keys SET revoked_at = now() WHERE tenant_id = \(tenant.id) AND revoked_at IS NULL",
                """
                UPDATE platform.tenants SET status = 'deleted', deleted_at = now()
                WHERE id = \(tenant.id) RETURNING \(fragment: Tenant.columns)
                """,
                "SELECT pg_notify(\(APIKeyStore.changeChannel), \(tenant.slug))",
            ])
            return try Tenant(row: rows[5][0])
        }
    }
}
