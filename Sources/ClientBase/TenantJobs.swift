import Foundation
import Jobs
import Postgres

/// Jobs enqueued by the client base's changes, in the transaction that makes the change: a
/// rolled-back change schedules nothing.
public enum TenantJobs {
    /// The one place the domain enqueues from a tenant transaction (the job runner's API).
    public static func enqueue(_ job: NewJob, in session: PostgresSession) async throws {
        try await JobQueue.enqueue(job, inTenantTransaction: session)
    }

    /// Many at once, in one statement (a campaign's deliveries).
    public static func enqueue(_ jobs: [NewJob], in session: PostgresSession) async throws {
        try await JobQueue.enqueue(jobs, inTenantTransaction: session)
    }

    /// A purchase was recorded: the surveys module schedules its post-purchase invitations.
    static func purchaseRecorded(_ purchaseID: UUID, in session: PostgresSession) async throws {
        try await enqueue(NewJob(kind: "survey.purchase", payload: ["purchase_id": purchaseID.auditID],
                                 uniqueKey: "survey.purchase:\(purchaseID.auditID)"), in: session)
    }

    /// Purchases came in by CSV import: the recent ones get `survey.purchase` like a purchase
    /// recorded through the API, in one statement. Old ones (a history back-filled) are left
    /// out here already: only a purchase whose survey moment, for the longest delay of an active
    /// after_purchase campaign, is at most `importedPurchaseWindowDays` past; the surveys'
    /// own rule (a week) decides for each campaign.
    static func purchasesImported(_ ids: [UUID]) -> PostgresQuery {
        """
        SELECT platform_api.enqueue_jobs(coalesce(jsonb_agg(jsonb_build_object(
                   'kind', 'survey.purchase', 'payload', jsonb_build_object('purchase_id', p.id),
                   'unique_key', 'survey.purchase:' || p.id::text) ORDER BY p.id), '[]'), true)
        FROM purchases p
        WHERE p.id = ANY(\(ids)::uuid[])
          AND p.purchased_on + (SELECT max(sc.delay_days) FROM survey_campaigns sc WHERE sc.active AND sc.trigger = 'after_purchase')
              >= current_date - \(importedPurchaseWindowDays)::int
        """
    }

    static let importedPurchaseWindowDays = 8

    /// A client became a former client: the surveys module sends the exit survey.
    static func clientLeft(_ clientID: UUID, in session: PostgresSession) async throws {
        try await enqueue(NewJob(kind: "survey.exit", payload: ["client_id": clientID.auditID],
                                 uniqueKey: "survey.exit:\(clientID.auditID)"), in: session)
    }
}
