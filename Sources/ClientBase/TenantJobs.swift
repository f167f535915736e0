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

    /// A client became a former client: the surveys module sends the exit survey.
    static func clientLeft(_ clientID: UUID, in session: PostgresSession) async throws {
        try await enqueue(NewJob(kind: "survey.exit", payload: ["client_id": clientID.auditID],
                                 uniqueKey: "survey.exit:\(clientID.auditID)"), in: session)
    }
}
