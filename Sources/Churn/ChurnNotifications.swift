import ClientBase
import Foundation
import Postgres
import Tenancy

/// Sends alert notifications and records them in `churn_notifications`: one webhook per alert,
/// one digest email per user and day. The record is made before sending and marked after, so a
/// job that runs twice sends what is still pending and nothing that was sent or refused.
public struct ChurnNotifications: Sendable {
    public enum Status: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        /// Recorded, not sent yet (or a transient failure: the job retries).
        case pending
        case sent
        /// Refused for good (`AlertDeliveryRefused`); `detail` says why.
        case failed
        /// Nothing to send: no webhook configured, or the alert is gone.
        case skipped
    }

    public let database: PostgresClient
    public let notifier: any AlertNotifier

    public init(database: PostgresClient, notifier: any AlertNotifier) {
        self.database = database
        self.notifier = notifier
    }

    /// The client's name as a person reads it.
    static let clientName: PostgresQuery = """
        coalesce(c.organisation_name, nullif(btrim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), ''), 'client')
        """

    /// `churn.notify`: posts one alert to the tenant's webhook; returns what was recorded.
    @discardableResult
    public func notify(alertID: UUID, scope: TenantScope) async throws -> Status {
        let prepared = try await database.withTenantTransaction(scope) { session -> (Int64, Status, AlertWebhookPayload?, String?, String) in
            let settings = try await ChurnSettingsStore.read(in: session)
            let rows = try await session.pipeline([
                """
                SELECT a.id, a.client_id, \(fragment: Self.clientName), a.score, a.reasons, a.assigned_user_id, a.raised_at
                FROM churn_alerts a JOIN clients c ON c.id = a.client_id WHERE a.id = \(alertID)
                """,
                """
                INSERT INTO churn_notifications (channel, alert_id, target, status, detail)
                SELECT 'webhook', a.id, \(settings.webhookURL), \(settings.webhookURL == nil ? Status.skipped : .pending),
                       \(settings.webhookURL == nil ? "no webhook_url in the churn settings" : nil)
                FROM churn_alerts a WHERE a.id = \(alertID)
                ON CONFLICT (alert_id) WHERE channel = 'webhook' DO NOTHING
                """,
                "SELECT id, status, target FROM churn_notifications WHERE alert_id = \(alertID) AND channel = 'webhook'",
            ])
            guard let alert = rows[0].first, let record = rows[2].first else {
                return (0, Status.skipped, nil, nil, settings.webhookSecret)
            }
            let payload = AlertWebhookPayload(
                alertID: try alert.decode(at: 0), clientID: try alert.decode(at: 1), clientName: try alert.decode(at: 2),
                score: try alert.decode(at: 3),
                reasons: ChurnReason.codes(in: try alert.decode(PostgresJSONValue.self, at: 4).text).map(\.rawValue),
                assignedUserID: try alert.decode(at: 5), raisedAt: try alert.decode(at: 6))
            return (try record.decode(at: 0), try record.decode(at: 1), payload, try record.decode(at: 2), settings.webhookSecret)
        }
        let (id, status, payload, target, secret) = prepared
        guard status == .pending, let payload, let target else { return status }
        return try await deliver(id, scope: scope) {
            try await notifier.sendWebhook(payload, to: target, secret: secret, deliveryID: "churn-alert-\(payload.alertID.auditID)")
        }
    }

    /// `churn.digest`: emails each user with pending alerts (on the clients assigned to them)
    /// the digest of those alerts, once per user and day, and only when at least one of them was
    /// in no digest sent to that user before (an unchanged list is not mailed again each day);
    /// the new ones are marked. Returns how many digests were sent.
    @discardableResult
    public func sendDigests(scope: TenantScope, on day: PostgresDate, now: Date = Date()) async throws -> Int {
        let settings = try await ChurnSettingsStore.read(scope, database: database)
        guard settings.digestEmail else { return 0 }
        let rows = try await database.tenantTransaction(scope, [
            """
            SELECT c.assigned_user_id, a.id, a.client_id, \(fragment: Self.clientName), a.score, a.state, a.reasons, a.raised_at,
                   NOT EXISTS (SELECT FROM churn_notifications n
                               WHERE n.channel = 'email_digest' AND n.status = 'sent' AND n.user_id = c.assigned_user_id
                                 AND a.id = ANY (n.alert_ids))
            FROM churn_alerts a JOIN clients c ON c.id = a.client_id
            WHERE a.state IN ('open', 'acknowledged') AND c.assigned_user_id IS NOT NULL
            ORDER BY c.assigned_user_id, a.score DESC, a.id
            """,
        ])
        var digests: [(UUID, [AlertDigest.Item])] = []
        for row in rows[0] {
            let user: UUID = try row.decode(at: 0)
            let item = AlertDigest.Item(
                alertID: try row.decode(at: 1), clientID: try row.decode(at: 2), clientName: try row.decode(at: 3),
                score: try row.decode(at: 4), state: try row.decode(at: 5),
                reasons: ChurnReason.codes(in: try row.decode(PostgresJSONValue.self, at: 6).text), raisedAt: try row.decode(at: 7),
                isNew: try row.decode(at: 8))
            if digests.last?.0 == user { digests[digests.count - 1].1.append(item) } else { digests.append((user, [item])) }
        }
        var sent = 0
        for (user, items) in digests where items.contains(where: \.isNew) {
            let record = try await database.tenantTransaction(scope, [
                """
                INSERT INTO churn_notifications (channel, user_id, digest_on, alert_ids)
                VALUES ('email_digest', \(user), \(day), \(items.map(\.alertID)))
                ON CONFLICT (user_id, digest_on) WHERE channel = 'email_digest' DO NOTHING
                """,
                "SELECT id, status FROM churn_notifications WHERE channel = 'email_digest' AND user_id = \(user) AND digest_on = \(day)",
            ])[1][0]
            guard try record.decode(Status.self, at: 1) == .pending else { continue }
            let status = try await deliver(try record.decode(at: 0), scope: scope) {
                try await notifier.sendDigest(AlertDigest(on: now, items: items), tenantID: scope.tenantID, userID: user)
            }
            if status == .sent { sent += 1 }
        }
        return sent
    }

    /// Sends, then marks the record sent, or failed for a refusal; a transient failure is noted
    /// on the record (still pending) and rethrown so the job retries.
    private func deliver(_ id: Int64, scope: TenantScope, _ send: () async throws -> Void) async throws -> Status {
        do {
            try await send()
        } catch let refused as AlertDeliveryRefused {
            try await mark(id, .failed, detail: refused.reason, scope: scope)
            return .failed
        } catch {
            try? await mark(id, .pending, detail: String(describing: error), scope: scope)
            throw error
        }
        try await mark(id, .sent, detail: nil, scope: scope)
        return .sent
    }

    private func mark(_ id: Int64, _ status: Status, detail: String?, scope: TenantScope) async throws {
        _ = try await database.tenantTransaction(scope, [
            """
            UPDATE churn_notifications SET status = \(status), detail = left(\(detail), 2000),
                sent_at = CASE WHEN \(status) = 'sent' THEN now() END
            WHERE id = \(id) AND status = 'pending'
            """,
        ])
    }

    /// A tenant's notification records, newest first (for tests and operators).
    public func records(scope: TenantScope, limit: Int = 100) async throws -> [(channel: String, alertID: UUID?, userID: UUID?, status: Status)] {
        try await database.tenantTransaction(scope, [
            "SELECT channel, alert_id, user_id, status FROM churn_notifications ORDER BY id DESC LIMIT \(limit)",
        ])[0].map { (try $0.decode(at: 0), try $0.decode(at: 1), try $0.decode(at: 2), try $0.decode(at: 3)) }
    }
}
