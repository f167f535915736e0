import Foundation
import Postgres

/// Forgotten passwords (a reset link by email) and a change of password by its user.
extension UserStore {
    /// Builds the audit statement of an account event when the actor is known only inside the
    /// store (a reset: the user the token names): the tenant, the actor's label, the action.
    public typealias AccountAudit = @Sendable (_ scope: TenantScope, _ actorLabel: String, _ action: String) -> AuditRecorder

    // MARK: Forgotten password

    /// Asks for a reset link. Says nothing about what it found: an unknown account or email, a
    /// user who cannot log in, and a user over their hourly cap (or their account over its
    /// own) all return alike, with nothing sent. Otherwise a reset row valid `resetLifetime`
    /// is made and its email enqueued in the same transaction. Only the per-address cap, which
    /// counts every request whatever it names, is an error (`tooManyAttempts`).
    public func requestPasswordReset(
        tenantSlug: String, email: String, address: String?, audit: AccountAudit? = nil
    ) async throws {
        let email = try User.normalise(email: email)
        if let address {
            try await countRequest("reset-address:\(address)", limit: settings.resetRequestsPerAddressPerHour,
                                   window: 3600, what: "password reset requests from this address")
        }
        let lifetime = Int(settings.resetLifetime.components.seconds)
        let perUser = settings.resetsPerUserPerHour, perAccount = settings.resetsPerAccountPerHour
        try await client.withTransaction { session in
            // The user's row is locked, so two requests at once cannot both pass the cap.
            let rows = try await session.query("""
                SELECT u.id, t.id, t.schema_name, t.role_name FROM platform.users u
                JOIN platform.tenants t ON t.id = u.tenant_id
                WHERE t.slug = \(tenantSlug) AND t.status = 'active' AND u.email = \(email) AND u.status = 'active'
                FOR UPDATE OF u
                """)
            guard let row = rows.first else { return }
            let userID: UUID = try row.decode(at: 0)
            let scope = TenantScope(tenantID: try row.decode(at: 1), schemaName: try row.decode(at: 2), roleName: try row.decode(at: 3))
            let counts = try await session.query("""
                SELECT (SELECT count(*) FROM platform.password_resets
                        WHERE user_id = \(userID) AND created_at > now() - interval '1 hour'),
                       (SELECT count(*) FROM platform.password_resets
                        WHERE tenant_id = \(scope.tenantID) AND created_at > now() - interval '1 hour')
                """)[0]
            guard try counts.decode(Int.self, at: 0) < perUser, try counts.decode(Int.self, at: 1) < perAccount else { return }
            let inserted = try await session.pipeline([
                // Requests older than a day counted nothing any more.
                "DELETE FROM platform.password_resets WHERE user_id = \(userID) AND created_at < now() - interval '1 day'",
                """
                INSERT INTO platform.password_resets (user_id, tenant_id, expires_at)
                VALUES (\(userID), \(scope.tenantID), now() + make_interval(secs => \(lifetime)))
                RETURNING id
                """,
            ])
            let resetID: Int64 = try inserted[1][0].decode(at: 0)
            if let mailQueue { try await mailQueue(.passwordReset(tenantID: scope.tenantID, resetID: resetID), session) }
            try await Self.recordEvent(
                audit?(scope, "password-reset-request", "request_password_reset"), userID,
                before: nil, after: ["password_reset": "requested"], in: scope, session: session)
        }
    }

    /// Sets a new password with a reset token, once: the token and every other pending reset
    /// of the user are spent, every session of the user ends, the failed-login count of the
    /// email is cleared. The password is hashed (bcrypt, off the event loops) before the
    /// transaction. Returns the user (who then logs in).
    @discardableResult
    public func resetPassword(token: String, password: String, audit: AccountAudit? = nil) async throws -> User {
        try PasswordHasher.validate(password)
        let invalid = TenancyError(.invalidResetToken, "the password reset link is not valid: unknown, already used or expired")
        guard let parts = APIKeyToken.parse(token, prefix: APIKeyToken.resetPrefix) else { throw invalid }
        let hash = try await hasher.hash(password)
        return try await client.withTransaction { session in
            let rows = try await session.query("""
                SELECT r.secret_hash, r.user_id, t.id, t.schema_name, t.role_name, t.slug, u.email
                FROM platform.password_resets r
                JOIN platform.users u ON u.id = r.user_id JOIN platform.tenants t ON t.id = u.tenant_id
                WHERE r.token_id = \(parts.keyID) AND r.used_at IS NULL AND r.expires_at > now()
                  AND u.status = 'active' AND t.status = 'active'
                FOR UPDATE OF r, u
                """)
            guard let row = rows.first, let stored: String = try row.decode(at: 0),
                  APIKeyToken.constantTimeEqual(stored, APIKeyToken.hash(secret: parts.secret))
            else { throw invalid }
            let userID: UUID = try row.decode(at: 1)
            let scope = TenantScope(tenantID: try row.decode(at: 2), schemaName: try row.decode(at: 3), roleName: try row.decode(at: 4))
            let slug: String = try row.decode(at: 5), email: String = try row.decode(at: 6)
            let loginKey = "login:\(slug):\(email)"
            let results = try await session.pipeline([
                "UPDATE platform.password_resets SET used_at = now() WHERE user_id = \(userID) AND used_at IS NULL",
                """
                UPDATE platform.users SET password_hash = \(hash), updated_at = now()
                WHERE id = \(userID) RETURNING \(fragment: User.columns)
                """,
                """
                UPDATE platform.sessions SET revoked_at = now()
                WHERE user_id = \(userID) AND revoked_at IS NULL AND expires_at > now()
                """,
                "DELETE FROM platform.login_failures WHERE throttle_key = \(loginKey)",
                "SELECT pg_notify(\(APIKeyStore.changeChannel), \(userID.uuidString))",
            ])
            let user = try User(row: results[1][0])
            try await Self.recordEvent(
                audit?(scope, "user:\(userID.lowercaseText)", "reset_password"), userID,
                before: ["password": "previous", "open_sessions": "\(results[2].affectedRows)"],
                after: ["password": "new", "open_sessions": "0"], in: scope, session: session)
            return user
        }
    }

    /// Whether a reset token can still be used (the page shows its form, or says the link is dead).
    public func resetTokenIsOpen(_ token: String) async throws -> Bool {
        guard let parts = APIKeyToken.parse(token, prefix: APIKeyToken.resetPrefix) else { return false }
        let rows = try await client.query("""
            SELECT r.secret_hash FROM platform.password_resets r
            JOIN platform.users u ON u.id = r.user_id JOIN platform.tenants t ON t.id = u.tenant_id
            WHERE r.token_id = \(parts.keyID) AND r.used_at IS NULL AND r.expires_at > now()
              AND u.status = 'active' AND t.status = 'active'
            """)
        guard let stored: String = try rows.first?.decode(at: 0) else { return false }
        return APIKeyToken.constantTimeEqual(stored, APIKeyToken.hash(secret: parts.secret))
    }

    /// Whether an invitation token can still be accepted.
    public func invitationIsOpen(_ token: String) async throws -> Bool {
        guard let parts = APIKeyToken.parse(token, prefix: APIKeyToken.invitationPrefix) else { return false }
        let rows = try await client.query("""
            SELECT i.secret_hash FROM platform.invitations i
            JOIN platform.users u ON u.id = i.user_id JOIN platform.tenants t ON t.id = u.tenant_id
            WHERE i.token_id = \(parts.keyID) AND i.accepted_at IS NULL AND i.expires_at > now()
              AND u.status = 'invited' AND t.status = 'active'
            """)
        guard let stored: String = try rows.first?.decode(at: 0) else { return false }
        return APIKeyToken.constantTimeEqual(stored, APIKeyToken.hash(secret: parts.secret))
    }

    // MARK: Change of password

    /// A logged-in user changes their password, giving the current one. A wrong current
    /// password is `wrongPassword` and counts like a failed login (per user, and per address):
    /// past the limit, `tooManyAttempts`. The user's other sessions end; `sessionID` (the
    /// session making the change) stays open.
    public func changePassword(
        userID: UUID, in scope: TenantScope, keepingSession sessionID: String, current: String, new password: String,
        address: String?, audit: AuditRecorder? = nil
    ) async throws {
        let keys = ["password:\(userID.lowercaseText)"] + (address.map { ["address:\($0)"] } ?? [])
        try await checkThrottle(keys)
        try PasswordHasher.validate(password)
        let rows = try await client.query("""
            SELECT password_hash FROM platform.users
            WHERE id = \(userID) AND tenant_id = \(scope.tenantID) AND status = 'active'
            """)
        let stored: String? = try rows.first?.decode(at: 0)
        let fits = current.utf8.count <= PasswordHasher.maximumBytes
        let wrong = TenancyError(.wrongPassword, "the current password is wrong")
        guard try await hasher.verify(current, hash: fits ? stored : nil), let stored else {
            try await recordFailure(keys)
            throw wrong
        }
        let hash = try await hasher.hash(password)
        try await client.withTransaction { session in
            let results = try await session.pipeline([
                // Only over the hash just checked: a change made meanwhile wins, this one fails.
                """
                UPDATE platform.users SET password_hash = \(hash), updated_at = now()
                WHERE id = \(userID) AND password_hash = \(stored) AND status = 'active'
                """,
                """
                UPDATE platform.sessions SET revoked_at = now()
                WHERE user_id = \(userID) AND session_id <> \(sessionID) AND revoked_at IS NULL AND expires_at > now()
                """,
                "DELETE FROM platform.login_failures WHERE throttle_key = \(keys[0])",
                "SELECT pg_notify(\(APIKeyStore.changeChannel), \(userID.uuidString))",
            ])
            guard results[0].affectedRows == 1 else { throw wrong }
            try await Self.recordEvent(
                audit, userID, before: ["password": "previous", "other_sessions": "\(results[1].affectedRows)"],
                after: ["password": "new", "other_sessions": "0"], in: scope, session: session)
        }
    }

    // MARK: Plumbing

    /// Counts one request under `key` in a window of `window` seconds; past `limit`, refuses
    /// with the time left.
    func countRequest(_ key: String, limit: Int, window: Int, what: String) async throws {
        let row = try await client.query("""
            INSERT INTO platform.login_failures AS f (throttle_key, failures, window_started)
            VALUES (\(key), 1, now())
            ON CONFLICT (throttle_key) DO UPDATE SET
                failures = CASE WHEN f.window_started > now() - make_interval(secs => \(window)) THEN f.failures + 1 ELSE 1 END,
                window_started = CASE WHEN f.window_started > now() - make_interval(secs => \(window)) THEN f.window_started ELSE now() END
            RETURNING failures, ceil(extract(epoch FROM window_started + make_interval(secs => \(window)) - now()))::int
            """)[0]
        let count: Int = try row.decode(at: 0)
        if count > limit {
            let retry = max(1, try row.decode(Int.self, at: 1))
            throw TenancyError(.tooManyAttempts, "too many \(what); try again in \(retry) seconds", retryAfterSeconds: retry)
        }
    }

    /// Writes an account event's audit entry last, as the tenant (see `record`).
    static func recordEvent(
        _ audit: AuditRecorder?, _ id: UUID, before: [String: String]?, after: [String: String]?,
        in scope: TenantScope, session: PostgresSession
    ) async throws {
        guard let audit else { return }
        _ = try await session.pipeline([scope.prelude, audit("user", id.lowercaseText, before, after)])
    }
}
