import Foundation
import Postgres
import Tenancy

/// A tenant's analytics settings (one row per tenant): when a client joins the inner circle,
/// when one client weighs too much, how unknown margins are estimated, and what serving a
/// difficult client costs. Read and changed by the roles that run analytics, changes audited.
public struct AnalyticsSettings: Sendable, Hashable {
    /// Seniority: a client joins the inner circle after this many full years (1–50).
    public var loyaltyYears: Int
    /// Pareto: warn when one client's share of revenue or margin exceeds this (0–1].
    public var paretoWarningShare: Decimal
    /// A purchase of unknown margin counts amount × this as margin [0–1].
    public var marginRateWhenUnknown: Decimal
    /// Cost to serve, euros: per complaint, per disputed complaint (on top of the complaint),
    /// per hour of complaint handling, per late payment, per rejected payment or litigation,
    /// per contact (interaction).
    public var costPerComplaint: Decimal
    public var costPerDispute: Decimal
    public var costPerHandlingHour: Decimal
    public var costPerLatePayment: Decimal
    public var costPerFailedPayment: Decimal
    public var costPerContact: Decimal
    public var updatedAt: Date

    static let columns: PostgresQuery = """
        loyalty_years, pareto_warning_share, margin_rate_when_unknown, cost_per_complaint, cost_per_dispute,
        cost_per_handling_hour, cost_per_late_payment, cost_per_failed_payment, cost_per_contact, updated_at
        """

    init(row: PostgresRow) throws {
        loyaltyYears = try row.decode(at: 0)
        paretoWarningShare = try row.decode(at: 1)
        marginRateWhenUnknown = try row.decode(at: 2)
        costPerComplaint = try row.decode(at: 3)
        costPerDispute = try row.decode(at: 4)
        costPerHandlingHour = try row.decode(at: 5)
        costPerLatePayment = try row.decode(at: 6)
        costPerFailedPayment = try row.decode(at: 7)
        costPerContact = try row.decode(at: 8)
        updatedAt = try row.decode(at: 9)
    }

    func validate() throws {
        guard (1...50).contains(loyaltyYears) else {
            throw ClientBaseError(.invalid, "loyalty_years must be from 1 to 50", field: "loyalty_years")
        }
        guard paretoWarningShare > 0, paretoWarningShare <= 1 else {
            throw ClientBaseError(.invalid, "pareto_warning_share must be more than 0 and at most 1", field: "pareto_warning_share")
        }
        guard marginRateWhenUnknown >= 0, marginRateWhenUnknown <= 1 else {
            throw ClientBaseError(.invalid, "margin_rate_when_unknown must be from 0 to 1", field: "margin_rate_when_unknown")
        }
        for (name, cost) in costs where cost < 0 || cost > Self.maximumCost {
            throw ClientBaseError(.invalid, "\(name) must be from 0 to \(Self.maximumCost)", field: name)
        }
    }

    static let maximumCost = Decimal(9_999_999_999)

    var costs: [(String, Decimal)] {
        [("cost_per_complaint", costPerComplaint), ("cost_per_dispute", costPerDispute),
         ("cost_per_handling_hour", costPerHandlingHour), ("cost_per_late_payment", costPerLatePayment),
         ("cost_per_failed_payment", costPerFailedPayment), ("cost_per_contact", costPerContact)]
    }

    var auditSnapshot: AuditSnapshot {
        var snapshot: AuditSnapshot = [
            "loyalty_years": loyaltyYears.auditValue, "pareto_warning_share": paretoWarningShare.auditValue,
            "margin_rate_when_unknown": marginRateWhenUnknown.auditValue,
        ]
        for (name, cost) in costs { snapshot[name] = cost.auditValue }
        return snapshot
    }
}

/// The settings a PATCH body changes; none may be null.
public struct AnalyticsSettingsChanges: Sendable, Hashable, Decodable {
    public var loyaltyYears: Int?
    public var paretoWarningShare: Decimal?
    public var marginRateWhenUnknown: Decimal?
    public var costs: [String: Decimal] = [:]

    static let costNames = ["cost_per_complaint", "cost_per_dispute", "cost_per_handling_hour", "cost_per_late_payment",
                            "cost_per_failed_payment", "cost_per_contact"]

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder,
            writable: ["loyalty_years", "pareto_warning_share", "margin_rate_when_unknown"] + Self.costNames,
            readOnly: ["updated_at"])
        func notNull<T>(_ change: FieldChange<T>, _ name: String) throws -> T? {
            if case .cleared = change { throw ClientBaseError(.invalid, "field '\(name)' cannot be null", field: name) }
            return change.value
        }
        func share(_ name: String) throws -> Decimal? {
            let key = AnyKey(name)
            guard body.container.contains(key) else { return nil }
            if try body.container.decodeNil(forKey: key) {
                throw ClientBaseError(.invalid, "field '\(name)' cannot be null", field: name)
            }
            return try Money.decode(body.container, key: key, field: name, decimals: 4)
        }
        loyaltyYears = try notNull(body.integer("loyalty_years"), "loyalty_years")
        paretoWarningShare = try share("pareto_warning_share")
        marginRateWhenUnknown = try share("margin_rate_when_unknown")
        for name in Self.costNames {
            if let cost = try notNull(body.money(name), name) { costs[name] = cost }
        }
    }

    func apply(to settings: inout AnalyticsSettings) throws {
        if let loyaltyYears { settings.loyaltyYears = loyaltyYears }
        if let paretoWarningShare { settings.paretoWarningShare = paretoWarningShare }
        if let marginRateWhenUnknown { settings.marginRateWhenUnknown = marginRateWhenUnknown }
        if let cost = costs["cost_per_complaint"] { settings.costPerComplaint = cost }
        if let cost = costs["cost_per_dispute"] { settings.costPerDispute = cost }
        if let cost = costs["cost_per_handling_hour"] { settings.costPerHandlingHour = cost }
        if let cost = costs["cost_per_late_payment"] { settings.costPerLatePayment = cost }
        if let cost = costs["cost_per_failed_payment"] { settings.costPerFailedPayment = cost }
        if let cost = costs["cost_per_contact"] { settings.costPerContact = cost }
        try settings.validate()
    }
}

extension Analytics {
    public func settings(as actor: Actor) async throws -> AnalyticsSettings {
        try actor.require(.runAnalytics)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: AnalyticsSettings.columns) FROM analytics_settings LIMIT 1",
        ])
        return try AnalyticsSettings(row: rows[0][0])
    }

    /// Changes the settings sent; audited as entity `analytics_settings`, id `settings`.
    public func updateSettings(_ changes: AnalyticsSettingsChanges, as actor: Actor) async throws -> AnalyticsSettings {
        try actor.require(.runAnalytics)
        return try await database.withTenantTransaction(actor.scope) { session in
            let current = try await session.query(
                "SELECT \(fragment: AnalyticsSettings.columns) FROM analytics_settings LIMIT 1 FOR UPDATE")
            let before = try AnalyticsSettings(row: current[0])
            var settings = before
            try changes.apply(to: &settings)
            let rows = try await session.pipeline([
                """
                UPDATE analytics_settings SET loyalty_years = \(settings.loyaltyYears),
                    pareto_warning_share = \(settings.paretoWarningShare), margin_rate_when_unknown = \(settings.marginRateWhenUnknown),
                    cost_per_complaint = \(settings.costPerComplaint), cost_per_dispute = \(settings.costPerDispute),
                    cost_per_handling_hour = \(settings.costPerHandlingHour), cost_per_late_payment = \(settings.costPerLatePayment),
                    cost_per_failed_payment = \(settings.costPerFailedPayment), cost_per_contact = \(settings.costPerContact),
                    updated_at = now()
                RETURNING \(fragment: AnalyticsSettings.columns)
                """,
                AuditLog.entry(by: actor, action: "update", entity: "analytics_settings", id: "settings",
                               before: before.auditSnapshot, after: settings.auditSnapshot),
            ])
            return try AnalyticsSettings(row: rows[0][0])
        }
    }
}
