import Churn
import Delivery
import Foundation
import Postgres

/// Churn alerts leave through the Delivery layer: webhooks signed with the tenant's secret,
/// digests by email to the assigned user through the tenant's mail server or the platform's.
/// Permanent failures (a 4xx from the webhook, a refused address, no mail server) are
/// refusals; transient ones are thrown for the job to retry.
public struct DeliveryAlertNotifier: AlertNotifier {
    public let database: PostgresClient
    public let webhooks: WebhookSender
    public let router: TenantMailRouter

    public init(database: PostgresClient, webhooks: WebhookSender, router: TenantMailRouter) {
        self.database = database
        self.webhooks = webhooks
        self.router = router
    }

    public func sendWebhook(_ alert: AlertWebhookPayload, to url: String, secret: String, deliveryID: String) async throws {
        do {
            _ = try await webhooks.send(WebhookRequest(url: url, body: try alert.json(), deliveryID: deliveryID, secret: secret))
        } catch let error as WebhookError where !error.isTransient {
            throw AlertDeliveryRefused("webhook refused: \(error)")
        }
    }

    public func sendDigest(_ digest: AlertDigest, tenantID: Int64, userID: UUID) async throws {
        let route: TenantMailRouter.Route
        do {
            route = try await router.route(tenantID: tenantID)
        } catch let unavailable as MailRouteUnavailable {
            throw AlertDeliveryRefused(unavailable.reason)
        }
        guard let row = try await database.query("""
            SELECT email, name FROM platform.users WHERE id = \(userID) AND tenant_id = \(tenantID) AND status = 'active'
            """).first
        else { throw AlertDeliveryRefused("the user is not an active user of this account") }
        let message = EmailMessage(
            from: route.from, to: [EmailAddress(try row.decode(String.self, at: 0), name: try row.decode(String?.self, at: 1))],
            subject: "Clientele : clients à risque (\(digest.items.count))", text: digest.plainText,
            messageID: "digest-\(tenantID)-\(userID)-\(Int(digest.on.timeIntervalSince1970))@clientele")
        do {
            _ = try await SMTPClient(configuration: route.configuration).send(message)
        } catch let error as SMTPError where !error.isTransient {
            throw AlertDeliveryRefused("mail refused: \(error)")
        }
    }
}
