import Foundation
import Jobs
import Postgres

/// Events that change a client's churn risk (a complaint opened, a payment incident) ask for
/// the client to be rescored, in their own transaction: the `churn.rescore` job exists only if
/// the event commits. One pending job per client: a burst of events rescores once. The Churn
/// module handles the job.
public enum ChurnRescore {
    public static let kind = "churn.rescore"

    public static func job(client: UUID) -> NewJob {
        NewJob(kind: kind, payload: ["client_id": client.auditID], maxAttempts: 5, uniqueKey: "\(kind):\(client.auditID)")
    }

    public static func enqueue(client: UUID, in session: PostgresSession) async throws {
        try await JobQueue.enqueue(job(client: client), inTenantTransaction: session)
    }
}
