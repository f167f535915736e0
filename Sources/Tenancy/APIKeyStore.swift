import Foundation
import Postgres

/// Creates, lists, revokes and checks API keys. Changes are announced on `clientele_auth` so
/// servers drop cached credentials at once.
public struct APIKeyStore: Sendable {
    public static let changeChannel = "clientele_auth"
    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Issues a key for a living tenant. The token is returned once and never stored.
    public func create(tenantSlug: String, name: String, role: AccessRole = .owner) async throws -> IssuedAPIKey {
        try await client.withTransaction { session in
            let tenant = try await TenantDirectory.find(slug: tenantSlug, in: session)
            return try await Self.issue(for: tenant, name: name, role: role, in: session)
        }
    }

    static func issue(for tenant: Tenant, name: String, role: AccessRole, in session: PostgresSession) async throws -> IssuedAPIKey {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else {
            throw TenancyError(.invalidName, "a key name must be 1 to 200 characters")
        }
        guard tenant.status != .deleted else {
            throw TenancyError(.tenantDeleted, "tenant '\(tenant.slug)' was deleted")
        }
        let fresh = APIKeyToken.generate()
        try await session.query("""
            INSERT INTO platform.api_keys (tenant_id, key_id, secret_hash, name, role)
            VALUES (\(tenant.id), \(fresh.keyID), \(APIKeyToken.hash(secret: fresh.secret)), \(name), \(role))
            """)
        return IssuedAPIKey(keyID: fresh.keyID, token: fresh.token, name: name, role: role)
    }

    public func list(tenantSlug: String) async throws -> [APIKeyInfo] {
        try await client.withTransaction { session in
            let tenant = try await TenantDirectory.find(slug: tenantSlug, in: session)
            return try await session.query("""
                SELECT key_id, name, role, created_at, revoked_at FROM platform.api_keys
                WHERE tenant_id = \(tenant.id) ORDER BY id
                """).map {
                APIKeyInfo(keyID: try $0.decode(at: 0), name: try $0.decode(at: 1), role: try $0.decode(at: 2),
                           createdAt: try $0.decode(at: 3), revokedAt: try $0.decode(at: 4))
            }
        }
    }

    /// Revokes a tenant's key by its id (the part after `ck_`). Revoking twice is an error.
    public func revoke(tenantSlug: String, keyID: String) async throws {
        try await client.withTransaction { session in
            let tenant = try await TenantDirectory.find(slug: tenantSlug, in: session)
            let rows = try await session.pipeline([
                """
                UPDATE platform.api_keys SET revoked_at = now()
                WHERE tenant_id = \(tenant.id) AND key_id = \(keyID) AND revoked_at IS NULL
                """,
                "SELECT pg_notify(\(Self.changeChannel), \(keyID))",
            ])
            if rows[0].affectedRows == 0 {
                throw TenancyError(.unknownKey, "tenant '\(tenantSlug)' has no active key '\(keyID)'")
            }
        }
    }

    /// The credential a token grants, or nil for a malformed, unknown, revoked or wrong token.
    /// The tenant's status is returned as is: the caller refuses suspended tenants with 403.
    public func authenticate(token: String) async throws -> Credential? {
        guard let parts = APIKeyToken.parse(token) else { return nil }
        let rows = try await client.query("""
            SELECT k.secret_hash, k.role, t.id, t.slug, t.status, t.schema_name, t.role_name
            FROM platform.api_keys k JOIN platform.tenants t ON t.id = k.tenant_id
            WHERE k.key_id = \(parts.keyID) AND k.revoked_at IS NULL AND t.status <> 'deleted'
            """)
        guard let row = rows.first else { return nil }
        let stored: String = try row.decode(at: 0)
        guard APIKeyToken.constantTimeEqual(stored, APIKeyToken.hash(secret: parts.secret)) else { return nil }
        return Credential(
            scope: TenantScope(tenantID: try row.decode(at: 2), schemaName: try row.decode(at: 5), roleName: try row.decode(at: 6)),
            tenantSlug: try row.decode(at: 3),
            tenantStatus: try row.decode(at: 4),
            keyID: parts.keyID,
            role: try row.decode(at: 1))
    }
}
