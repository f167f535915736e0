import Foundation
import Postgres

/// Users of a tenant: invitation, login, sessions, roles and removal. Every change that could
/// stop a credential is announced on `clientele_auth`, so cached credentials drop at once.
public struct UserStore: Sendable {
    public struct Settings: Sendable {
        public var sessionLifetime: Duration = .seconds(12 * 3600)
        public var invitationLifetime: Duration = .seconds(7 * 24 * 3600)
        /// Failed logins allowed per account and email, and per client address, in one window.
        public var failuresPerEmail = 5
        public var failuresPerAddress = 30
        public var failureWindow: Duration = .seconds(15 * 60)
        /// A password reset link's lifetime, from the request.
        public var resetLifetime: Duration = .seconds(3600)
        /// Reset requests that send an email, per user and per account, in the last hour;
        /// more are answered alike and send nothing.
        public var resetsPerUserPerHour = 3
        public var resetsPerAccountPerHour = 30
        /// Reset requests from one client address per hour, whatever they name; more get 429.
        public var resetRequestsPerAddressPerHour = 20
        public init() {}
    }

    public let client: PostgresClient
    public let hasher: PasswordHasher
    public let settings: Settings
    /// Where invitation and reset emails are enqueued, in the transaction that makes them;
    /// nil sends none (the CLI prints the invitation token instead).
    public let mailQueue: AccountMailQueue?

    public init(client: PostgresClient, hasher: PasswordHasher, settings: Settings = Settings(), mailQueue: AccountMailQueue? = nil) {
        self.client = client
        self.hasher = hasher
        self.settings = settings
        self.mailQueue = mailQueue
    }

    // MARK: Invitation

    /// Invites a person: the user exists as `invited` until they choose a password with the
    /// returned token. `inviter` is the inviting role; it may not invite above what it manages.
    /// With a mail queue, the invitation email is enqueued in the same transaction.
    public func invite(
        in scope: TenantScope, email: String, name: String?, role: AccessRole, by inviter: AccessRole, label: String,
        audit: AuditRecorder? = nil
    ) async throws -> Invitation {
        let tenantID = scope.tenantID
        let email = try User.normalise(email: email)
        let name = try Self.validName(name)
        try Self.checkManages(inviter, role)
        let token = APIKeyToken.generate(prefix: APIKeyToken.invitationPrefix)
        let seconds = settings.invitationLifetime.components.seconds
        do {
            return try await client.withTransaction { session in
            let rows = try await session.pipeline([
                """
                INSERT INTO platform.users (id, tenant_id, email, name, role)
                VALUES (\(UUID()), \(tenantID), \(email), \(name), \(role)) RETURNING \(fragment: User.columns)
                """,
                """
                INSERT INTO platform.invitations (token_id, secret_hash, user_id, invited_by, expires_at)
                SELECT \(token.keyID), \(APIKeyToken.hash(secret: token.secret)), id, \(label), now() + make_interval(secs => \(Int(seconds)))
                FROM platform.users WHERE tenant_id = \(tenantID) AND email = \(email)
                RETURNING expires_at, id
                """,
            ])
            let user = try User(row: rows[0][0])
            if let mailQueue {
                try await mailQueue(.invitation(tenantID: tenantID, invitationID: try rows[1][0].decode(at: 1)), session)
            }
            try await Self.record(audit, "user", user.id, before: nil, after: user, in: scope, session: session)
            return Invitation(user: user, token: token.token, expiresAt: try rows[1][0].decode(at: 0))
            }
        } catch let error as PostgresError where error.isUniqueViolation {
            throw TenancyError(.userExists, "a user with the email '\(email)' already exists in this account")
        }
    }

    /// Takes an invitation once: sets the password, activates the user, opens a session.
    public func accept(invitation token: String, password: String, name: String?) async throws -> Session {
        try await openSession(for: try await activate(invitation: token, password: password, name: name))
    }

    /// Takes an invitation once: sets the password and activates the user (the HTML page:
    /// the person then logs in).
    public func activate(invitation token: String, password: String, name: String?) async throws -> User {
        try PasswordHasher.validate(password)
        let name = try Self.validName(name)
        let invalid = TenancyError(.invalidInvitation, "the invitation is not valid: unknown, already used or expired")
        guard let parts = APIKeyToken.parse(token, prefix: APIKeyToken.invitationPrefix) else { throw invalid }
        let hash = try await hasher.hash(password)
        let user: User = try await client.withTransaction { session in
            let rows = try await session.query("""
                SELECT i.secret_hash, i.user_id FROM platform.invitations i
                JOIN platform.users u ON u.id = i.user_id JOIN platform.tenants t ON t.id = u.tenant_id
                WHERE i.token_id = \(parts.keyID) AND i.accepted_at IS NULL AND i.expires_at > now()
                  AND u.status = 'invited' AND t.status = 'active'
                FOR UPDATE OF i
                """)
            guard let row = rows.first,
                  APIKeyToken.constantTimeEqual(try row.decode(at: 0), APIKeyToken.hash(secret: parts.secret))
            else { throw invalid }
            let userID: UUID = try row.decode(at: 1)
            let updated = try await session.pipeline([
                "UPDATE platform.invitations SET accepted_at = now() WHERE token_id = \(parts.keyID)",
                """
                UPDATE platform.users SET status = 'active', password_hash = \(hash),
                    name = coalesce(\(name), name), updated_at = now()
                WHERE id = \(userID) RETURNING \(fragment: User.columns)
                """,
            ])
            return try User(row: updated[1][0])
        }
        return user
    }

    // MARK: Login

    /// Checks an email and password in a living account. Unknown account, unknown email, wrong
    /// password and a user who cannot log in all give the same error, after the same bcrypt
    /// work. Too many failures per email or per address give `tooManyAttempts` instead.
    public func login(tenantSlug: String, email: String, password: String, address: String?) async throws -> Session {
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let keys = ["login:\(tenantSlug):\(email)"] + (address.map { ["address:\($0)"] } ?? [])
        try await checkThrottle(keys)
        let rows = try await client.query("""
            SELECT \(fragment: User.columnsOfU), u.password_hash FROM platform.users u
            JOIN platform.tenants t ON t.id = u.tenant_id
            WHERE t.slug = \(tenantSlug) AND t.status = 'active' AND u.email = \(email) AND u.status = 'active'
            """)
        let stored: String? = try rows.first?.decode(at: 8)
        // A password longer than bcrypt reads was never set: check it against the decoy.
        let fits = password.utf8.count <= PasswordHasher.maximumBytes
        guard try await hasher.verify(password, hash: fits ? stored : nil),
              let row = rows.first
        else {
            try await recordFailure(keys)
            throw TenancyError(.invalidCredentials, "the account, email or password is wrong")
        }
        let user = try User(row: row)
        _ = try await client.transaction([
            "DELETE FROM platform.login_failures WHERE throttle_key = \(keys[0])",
            "UPDATE platform.users SET last_login_at = now() WHERE id = \(user.id)",
        ])
        return try await openSession(for: user)
    }

    func openSession(for user: User) async throws -> Session {
        let token = APIKeyToken.generate(prefix: APIKeyToken.sessionPrefix)
        let seconds = Int(settings.sessionLifetime.components.seconds)
        let rows = try await client.query("""
            INSERT INTO platform.sessions (session_id, secret_hash, user_id, expires_at)
            VALUES (\(token.keyID), \(APIKeyToken.hash(secret: token.secret)), \(user.id), now() + make_interval(secs => \(seconds)))
            RETURNING expires_at
            """)
        return Session(token: token.token, expiresAt: try rows[0].decode(at: 0), user: user)
    }

    func checkThrottle(_ keys: [String]) async throws {
        let window = Int(settings.failureWindow.components.seconds)
        let rows = try await client.query("""
            SELECT throttle_key, failures,
                   ceil(extract(epoch FROM window_started + make_interval(secs => \(window)) - now()))::int
            FROM platform.login_failures
            WHERE throttle_key = ANY(\(keys)) AND window_started > now() - make_interval(secs => \(window))
            """)
        for row in rows {
            let key: String = try row.decode(at: 0)
            let failures: Int = try row.decode(at: 1)
            let limit = key.hasPrefix("address:") ? settings.failuresPerAddress : settings.failuresPerEmail
            if failures >= limit {
                let retry = max(1, try row.decode(Int.self, at: 2))
                throw TenancyError(.tooManyAttempts,
                    "too many failed logins; try again in \(retry) seconds", retryAfterSeconds: retry)
            }
        }
    }

    func recordFailure(_ keys: [String]) async throws {
        let window = Int(settings.failureWindow.components.seconds)
        _ = try await client.query("""
            INSERT INTO platform.login_failures AS f (throttle_key, failures, window_started)
            SELECT key, 1, now() FROM unnest(\(keys)::text[]) AS key
            ON CONFLICT (throttle_key) DO UPDATE SET
                failures = CASE WHEN f.window_started > now() - make_interval(secs => \(window)) THEN f.failures + 1 ELSE 1 END,
                window_started = CASE WHEN f.window_started > now() - make_interval(secs => \(window)) THEN f.window_started ELSE now() END
            """)
    }

    /// Ends a session (logout). Unknown or already ended sessions are ignored.
    public func revokeSession(id sessionID: String) async throws {
        _ = try await client.transaction([
            "UPDATE platform.sessions SET revoked_at = now() WHERE session_id = \(sessionID) AND revoked_at IS NULL",
            "SELECT pg_notify(\(APIKeyStore.changeChannel), \(sessionID))",
        ])
    }

    /// The credential a session token grants, or nil (malformed, unknown, expired, revoked, or
    /// its user cannot log in any more).
    public func authenticate(sessionToken token: String) async throws -> Credential? {
        guard let parts = APIKeyToken.parse(token, prefix: APIKeyToken.sessionPrefix) else { return nil }
        let rows = try await client.query("""
            SELECT s.secret_hash, u.role, u.id, t.id, t.slug, t.status, t.schema_name, t.role_name
            FROM platform.sessions s JOIN platform.users u ON u.id = s.user_id
            JOIN platform.tenants t ON t.id = u.tenant_id
            WHERE s.session_id = \(parts.keyID) AND s.revoked_at IS NULL AND s.expires_at > now()
              AND u.status = 'active' AND t.status <> 'deleted'
            """)
        guard let row = rows.first,
              APIKeyToken.constantTimeEqual(try row.decode(at: 0), APIKeyToken.hash(secret: parts.secret))
        else { return nil }
        return Credential(
            scope: TenantScope(tenantID: try row.decode(at: 3), schemaName: try row.decode(at: 6), roleName: try row.decode(at: 7)),
            tenantSlug: try row.decode(at: 4), tenantStatus: try row.decode(at: 5),
            keyID: parts.keyID, role: try row.decode(at: 1), userID: try row.decode(at: 2), isSession: true)
    }

    // MARK: Management

    public func list(tenantID: Int64) async throws -> [User] {
        try await client.query("""
            SELECT \(fragment: User.columns) FROM platform.users WHERE tenant_id = \(tenantID) ORDER BY created_at, id
            """).map(User.init(row:))
    }

    public func get(_ id: UUID, tenantID: Int64) async throws -> User {
        let rows = try await client.query("""
            SELECT \(fragment: User.columns) FROM platform.users WHERE id = \(id) AND tenant_id = \(tenantID)
            """)
        guard let row = rows.first else { throw Self.unknown(id) }
        return try User(row: row)
    }

    /// Changes a user's role, name or status (active or disabled). The last active owner can
    /// be neither demoted nor disabled.
    public func update(
        _ id: UUID, in scope: TenantScope, role: AccessRole?, name: String??, status: User.Status?, by actor: AccessRole,
        audit: AuditRecorder? = nil
    ) async throws -> User {
        let tenantID = scope.tenantID
        if status == .invited { throw TenancyError(.invalidRole, "status can be set to active or disabled only") }
        let name = try name.map { try Self.validName($0) }
        return try await client.withTransaction { session in
            let current = try await lockUser(id, tenantID: tenantID, in: session)
            try Self.checkManages(actor, current.role)
            if let role { try Self.checkManages(actor, role) }
            if status == .active && current.status == .invited {
                throw TenancyError(.invalidRole, "an invited user becomes active by accepting their invitation")
            }
            let losesOwner = current.role == .owner && current.status == .active
                && ((role.map { $0 != .owner } ?? false) || status == .disabled)
            if losesOwner { try await requireAnotherOwner(than: id, tenantID: tenantID, in: session) }
            let rows = try await session.pipeline([
                """
                UPDATE platform.users SET role = coalesce(\(role), role),
                    name = CASE WHEN \(name != nil) THEN \(name ?? nil) ELSE name END,
                    status = coalesce(\(status), status), updated_at = now()
                WHERE id = \(id) RETURNING \(fragment: User.columns)
                """,
                "SELECT pg_notify(\(APIKeyStore.changeChannel), \(id.uuidString))",
            ])
            let user = try User(row: rows[0][0])
            try await Self.record(audit, "user", id, before: current, after: user, in: scope, session: session)
            return user
        }
    }

    /// Removes a user with their sessions, invitations and keys. The last active owner stays.
    public func remove(_ id: UUID, in scope: TenantScope, by actor: AccessRole, audit: AuditRecorder? = nil) async throws {
        let tenantID = scope.tenantID
        try await client.withTransaction { session in
            let current = try await lockUser(id, tenantID: tenantID, in: session)
            try Self.checkManages(actor, current.role)
            if current.role == .owner && current.status == .active {
                try await requireAnotherOwner(than: id, tenantID: tenantID, in: session)
            }
            _ = try await session.pipeline([
                "DELETE FROM platform.users WHERE id = \(id)",
                "SELECT pg_notify(\(APIKeyStore.changeChannel), \(id.uuidString))",
            ])
            try await Self.record(audit, "user", id, before: current, after: nil, in: scope, session: session)
        }
    }

    /// An active user with a password, made by an operator (the CLI, the demo tenant).
    public func createActive(tenantID: Int64, email: String, name: String?, role: AccessRole, password: String) async throws -> User {
        let email = try User.normalise(email: email)
        try PasswordHasher.validate(password)
        let hash = try await hasher.hash(password)
        do {
            return try User(row: try await client.query("""
                INSERT INTO platform.users (id, tenant_id, email, name, role, status, password_hash)
                VALUES (\(UUID()), \(tenantID), \(email), \(try Self.validName(name)), \(role), 'active', \(hash))
                RETURNING \(fragment: User.columns)
                """)[0])
        } catch let error as PostgresError where error.isUniqueViolation {
            throw TenancyError(.userExists, "a user with the email '\(email)' already exists in this account")
        }
    }

    private func lockUser(_ id: UUID, tenantID: Int64, in session: PostgresSession) async throws -> User {
        // Owners are locked together, so two concurrent removals cannot both pass the check.
        _ = try await session.query("""
            SELECT id FROM platform.users WHERE tenant_id = \(tenantID) AND role = 'owner' ORDER BY id FOR UPDATE
            """)
        let rows = try await session.query("""
            SELECT \(fragment: User.columns) FROM platform.users WHERE id = \(id) AND tenant_id = \(tenantID) FOR UPDATE
            """)
        guard let row = rows.first else { throw Self.unknown(id) }
        return try User(row: row)
    }

    private func requireAnotherOwner(than id: UUID, tenantID: Int64, in session: PostgresSession) async throws {
        let others = try await session.query("""
            SELECT count(*) FROM platform.users
            WHERE tenant_id = \(tenantID) AND role = 'owner' AND status = 'active' AND id <> \(id)
            """)[0].decode(Int.self, at: 0)
        guard others > 0 else {
            throw TenancyError(.lastOwner, "this is the last owner of the account: make another user owner first")
        }
    }

    /// Writes the audit entry last, as the tenant: the platform rows are written by then, and
    /// the entry commits or rolls back with them.
    static func record(
        _ audit: AuditRecorder?, _ entity: String, _ id: UUID, before: User?, after: User?,
        in scope: TenantScope, session: PostgresSession
    ) async throws {
        guard let audit else { return }
        _ = try await session.pipeline([
            scope.prelude, audit(entity, id.lowercaseText, before?.auditFields, after?.auditFields),
        ])
    }

    static func checkManages(_ actor: AccessRole, _ role: AccessRole) throws {
        guard actor.mayManage(role) else {
            throw TenancyError(.roleTooHigh, "the role '\(actor.rawValue)' may not manage a user or key with the role '\(role.rawValue)'")
        }
    }

    static func validName(_ name: String?) throws -> String? {
        guard let name = name?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else { return nil }
        guard name.count <= 200 else { throw TenancyError(.invalidName, "a name can be at most 200 characters") }
        return name
    }

    static func unknown(_ id: UUID) -> TenancyError {
        TenancyError(.unknownUser, "no user with id \(id.lowercaseText) in this account")
    }
}
