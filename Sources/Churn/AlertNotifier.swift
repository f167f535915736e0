import Foundation

/// What sends alert notifications out. The Delivery layer (SMTP client, signed webhooks) adapts
/// to this; Churn decides what to send and records what was sent (`churn_notifications`).
///
/// A throw is a transient failure: the job retries. Throw `AlertDeliveryRefused` for a failure
/// retrying cannot fix (a 4xx from the webhook, an address refused): the notification is marked
/// failed with the reason and the job ends.
public protocol AlertNotifier: Sendable {
    /// POSTs the alert to the tenant's webhook, signed (HMAC-SHA256 over the body) with its secret.
    /// `deliveryID` is the same on every attempt: receivers deduplicate on it.
    func sendWebhook(_ alert: AlertWebhookPayload, to url: String, secret: String, deliveryID: String) async throws
    /// Emails the user the digest of their pending alerts (the adapter finds the user's address).
    func sendDigest(_ digest: AlertDigest, tenantID: Int64, userID: UUID) async throws
}

/// A failure that retrying cannot fix; the notification is kept as failed with this reason.
public struct AlertDeliveryRefused: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The webhook body: `{"event": "churn.alert", "alert": {...}}`.
public struct AlertWebhookPayload: Sendable, Hashable, Encodable {
    public var event = "churn.alert"
    public var alertID: UUID
    public var clientID: UUID
    public var clientName: String
    public var score: Int
    /// The reason codes, strongest first.
    public var reasons: [String]
    public var assignedUserID: UUID?
    public var raisedAt: Date

    enum CodingKeys: String, CodingKey {
        case event, alertID = "alert_id", clientID = "client_id", clientName = "client_name", score, reasons
        case assignedUserID = "assigned_user_id", raisedAt = "raised_at"
    }

    /// The body as sent: sorted keys, ISO 8601 dates, so the signature covers stable bytes.
    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(self))
    }
}

/// One user's daily digest: their pending alerts, highest score first.
public struct AlertDigest: Sendable, Hashable {
    public struct Item: Sendable, Hashable {
        public var alertID: UUID
        public var clientID: UUID
        public var clientName: String
        public var score: Int
        public var state: ChurnAlert.State
        public var reasons: [ChurnReason.Code]
        public var raisedAt: Date
        /// Not in an earlier digest to this user.
        public var isNew: Bool
    }

    public var on: Date
    public var items: [Item]

    public init(on: Date, items: [Item]) {
        self.on = on
        self.items = items
    }

    /// A plain-text body the adapter may use as is (French, like the tenants' clients).
    public var plainText: String {
        let fresh = items.filter(\.isNew).count
        var lines = ["Clients à risque de départ (\(items.count), dont \(fresh) nouveau\(fresh > 1 ? "x" : "")) :", ""]
        for item in items {
            let reasons = item.reasons.map(\.rawValue).joined(separator: ", ")
            lines.append("- \(item.isNew ? "[nouveau] " : "")\(item.clientName) : risque \(item.score)/100 (\(reasons))")
        }
        return lines.joined(separator: "\n")
    }
}

/// A notifier that sends nothing: the server's default until the Delivery layer is wired in.
/// Notifications are then recorded as skipped, never as sent.
public struct NoAlertNotifier: AlertNotifier {
    public init() {}
    public func sendWebhook(_ alert: AlertWebhookPayload, to url: String, secret: String, deliveryID: String) async throws {
        throw AlertDeliveryRefused("no delivery channel is configured on this server")
    }
    public func sendDigest(_ digest: AlertDigest, tenantID: Int64, userID: UUID) async throws {
        throw AlertDeliveryRefused("no delivery channel is configured on this server")
    }
}
