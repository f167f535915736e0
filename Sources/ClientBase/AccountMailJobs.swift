import Foundation
import Jobs
import Postgres
import Tenancy

/// The account emails as jobs: `user.invitation_email` {"invitation_id"} and
/// `user.password_reset_email` {"reset_id"}, enqueued by the user store in the transaction that
/// makes the invitation or the reset request, run by the job runner. The payload names a row,
/// never a token: the handler gives the row a fresh token and mails its link.
public enum AccountMailJobs {
    public static let invitationEmail = "user.invitation_email"
    public static let passwordResetEmail = "user.password_reset_email"

    struct InvitationPayload: Codable, Sendable { var invitation_id: Int64 }
    struct ResetPayload: Codable, Sendable { var reset_id: Int64 }

    /// The user store's mail queue: the job joins the caller's platform transaction.
    public static let enqueue: AccountMailQueue = { job, session in
        switch job {
        case .invitation(let tenantID, let invitationID):
            try await JobQueue.enqueue(
                NewJob(kind: invitationEmail, payload: InvitationPayload(invitation_id: invitationID), tenantID: tenantID,
                       maxAttempts: 8, uniqueKey: "\(invitationEmail):\(invitationID)"),
                in: session)
        case .passwordReset(let tenantID, let resetID):
            // A reset link lives an hour: retrying longer than that is pointless.
            try await JobQueue.enqueue(
                NewJob(kind: passwordResetEmail, payload: ResetPayload(reset_id: resetID), tenantID: tenantID,
                       maxAttempts: 6, uniqueKey: "\(passwordResetEmail):\(resetID)"),
                in: session)
        }
    }

    /// The handlers. A permanent refusal (no mail server configured, a 5xx, a bad address)
    /// discards the job at once with its reason; a transient one is retried with backoff. A
    /// row with nothing left to send (accepted, used, expired) completes the job.
    public static func handlers(database: PostgresClient, mailer: any AccountMailer, links: AccountLinks) -> [String: JobHandler] {
        let emails = AccountEmails(client: database, mailer: mailer, links: links)
        return [
            invitationEmail: { context in
                let payload = try context.job.payload(as: InvitationPayload.self)
                try await classify { _ = try await emails.sendInvitation(payload.invitation_id) }
            },
            passwordResetEmail: { context in
                let payload = try context.job.payload(as: ResetPayload.self)
                try await classify { _ = try await emails.sendPasswordReset(payload.reset_id) }
            },
        ]
    }

    static func classify(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let refusal as AccountMailRefusal where !refusal.isTransient {
            throw JobDiscard(refusal.reason)
        }
    }
}

extension JobQueue {
    /// Enqueues in the caller's platform transaction, where no `JobQueue` is at hand.
    @discardableResult
    static func enqueue(_ job: NewJob, in session: PostgresSession) async throws -> Int64? {
        try await JobQueue(client: session.client).enqueue(job, in: session)
    }
}
