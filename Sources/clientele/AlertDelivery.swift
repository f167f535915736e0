import Churn
import Delivery
import Foundation
import Postgres

/// Churn alerts leave through the Delivery layer: webhooks signed with the tenant's secret,
/// digests by email to the assigned user. Permanent failures (a 4xx from the webhook, a
/// refused address, no mail server configured) are refusals; transient ones are thrown for the
/// job to retry.
struct DeliveryAlertNotifier: AlertNotifier {
    let database: PostgresClient
    let webhooks: WebhookSender
    let mail: OutboundMail?

    func sendWebhook(_ alert: AlertWebhookPayload, to url: String, secret: String, deliveryID: String) async throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        let body = try encoder.encode(alert)
        do {
            _ = try await webhooks.send(WebhookRequest(url: url, body: Array(body), deliveryID: deliveryID, secret: secret))
        } catch let error as WebhookError where !error.isTransient {
            throw AlertDeliveryRefused("webhook refused: \(error)")
        }
    }

    func sendDigest(_ digest: AlertDigest, tenantID: Int64, userID: UUID) async throws {
        guard let mail else { throw AlertDeliveryRefused("no mail server is configured (CLIENTELE_SMTP_URL)") }
        guard let row = try await database.query("""
            SELECT email, name FROM platform.users WHERE id = \(userID) AND tenant_id = \(tenantID) AND status = 'active'
            """).first
        else { throw AlertDeliveryRefused("the user is not an active user of this account") }
        let message = EmailMessage(
            from: mail.from, to: [EmailAddress(try row.decode(String.self, at: 0), name: try row.decode(String?.self, at: 1))],
            subject: "Clientele : clients à risque (\(digest.items.count))", text: digest.plainText,
            messageID: "digest-\(tenantID)-\(userID)-\(Int(digest.on.timeIntervalSince1970))@clientele")
        do {
            _ = try await SMTPClient(configuration: mail.configuration).send(message)
        } catch let error as SMTPError where !error.isTransient {
            throw AlertDeliveryRefused("mail refused: \(error)")
        }
    }
}
