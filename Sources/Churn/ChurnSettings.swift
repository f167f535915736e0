import ClientBase
import Foundation
import Postgres
import Tenancy

/// A tenant's churn settings (one row per tenant, sql/tenant/0011_churn.sql): the weight of each
/// reason, the thresholds that make a reason present, the alert threshold, and where alerts are
/// notified. The defaults are the migration's and the README's.
public struct ChurnSettings: Sendable, Hashable {
    /// An alert is raised when a score goes from below this to at or above it (1-100).
    public var alertThreshold: Int
    /// Points of each reason when present (0-100; 0 turns the reason off).
    public var weights: [ChurnReason.Code: Int]
    /// A latest NPS answer at most this is a detractor's (0-10).
    public var npsDetractorMax: Int
    /// A latest CSAT answer at most this is low (1-5).
    public var csatLowMax: Int
    /// Survey answers older than this do not count.
    public var surveyWindowDays: Int
    /// A complaint still open this many days after its opening counts.
    public var complaintOpenDays: Int
    /// Payment incidents of the last this many days count.
    public var paymentIncidentDays: Int
    /// A repeat buyer has at least this many purchases.
    public var overdueMinPurchases: Int
    /// Overdue past median gap × this.
    public var overdueFactor: Decimal
    /// Spend fell when the last 12 months are at most (1 - this) of the 12 months before.
    public var fallingSpendDrop: Decimal
    /// No interaction for this many days.
    public var noContactDays: Int
    /// Where alerts are posted (signed with `webhookSecret`); nil: no webhook.
    public var webhookURL: String?
    public var webhookSecret: String
    /// Whether each assigned user gets a daily digest of their pending alerts.
    public var digestEmail: Bool
    /// When the whole client base was last scored.
    public var lastScoredAt: Date?
    public var updatedAt: Date

    static let columns: PostgresQuery = """
        alert_threshold, weight_detractor, weight_open_complaint, weight_payment_incident, weight_overdue_buyer,
        weight_falling_spend, weight_no_contact, nps_detractor_max, csat_low_max, survey_window_days,
        complaint_open_days, payment_incident_days, overdue_min_purchases, overdue_factor, falling_spend_drop,
        no_contact_days, webhook_url, webhook_secret, digest_email, last_scored_at, updated_at
        """

    init(row: PostgresRow) throws {
        alertThreshold = try row.decode(at: 0)
        weights = [
            .detractorAnswer: try row.decode(at: 1), .openComplaint: try row.decode(at: 2),
            .paymentIncident: try row.decode(at: 3), .overdueRepeatBuyer: try row.decode(at: 4),
            .fallingSpend: try row.decode(at: 5), .noContact: try row.decode(at: 6),
        ]
        npsDetractorMax = try row.decode(at: 7)
        csatLowMax = try row.decode(at: 8)
        surveyWindowDays = try row.decode(at: 9)
        complaintOpenDays = try row.decode(at: 10)
        paymentIncidentDays = try row.decode(at: 11)
        overdueMinPurchases = try row.decode(at: 12)
        overdueFactor = try row.decode(at: 13)
        fallingSpendDrop = try row.decode(at: 14)
        noContactDays = try row.decode(at: 15)
        webhookURL = try row.decode(at: 16)
        webhookSecret = try row.decode(at: 17)
        digestEmail = try row.decode(at: 18)
        lastScoredAt = try row.decode(at: 19)
        updatedAt = try row.decode(at: 20)
    }

    public func weight(_ code: ChurnReason.Code) -> Int { weights[code] ?? 0 }

    /// Every integer setting by its JSON name, with its allowed range.
    var integers: [(name: String, value: Int, range: ClosedRange<Int>)] {
        [("alert_threshold", alertThreshold, 1...100)]
            + ChurnReason.Code.allCases.map { ($0.weightField, weight($0), 0...100) }
            + [("nps_detractor_max", npsDetractorMax, 0...10), ("csat_low_max", csatLowMax, 1...5),
               ("survey_window_days", surveyWindowDays, 1...3650), ("complaint_open_days", complaintOpenDays, 0...3650),
               ("payment_incident_days", paymentIncidentDays, 1...3650), ("overdue_min_purchases", overdueMinPurchases, 2...1000),
               ("no_contact_days", noContactDays, 1...3650)]
    }

    func validate() throws {
        for (name, value, range) in integers where !range.contains(value) {
            throw ClientBaseError(.invalid, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        guard overdueFactor >= 1, overdueFactor <= 20 else {
            throw ClientBaseError(.invalid, "overdue_factor must be from 1 to 20", field: "overdue_factor")
        }
        guard fallingSpendDrop > 0, fallingSpendDrop <= 1 else {
            throw ClientBaseError(.invalid, "falling_spend_drop must be more than 0 and at most 1", field: "falling_spend_drop")
        }
        if let webhookURL {
            guard webhookURL.count <= 500, let url = URL(string: webhookURL), ["http", "https"].contains(url.scheme ?? ""),
                  url.host?.isEmpty == false
            else {
                throw ClientBaseError(.invalid, "webhook_url must be an http or https URL of at most 500 characters", field: "webhook_url")
            }
        }
    }

    /// The secret is never written in the audit log; that it changed is.
    var auditSnapshot: AuditSnapshot {
        var snapshot: AuditSnapshot = [
            "overdue_factor": overdueFactor.auditValue, "falling_spend_drop": fallingSpendDrop.auditValue,
            "webhook_url": AuditValue(webhookURL), "digest_email": digestEmail.auditValue,
            "webhook_secret": .text(String(webhookSecret.prefix(4)) + "…"),
        ]
        for (name, value, _) in integers { snapshot[name] = value.auditValue }
        return snapshot
    }
}

/// The settings a PATCH body changes; none may be null but `webhook_url`.
/// `rotate_webhook_secret: true` makes a new secret.
public struct ChurnSettingsChanges: Sendable, Hashable, Decodable {
    public var integers: [String: Int] = [:]
    public var overdueFactor: Decimal?
    public var fallingSpendDrop: Decimal?
    public var webhookURL: FieldChange<String> = .unchanged
    public var digestEmail: Bool?
    public var rotateWebhookSecret = false

    static let integerNames = ["alert_threshold"] + ChurnReason.Code.allCases.map(\.weightField) + [
        "nps_detractor_max", "csat_low_max", "survey_window_days", "complaint_open_days", "payment_incident_days",
        "overdue_min_purchases", "no_contact_days",
    ]
    static let readOnly = ["webhook_secret", "last_scored_at", "updated_at"]

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try ChurnBody(decoder, writable: Self.integerNames
            + ["overdue_factor", "falling_spend_drop", "webhook_url", "digest_email", "rotate_webhook_secret"],
            readOnly: Self.readOnly)
        for name in Self.integerNames {
            if let value = try body.integer(name) { integers[name] = value }
        }
        overdueFactor = try body.decimal("overdue_factor")
        fallingSpendDrop = try body.decimal("falling_spend_drop")
        webhookURL = try body.optionalText("webhook_url")
        digestEmail = try body.bool("digest_email")
        rotateWebhookSecret = try body.bool("rotate_webhook_secret") ?? false
    }

    func apply(to settings: inout ChurnSettings) throws {
        for (name, value) in integers {
            switch name {
            case "alert_threshold": settings.alertThreshold = value
            case "nps_detractor_max": settings.npsDetractorMax = value
            case "csat_low_max": settings.csatLowMax = value
            case "survey_window_days": settings.surveyWindowDays = value
            case "complaint_open_days": settings.complaintOpenDays = value
            case "payment_incident_days": settings.paymentIncidentDays = value
            case "overdue_min_purchases": settings.overdueMinPurchases = value
            case "no_contact_days": settings.noContactDays = value
            default:
                if let code = ChurnReason.Code.allCases.first(where: { $0.weightField == name }) { settings.weights[code] = value }
            }
        }
        if let overdueFactor { settings.overdueFactor = overdueFactor }
        if let fallingSpendDrop { settings.fallingSpendDrop = fallingSpendDrop }
        switch webhookURL {
        case .unchanged: break
        case .cleared: settings.webhookURL = nil
        case .set(let url): settings.webhookURL = url
        }
        if let digestEmail { settings.digestEmail = digestEmail }
        if rotateWebhookSecret { settings.webhookSecret = ChurnSettings.newSecret() }
        try settings.validate()
    }
}

extension ChurnSettings {
    /// 32 random bytes as hex, from the system's secure generator.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}

/// Reads and changes a tenant's churn settings: the roles that handle alerts (manager and up),
/// changes audited as entity `churn_settings`, id `settings`.
public struct ChurnSettingsStore: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public func get(as actor: Actor) async throws -> ChurnSettings {
        try actor.require(.manageAlerts)
        return try await Self.read(actor.scope, database: database)
    }

    static func read(_ scope: TenantScope, database: PostgresClient) async throws -> ChurnSettings {
        let rows = try await database.tenantTransaction(scope, ["SELECT \(fragment: ChurnSettings.columns) FROM churn_settings LIMIT 1"])
        return try ChurnSettings(row: rows[0][0])
    }

    static func read(in session: PostgresSession) async throws -> ChurnSettings {
        try ChurnSettings(row: try await session.query("SELECT \(fragment: ChurnSettings.columns) FROM churn_settings LIMIT 1")[0])
    }

    public func update(_ changes: ChurnSettingsChanges, as actor: Actor) async throws -> ChurnSettings {
        try actor.require(.manageAlerts)
        return try await database.withTenantTransaction(actor.scope) { session in
            let current = try await session.query(
                "SELECT \(fragment: ChurnSettings.columns) FROM churn_settings LIMIT 1 FOR UPDATE")
            let before = try ChurnSettings(row: current[0])
            var settings = before
            try changes.apply(to: &settings)
            let rows = try await session.pipeline([
                """
                UPDATE churn_settings SET alert_threshold = \(settings.alertThreshold),
                    weight_detractor = \(settings.weight(.detractorAnswer)), weight_open_complaint = \(settings.weight(.openComplaint)),
                    weight_payment_incident = \(settings.weight(.paymentIncident)),
                    weight_overdue_buyer = \(settings.weight(.overdueRepeatBuyer)),
                    weight_falling_spend = \(settings.weight(.fallingSpend)), weight_no_contact = \(settings.weight(.noContact)),
                    nps_detractor_max = \(settings.npsDetractorMax), csat_low_max = \(settings.csatLowMax),
                    survey_window_days = \(settings.surveyWindowDays), complaint_open_days = \(settings.complaintOpenDays),
                    payment_incident_days = \(settings.paymentIncidentDays), overdue_min_purchases = \(settings.overdueMinPurchases),
                    overdue_factor = \(settings.overdueFactor), falling_spend_drop = \(settings.fallingSpendDrop),
                    no_contact_days = \(settings.noContactDays), webhook_url = \(settings.webhookURL),
                    webhook_secret = \(settings.webhookSecret), digest_email = \(settings.digestEmail), updated_at = now()
                RETURNING \(fragment: ChurnSettings.columns)
                """,
                AuditLog.entry(by: actor, action: "update", entity: "churn_settings", id: "settings",
                               before: before.auditSnapshot, after: settings.auditSnapshot),
            ])
            return try ChurnSettings(row: rows[0][0])
        }
    }
}
