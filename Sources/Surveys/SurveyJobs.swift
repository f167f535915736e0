import ClientBase
import Foundation
import Jobs
import Postgres

/// The job kinds of surveys and their payloads (JSON objects, ids as UUID strings).
public enum SurveyJobs {
    public static let purchase = "survey.purchase"
    public static let exit = "survey.exit"
    public static let deliver = "survey.deliver"
    public static let remind = "survey.remind"
    public static let wave = "survey.wave"
    /// The churn work's: rescore one client after their answer.
    public static let churnRescore = "churn.rescore"

    struct PurchasePayload: Codable, Sendable { var purchase_id: UUID }
    struct ClientPayload: Codable, Sendable { var client_id: UUID }
    struct InvitationPayload: Codable, Sendable { var invitation_id: UUID }
    struct CampaignPayload: Codable, Sendable { var campaign_id: UUID }

    /// A delivery job per scheduled invitation, due when it should go; at most one pending
    /// per invitation.
    static func enqueueDeliveries(_ invitations: [(id: UUID, sendAt: Date)], in session: PostgresSession) async throws {
        // One statement for the lot: a campaign sent to a thousand clients is one round trip.
        try await TenantJobs.enqueue(invitations.map { invitation in
            NewJob(kind: deliver, payload: ["invitation_id": invitation.id.auditID], runAt: invitation.sendAt,
                   uniqueKey: "\(deliver):\(invitation.id.auditID)")
        }, in: session)
    }

    static func enqueueReminder(_ invitation: UUID, at date: Date, in session: PostgresSession) async throws {
        try await TenantJobs.enqueue(NewJob(
            kind: remind, payload: ["invitation_id": invitation.auditID], runAt: date,
            uniqueKey: "\(remind):\(invitation.auditID)"), in: session)
    }

    static func enqueueRescore(_ client: UUID, in session: PostgresSession) async throws {
        try await TenantJobs.enqueue(NewJob(
            kind: churnRescore, payload: ["client_id": client.auditID], uniqueKey: "\(churnRescore):\(client.auditID)"), in: session)
    }
}
