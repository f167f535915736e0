import Foundation
import Postgres

/// A business using Clientele, as the platform catalogue records it.
public struct Tenant: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable, PostgresDecodable, PostgresEncodable {
        case active, suspended, deleted
    }

    public var id: Int64
    public var slug: String
    public var name: String
    public var status: Status
    /// Named from the id, never from the slug: a rename touches the catalogue only.
    public var schemaName: String
    public var roleName: String
    /// The number of tenant migrations applied to its schema.
    public var schemaVersion: Int
    public var createdAt: Date
    public var suspendedAt: Date?
    public var deletedAt: Date?

    static let columns: PostgresQuery = """
        id, slug, name, status, schema_name, role_name, schema_version, created_at, suspended_at, deleted_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        slug = try row.decode(at: 1)
        name = try row.decode(at: 2)
        status = try row.decode(at: 3)
        schemaName = try row.decode(at: 4)
        roleName = try row.decode(at: 5)
        schemaVersion = try row.decode(at: 6)
        createdAt = try row.decode(at: 7)
        suspendedAt = try row.decode(at: 8)
        deletedAt = try row.decode(at: 9)
    }

    /// The slug rule: lowercase letters, digits and single dashes between them, 1 to 40 long.
    public static func validateSlug(_ slug: String) throws {
        let allowed = slug.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
        guard !slug.isEmpty, slug.utf8.count <= 40, allowed,
              !slug.hasPrefix("-"), !slug.hasSuffix("-"), !slug.contains("--")
        else {
            throw TenancyError(.invalidSlug,
                "invalid slug '\(slug)': use 1 to 40 lowercase letters, digits and single dashes, like 'garage-martin'")
        }
    }
}

/// Where a tenant's work runs: its schema and its role. What a request needs to open a
/// tenant transaction, and nothing else.
public struct TenantScope: Sendable, Hashable {
    public var tenantID: Int64
    public var schemaName: String
    public var roleName: String
    /// A statement of this tenant running longer is cancelled by PostgreSQL (SQLSTATE 57014),
    /// so one runaway query cannot hold a pooled connection for ever.
    public var statementTimeout: Duration = .seconds(30)

    public init(tenantID: Int64, schemaName: String, roleName: String) {
        self.tenantID = tenantID
        self.schemaName = schemaName
        self.roleName = roleName
    }

    public init(_ tenant: Tenant) {
        self.init(tenantID: tenant.id, schemaName: tenant.schemaName, roleName: tenant.roleName)
    }

    /// For migrations and deletion, which may rightly run long (an index on a big table).
    var withoutStatementTimeout: TenantScope {
        var scope = self
        scope.statementTimeout = .zero
        return scope
    }

    /// Sets the tenant's role and search path for the current transaction only: nothing of it
    /// survives the transaction on a pooled connection (or behind PgBouncer in transaction mode).
    /// Values are bound; `set_config(..., true)` is `SET LOCAL` with parameters.
    public var prelude: PostgresQuery {
        let milliseconds = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
        return """
            SELECT set_config('role', \(roleName), true), set_config('search_path', \(schemaName), true),
                   set_config('statement_timeout', \(String(milliseconds)), true)
            """
    }
}

extension PostgresClient {
    /// Runs the body in a transaction as the tenant's role, on the tenant's schema. BEGIN and
    /// the settings travel with the body's first statement: one round trip, not three.
    public func withTenantTransaction<Result>(
        _ scope: TenantScope,
        _ body: (PostgresSession) async throws -> sending Result
    ) async throws -> sending Result {
        try await withTransaction(prelude: [scope.prelude], body)
    }

    /// BEGIN, the tenant settings, the statements and COMMIT in one round trip; returns the
    /// rows of the given statements.
    public func tenantTransaction(_ scope: TenantScope, _ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        Array(try await transaction([scope.prelude] + queries).dropFirst())
    }
}
