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
    /// `{"client_id"}`: rescores one client (a complaint opened, a payment incident, a survey
    /// answer); enqueued by the client base (`ChurnRescore`).
    public static let rescore = ChurnRescore.kind
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

    public static func notifyJob(alert: UUID) -> NewJob {
        NewJob(kind: notify, payload: AlertPayload(alertID: alert), maxAttempts: 10, uniqueKey: "\(notify):\(alert.auditID)")
    }

    // MARK: Handler bodies

    /// The churn handlers, for the job runner. Scoring writes commit with the job's completion
    /// (a rescued job that runs again finds nothing changed); notifications are recorded before
    /// they are sent, so a job run twice sends once. `notifier` is the Delivery layer's adapter
    /// (`NoAlertNotifier` records every notification as failed: no channel).
    public static func handlers(notifier: any AlertNotifier) -> [String: JobHandler] {
        [
            scoreAll: { context in
                _ = try await context.completeInTenantTransaction { try await ChurnScorer.score(client: nil, in: $0) }
            },
            rescore: { context in
                let client = try payload(ClientPayload.self, of: context.job).clientID
                _ = try await context.completeInTenantTransaction { try await ChurnScorer.score(client: client, in: $0) }
            },
            notify: { context in
                let alert = try payload(AlertPayload.self, of: context.job).alertID
                let notifications = ChurnNotifications(database: context.client, notifier: notifier)
                try await notifications.notify(alertID: alert, scope: try await context.tenantScope())
            },
            digest: { context in
                let notifications = ChurnNotifications(database: context.client, notifier: notifier)
                try await notifications.sendDigests(scope: try await context.tenantScope(), on: Timestamps.today())
            },
        ]
    }

    /// A payload that does not decode will never run: discarded at once.
    static func payload<T: Decodable>(_ type: T.Type, of job: Job) throws -> T {
        do {
            return try job.payload(as: T.self)
        } catch {
            throw JobDiscard("\(job.kind): the payload does not decode: \(error)")
        }
    }
}
