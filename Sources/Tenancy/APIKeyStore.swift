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

    /// Issues a key from inside the account (the API): `creator` may only give roles it manages,
    /// and a key for a user never has more rights than that user. An agent's key must act for a
    /// user: an agent sees the clients assigned to them, and a key of no user would see none.
    public func create(
        in scope: TenantScope, name: String, role: AccessRole, userID: UUID?, by creator: AccessRole,
        audit: AuditRecorder? = nil
    ) async throws -> IssuedAPIKey {
        let tenantID = scope.tenantID
        try UserStore.checkManages(creator, role)
        if role == .agent && userID == nil {
            throw TenancyError(.invalidRole, "an agent key must act for a user: give user_id")
        }
        return try await client.withTransaction { session in
            let tenant = try await TenantDirectory.find(id: tenantID, in: session)
            if let userID {
                let rows = try await session.query("""
                    SELECT role FROM platform.users WHERE id = \(userID) AND tenant_id = \(tenantID) AND status = 'active'
                    """)
                guard let userRole: AccessRole = try rows.first?.decode(at: 0) else {
                    throw TenancyError(.unknownUser, "no active user with id \(userID.lowercaseText) in this account")
                }
                guard role.rank <= userRole.rank else {
                    throw TenancyError(.roleTooHigh, "a key cannot have more rights than its user ('\(userRole.rawValue)')")
                }
            }
            let key = try await Self.issue(for: tenant, name: name, role: role, userID: userID, in: session)
            if let audit {
                var fields = ["name": key.name, "role": key.role.rawValue]
                fields["user_id"] = userID?.lowercaseText
                _ = try await session.pipeline([scope.prelude, audit("api_key", key.keyID, nil, fields)])
            }
            return key
        }
    }

    static func issue(
        for tenant: Tenant, name: String, role: AccessRole, userID: UUID? = nil, in session: PostgresSession
    ) async throws -> IssuedAPIKey {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else {
            throw TenancyError(.invalidName, "a key name must be 1 to 200 characters")
        }
        guard tenant.status != .deleted else {
            throw TenancyError(.tenantDeleted, "tenant '\(tenant.slug)' was deleted")
        }
        let fresh = APIKeyToken.generate()
        try await session.query("""
            INSERT INTO platform.api_keys (tenant_id, key_id, secret_hash, name, role, user_id)
            VALUES (\(tenant.id), \(fresh.keyID), \(APIKeyToken.hash(secret: fresh.secret)), \(name), \(role), \(userID))
            """)
        return IssuedAPIKey(keyID: fresh.keyID, token: fresh.token, name: name, role: role, userID: userID)
    }

    public func list(tenantSlug: String) async throws -> [APIKeyInfo] {
        try await client.withTransaction { session in
            let tenant = try await TenantDirectory.find(slug: tenantSlug, in: session)
            return try await Self.list(tenantID: tenant.id, in: session)
        }
    }

    public func list(tenantID: Int64) async throws -> [APIKeyInfo] {
        try await client.withConnection { try await Self.list(tenantID: tenantID, in: $0) }
    }

    static func list(tenantID: Int64, in session: PostgresSession) async throws -> [APIKeyInfo] {
        try await session.query("""
            SELECT key_id, name, role, created_at, revoked_at, user_id FROM platform.api_keys
            WHERE tenant_id = \(tenantID) ORDER BY id
            """).map {
            APIKeyInfo(keyID: try $0.decode(at: 0), name: try $0.decode(at: 1), role: try $0.decode(at: 2),
                       createdAt: try $0.decode(at: 3), revokedAt: try $0.decode(at: 4), userID: try $0.decode(at: 5))
        }
    }

    /// Revokes a key from inside the account: `actor` must manage the key's role.
    public func revoke(in scope: TenantScope, keyID: String, by actor: AccessRole, audit: AuditRecorder? = nil) async throws {
        let tenantID = scope.tenantID
        try await client.withTransaction { session in
            let rows = try await session.query("""
                SELECT role FROM platform.api_keys WHERE tenant_id = \(tenantID) AND key_id = \(keyID) AND revoked_at IS NULL
                FOR UPDATE
                """)
            guard let role: AccessRole = try rows.first?.decode(at: 0) else {
                throw TenancyError(.unknownKey, "no active key '\(keyID.prefix(32))' in this account")
            }
            try UserStore.checkManages(actor, role)
            _ = try await session.pipeline([
                "UPDATE platform.api_keys SET revoked_at = now() WHERE tenant_id = \(tenantID) AND key_id = \(keyID)",
                "SELECT pg_notify(\(Self.changeChannel), \(keyID))",
            ])
            if let audit {
                _ = try await session.pipeline([scope.prelude, audit("api_key", keyID, ["revoked": "false"], ["revoked": "true"])])
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
            SELECT k.secret_hash, k.role, t.id, t.slug, t.status, t.schema_name, t.role_name, k.user_id, u.role
            FROM platform.api_keys k JOIN platform.tenants t ON t.id = k.tenant_id
            LEFT JOIN platform.users u ON u.id = k.user_id
            WHERE k.key_id = \(parts.keyID) AND k.revoked_at IS NULL AND t.status <> 'deleted'
              AND (k.user_id IS NULL OR u.status = 'active')
            """)
        guard let row = rows.first else { return nil }
        let stored: String = try row.decode(at: 0)
        guard APIKeyToken.constantTimeEqual(stored, APIKeyToken.hash(secret: parts.secret)) else { return nil }
        return Credential(
            scope: TenantScope(tenantID: try row.decode(at: 2), schemaName: try row.decode(at: 5), roleName: try row.decode(at: 6)),
            tenantSlug: try row.decode(at: 3),
            tenantStatus: try row.decode(at: 4),
            keyID: parts.keyID,
            role: Self.effectiveRole(key: try row.decode(at: 1), user: try row.decode(at: 8)),
            userID: try row.decode(at: 7))
    }

    /// A key acting for a user never has more rights than the user has now (they may have been
    /// demoted since the key was made).
    static func effectiveRole(key: AccessRole, user: AccessRole?) -> AccessRole {
        guard let user, user.rank < key.rank else { return key }
        return user
    }
}
