import Foundation
import Postgres

/// What the business knows of one market (DOMAIN.md section 3, seeds 002-003): for a zone and a
/// product line (nil: every line) over a period, the effective demand (what the market buys,
/// from us and from competitors) and the potential demand (that plus what relative
/// non-consumers would buy), in euros, with the consumer counts when known.
public struct MarketEstimate: Sendable, Hashable {
    public var id: UUID
    public var marketZone: String
    public var productLine: String?
    public var periodStart: PostgresDate
    public var periodEnd: PostgresDate
    public var effectiveDemand: Decimal
    public var potentialDemand: Decimal
    public var effectiveConsumers: Int?
    public var potentialConsumers: Int?
    public var source: String?
    public var note: String?
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: PostgresQuery = """
        e.id, e.market_zone, e.product_line, e.period_start, e.period_end, e.effective_demand, e.potential_demand,
        e.effective_consumers, e.potential_consumers, e.source, e.note, e.created_at, e.updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        marketZone = try row.decode(at: 1)
        productLine = try row.decode(at: 2)
        periodStart = try row.decode(at: 3)
        periodEnd = try row.decode(at: 4)
        effectiveDemand = try row.decode(at: 5)
        potentialDemand = try row.decode(at: 6)
        effectiveConsumers = try row.decode(at: 7)
        potentialConsumers = try row.decode(at: 8)
        source = try row.decode(at: 9)
        note = try row.decode(at: 10)
        createdAt = try row.decode(at: 11)
        updatedAt = try row.decode(at: 12)
    }

    init(id: UUID, marketZone: String, periodStart: PostgresDate, periodEnd: PostgresDate,
         effectiveDemand: Decimal, potentialDemand: Decimal, now: Date) {
        self.id = id
        self.marketZone = marketZone
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.effectiveDemand = effectiveDemand
        self.potentialDemand = potentialDemand
        createdAt = now
        updatedAt = now
    }

    /// Zones and product lines are short labels compared as written lowercased and trimmed,
    /// so "Lyon" in a purchase and "lyon " in an estimate are one market.
    public static func label(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    func validate() throws {
        guard !marketZone.isEmpty else {
            throw ClientBaseError(.invalid, "field 'market_zone' cannot be empty", field: "market_zone")
        }
        guard periodEnd >= periodStart else {
            throw ClientBaseError(.invalid, "period_end cannot be before period_start", field: "period_end")
        }
        guard effectiveDemand > 0 else {
            throw ClientBaseError(.invalid, "effective_demand must be more than 0", field: "effective_demand")
        }
        guard potentialDemand >= effectiveDemand else {
            throw ClientBaseError(.invalid,
                "potential_demand includes the effective demand: it cannot be less", field: "potential_demand")
        }
        for (name, count) in [("effective_consumers", effectiveConsumers), ("potential_consumers", potentialConsumers)] {
            if let count, count <= 0 {
                throw ClientBaseError(.invalid, "\(name) must be more than 0", field: name)
            }
        }
        if let effective = effectiveConsumers, let potential = potentialConsumers, potential < effective {
            throw ClientBaseError(.invalid,
                "potential_consumers includes the effective consumers: it cannot be less", field: "potential_consumers")
        }
    }

    var auditSnapshot: AuditSnapshot {
        [
            "market_zone": marketZone.auditValue, "product_line": AuditValue(productLine),
            "period_start": periodStart.auditValue, "period_end": periodEnd.auditValue,
            "effective_demand": effectiveDemand.auditValue, "potential_demand": potentialDemand.auditValue,
            "effective_consumers": AuditValue(effectiveConsumers), "potential_consumers": AuditValue(potentialConsumers),
            "source": AuditValue(source), "note": AuditValue(note),
        ]
    }
}

/// The writable fields of a market estimate, as a POST or PATCH body carries them.
public struct MarketEstimateChanges: Sendable, Hashable, Decodable {
    public var marketZone: FieldChange<String> = .unchanged
    public var productLine: FieldChange<String> = .unchanged
    public var periodStart: FieldChange<PostgresDate> = .unchanged
    public var periodEnd: FieldChange<PostgresDate> = .unchanged
    public var effectiveDemand: FieldChange<Decimal> = .unchanged
    public var potentialDemand: FieldChange<Decimal> = .unchanged
    public var effectiveConsumers: FieldChange<Int> = .unchanged
    public var potentialConsumers: FieldChange<Int> = .unchanged
    public var source: FieldChange<String> = .unchanged
    public var note: FieldChange<String> = .unchanged

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder,
            writable: ["market_zone", "product_line", "period_start", "period_end", "effective_demand", "potential_demand",
                       "effective_consumers", "potential_consumers", "source", "note"],
            readOnly: ["id", "created_at", "updated_at"])
        marketZone = try body.text("market_zone", maximumLength: 100).map(MarketEstimate.label)
        productLine = try body.text("product_line", maximumLength: 100).map(MarketEstimate.label)
        periodStart = try body.date("period_start")
        periodEnd = try body.date("period_end")
        effectiveDemand = try body.money("effective_demand")
        potentialDemand = try body.money("potential_demand")
        effectiveConsumers = try body.integer("effective_consumers")
        potentialConsumers = try body.integer("potential_consumers")
        source = try body.text("source")
        note = try body.text("note", maximumLength: 2000)
    }

    func newEstimate(id: UUID, now: Date) throws -> MarketEstimate {
        func required<T>(_ change: FieldChange<T>, _ name: String) throws -> T {
            guard let value = change.value else {
                throw ClientBaseError(.invalid, "field '\(name)' is required", field: name)
            }
            return value
        }
        var estimate = MarketEstimate(
            id: id, marketZone: try required(marketZone, "market_zone"),
            periodStart: try required(periodStart, "period_start"), periodEnd: try required(periodEnd, "period_end"),
            effectiveDemand: try required(effectiveDemand, "effective_demand"),
            potentialDemand: try required(potentialDemand, "potential_demand"), now: now)
        try apply(to: &estimate)
        return estimate
    }

    func apply(to estimate: inout MarketEstimate) throws {
        try marketZone.apply(to: &estimate.marketZone, name: "market_zone")
        productLine.apply(to: &estimate.productLine)
        try periodStart.apply(to: &estimate.periodStart, name: "period_start")
        try periodEnd.apply(to: &estimate.periodEnd, name: "period_end")
        try effectiveDemand.apply(to: &estimate.effectiveDemand, name: "effective_demand")
        try potentialDemand.apply(to: &estimate.potentialDemand, name: "potential_demand")
        effectiveConsumers.apply(to: &estimate.effectiveConsumers)
        potentialConsumers.apply(to: &estimate.potentialConsumers)
        source.apply(to: &estimate.source)
        note.apply(to: &estimate.note)
        try estimate.validate()
    }
}
