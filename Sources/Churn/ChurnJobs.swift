import ClientBase
import Foundation
import Jobs
import Postgres
import Tenancy

/// The churn job kinds, their payloads and schedules, and what each job does. The handlers'
/// bodies take a session or a scope, so they run inside the job runner's
/// `completeInTenantTransaction` (their writes and the job's completion commit together).
public enum ChurnJobs {
    /// `{}`: scores the whole tenant (nightly).
    public static let scoreAll = "churn.score_all"
    /// `{"client_id"}`: rescores one client (a complaint opened, a payment incident, a survey answer).
    public static let rescore = "churn.rescore"
    /// `{"alert_id"}`: posts a new alert to the tenant's webhook.
    public static let notify = "churn.notify"
    /// `{}`: the daily digest email of pending alerts, per assigned user.
    public static let digest = "churn.digest"

    /// The periodic jobs, as cron lines in the tenant's time zone: scoring at 02:30, the digest
    /// at 07:30 on weekdays, after the night's scoring.
    public static let schedules: [(kind: String, cron: String)] = [(scoreAll, "30 2 * * *"), (digest, "30 7 * * 1-5")]

    /// Creates the periodic jobs through the scheduler's API, given as a function
    /// (kind, cron expression, payload JSON) the lead wires to `JobSchedules` when it lands.
    public static func registerSchedules(_ register: (String, String, String) async throws -> Void) async throws {
        for schedule in schedules { try await register(schedule.kind, schedule.cron, "{}") }
    }

    public struct ClientPayload: Codable, Sendable, Hashable {
        public var clientID: UUID
        public init(clientID: UUID) { self.clientID = clientID }
        enum CodingKeys: String, CodingKey { case clientID = "client_id" }
    }

    public struct AlertPayload: Codable, Sendable, Hashable {
        public var alertID: UUID
        public init(alertID: UUID) { self.alertID = alertID }
        enum CodingKeys: String, CodingKey { case alertID = "alert_id" }
    }

    /// The rescore of one client: one pending per client (a burst of events rescores once).
    public static func rescoreJob(client: UUID) -> NewJob {
        NewJob(kind: rescore, payload: ClientPayload(clientID: client), maxAttempts: 5, uniqueKey: "\(rescore):\(client.auditID)")
    }

    public static func notifyJob(alert: UUID) -> NewJob {
        NewJob(kind: notify, payload: AlertPayload(alertID: alert), maxAttempts: 10, uniqueKey: "\(notify):\(alert.auditID)")
    }

    // MARK: Handler bodies

    /// `churn.score_all` and `churn.rescore` (client given): scores inside the job's
    /// transaction and returns the `churn.notify` jobs to enqueue in that same transaction.
    public static func score(client: UUID?, in session: PostgresSession) async throws -> [NewJob] {
        try await ChurnScorer.score(client: client, in: session).raisedAlerts.map(notifyJob(alert:))
    }

    /// `churn.rescore`'s payload.
    public static func client(in payloadJSON: String) throws -> UUID {
        try PostgresJSONValue(text: payloadJSON).decode(ClientPayload.self).clientID
    }

    /// `churn.notify`'s payload.
    public static func alert(in payloadJSON: String) throws -> UUID {
        try PostgresJSONValue(text: payloadJSON).decode(AlertPayload.self).alertID
    }
}
