import Foundation
import Postgres

/// Where the account pages are served, for the links in emails: the same base as the survey
/// links (`CLIENTELE_PUBLIC_URL`, else the server's own address).
public struct AccountLinks: Sendable, Hashable {
    public let baseURL: String

    public init(baseURL: String) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
    }

    /// Tokens are `<prefix><hex>_<hex>`: nothing in them needs percent-encoding.
    public func acceptInvitation(_ token: String) -> String { "\(baseURL)/accept-invitation?token=\(token)" }
    public func resetPassword(_ token: String) -> String { "\(baseURL)/reset-password?token=\(token)" }
    public var login: String { baseURL }
}

/// One email about an account (an invitation, a password reset), ready to go: a plain-text
/// and an HTML part, both carrying `link`.
public struct AccountEmail: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case invitation
        case passwordReset = "password_reset"
    }

    public var kind: Kind
    /// Stable for the row the email is about (`invitation-12`, `password-reset-7`): a message
    /// id derived from it is the same on every attempt.
    public var reference: String
    public var to: String
    public var subject: String
    public var text: String
    public var html: String
    /// The page the email sends the person to, with its token.
    public var link: String
}

/// What sends account emails: the platform's mail server (the executable's SMTP adapter), or
/// a mailer of a test.
public protocol AccountMailer: Sendable {
    func send(_ email: AccountEmail) async throws
}

/// A mailer's failure in its own words. A permanent one (no mail server configured, a 5xx, a
/// bad address) is not retried; anything else thrown by a mailer is.
public struct AccountMailRefusal: Error, Sendable, CustomStringConvertible {
    public var isTransient: Bool
    public var reason: String

    public init(transient: Bool, _ reason: String) {
        self.isTransient = transient
        self.reason = reason
    }

    public var description: String { reason }
}

/// An account email to send later, as the store hands it to the job queue, inside the
/// transaction that makes the invitation or the reset request: it exists only if that commits.
public enum AccountMailJob: Sendable, Hashable {
    case invitation(tenantID: Int64, invitationID: Int64)
    case passwordReset(tenantID: Int64, resetID: Int64)
}

/// Enqueues an account email in the caller's platform transaction (the job layer provides it;
/// this layer cannot import it).
public typealias AccountMailQueue = @Sendable (AccountMailJob, PostgresSession) async throws -> Void

/// Sends the account emails the jobs ask for. The job's payload names a row, never a secret:
/// sending gives that row a fresh token (its hash committed first), then mails the link. A
/// retried job makes another token; only the hashes are kept.
public struct AccountEmails: Sendable {
    public enum Outcome: Sendable, Equatable {
        case sent
        /// Nothing to send any more (accepted, used, expired, user or account gone): the reason.
        case nothingToSend(String)
    }

    public let client: PostgresClient
    public let mailer: any AccountMailer
    public let links: AccountLinks

    public init(client: PostgresClient, mailer: any AccountMailer, links: AccountLinks) {
        self.client = client
        self.mailer = mailer
        self.links = links
    }

    /// Emails an invitation's link: a new token for the same user, expiring with the
    /// invitation (the token the inviter got in the API's answer stays valid too; accepting
    /// either makes the user active, which ends them all).
    public func sendInvitation(_ invitationID: Int64) async throws -> Outcome {
        let token = APIKeyToken.generate(prefix: APIKeyToken.invitationPrefix)
        let found: AccountEmailTexts.Invitation? = try await client.withTransaction { session in
            let rows = try await session.query("""
                SELECT u.email, u.name, u.role, t.slug, t.name, i.expires_at, i.user_id, i.invited_by, inviter.name, inviter.email
                FROM platform.invitations i
                JOIN platform.users u ON u.id = i.user_id JOIN platform.tenants t ON t.id = u.tenant_id
                LEFT JOIN platform.users inviter
                       ON i.invited_by LIKE 'user:%' AND inviter.id::text = substr(i.invited_by, 6) AND inviter.tenant_id = t.id
                WHERE i.id = \(invitationID) AND i.accepted_at IS NULL AND i.expires_at > now()
                  AND u.status = 'invited' AND t.status = 'active'
                FOR UPDATE OF i
                """)
            guard let row = rows.first else { return nil }
            let expiresAt: Date = try row.decode(at: 5)
            let userID: UUID = try row.decode(at: 6)
            let invitedBy: String = try row.decode(at: 7)
            _ = try await session.query("""
                INSERT INTO platform.invitations (token_id, secret_hash, user_id, invited_by, expires_at)
                VALUES (\(token.keyID), \(APIKeyToken.hash(secret: token.secret)), \(userID), \(invitedBy), \(expiresAt)::timestamptz)
                """)
            let inviterName: String? = try row.decode(at: 8)
            let inviterEmail: String? = try row.decode(at: 9)
            return AccountEmailTexts.Invitation(
                email: try row.decode(at: 0), name: try row.decode(at: 1), role: try row.decode(at: 2),
                accountSlug: try row.decode(at: 3), accountName: try row.decode(at: 4), expiresAt: expiresAt,
                inviter: inviterName ?? inviterEmail)
        }
        guard let found else { return .nothingToSend("the invitation was accepted, expired or removed") }
        try await mailer.send(AccountEmailTexts.invitation(
            found, reference: "invitation-\(invitationID)", link: links.acceptInvitation(token.token)))
        return .sent
    }

    /// Emails a reset request's link with its (new) token, valid until the request expires.
    public func sendPasswordReset(_ resetID: Int64) async throws -> Outcome {
        let token = APIKeyToken.generate(prefix: APIKeyToken.resetPrefix)
        let found: AccountEmailTexts.Reset? = try await client.withTransaction { session in
            let rows = try await session.query("""
                SELECT u.email, u.name, t.slug, t.name, r.expires_at
                FROM platform.password_resets r
                JOIN platform.users u ON u.id = r.user_id JOIN platform.tenants t ON t.id = u.tenant_id
                WHERE r.id = \(resetID) AND r.used_at IS NULL AND r.expires_at > now()
                  AND u.status = 'active' AND t.status = 'active'
                FOR UPDATE OF r
                """)
            guard let row = rows.first else { return nil }
            _ = try await session.query("""
                UPDATE platform.password_resets SET token_id = \(token.keyID), secret_hash = \(APIKeyToken.hash(secret: token.secret))
                WHERE id = \(resetID)
                """)
            return AccountEmailTexts.Reset(
                email: try row.decode(at: 0), name: try row.decode(at: 1), accountSlug: try row.decode(at: 2),
                accountName: try row.decode(at: 3), expiresAt: try row.decode(at: 4))
        }
        guard let found else { return .nothingToSend("the reset request was used, expired or its user can no longer log in") }
        try await mailer.send(AccountEmailTexts.passwordReset(
            found, reference: "password-reset-\(resetID)", link: links.resetPassword(token.token)))
        return .sent
    }
}
