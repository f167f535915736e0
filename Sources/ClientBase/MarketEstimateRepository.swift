import Foundation
import Postgres
import Tenancy

/// Reads and writes market estimates: analytics inputs, so read and written by the roles that
/// run analytics (owner, admin, manager); every change audited.
public struct MarketEstimateRepository: RecordRepository {
    public static let entity = "market_estimate"
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public struct Filter: Sendable {
        /// `limit` and `after` (estimates belong to no client and have no date of their own).
        public var records = RecordFilter()
        public var marketZone: String?
        public var productLine: String?
        public init(records: RecordFilter = RecordFilter(), marketZone: String? = nil, productLine: String? = nil) {
            self.records = records
            self.marketZone = marketZone
            self.productLine = productLine
        }
    }

    public func create(_ changes: MarketEstimateChanges, as actor: Actor, in session: PostgresSession) async throws -> MarketEstimate {
        try actor.require(.runAnalytics)
        let estimate = try changes.newEstimate(id: UUIDv7.make(), now: Date())
        return try await mappingRecordConstraints {
            let rows = try await session.pipeline([
                """
                INSERT INTO market_estimates AS e (id, market_zone, product_line, period_start, period_end, effective_demand,
                                                   potential_demand, effective_consumers, potential_consumers, source, note)
                VALUES (\(estimate.id), \(estimate.marketZone), \(estimate.productLine), \(estimate.periodStart),
                        \(estimate.periodEnd), \(estimate.effectiveDemand), \(estimate.potentialDemand),
                        \(estimate.effectiveConsumers), \(estimate.potentialConsumers), \(estimate.source), \(estimate.note))
                RETURNING \(fragment: MarketEstimate.columns)
                """,
                AuditLog.entry(by: actor, action: "create", entity: Self.entity, id: estimate.id.auditID,
                               before: nil, after: estimate.auditSnapshot),
            ])
            return try MarketEstimate(row: rows[0][0])
        }
    }

    public func get(_ id: UUID, as actor: Actor) async throws -> MarketEstimate {
        try actor.require(.runAnalytics)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: MarketEstimate.columns) FROM market_estimates e WHERE e.id = \(id)",
        ])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try MarketEstimate(row: row)
    }

    public func list(_ filter: Filter, as actor: Actor) async throws -> RecordPage<MarketEstimate> {
        try actor.require(.runAnalytics)
        let zone = filter.marketZone.map(MarketEstimate.label), line = filter.productLine.map(MarketEstimate.label)
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: MarketEstimate.columns) FROM market_estimates e
            WHERE (\(zone)::text IS NULL OR e.market_zone = \(zone))
              AND (\(line)::text IS NULL OR e.product_line = \(line))
              AND (\(filter.records.after)::uuid IS NULL OR e.id > \(filter.records.after))
            ORDER BY e.id LIMIT \(filter.records.limit + 1)
            """,
        ])
        return RecordPage(try rows[0].map(MarketEstimate.init(row:)), limit: filter.records.limit, id: \.id)
    }

    public func update(_ id: UUID, _ changes: MarketEstimateChanges, as actor: Actor, expecting: RecordPrecondition<Record>) async throws -> MarketEstimate {
        try actor.require(.runAnalytics)
        return try await mappingRecordConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let current = try await session.query(
                    "SELECT \(fragment: MarketEstimate.columns) FROM market_estimates e WHERE e.id = \(id) FOR UPDATE")
                guard let row = current.first else { throw Self.notFound(id) }
                let before = try MarketEstimate(row: row)
                try expecting(before)
                var estimate = before
                try changes.apply(to: &estimate)
                let rows = try await session.pipeline([
                    """
                    UPDATE market_estimates e SET market_zone = \(estimate.marketZone), product_line = \(estimate.productLine),
                        period_start = \(estimate.periodStart), period_end = \(estimate.periodEnd),
                        effective_demand = \(estimate.effectiveDemand), potential_demand = \(estimate.potentialDemand),
                        effective_consumers = \(estimate.effectiveConsumers), potential_consumers = \(estimate.potentialConsumers),
                        source = \(estimate.source), note = \(estimate.note), updated_at = now()
                    WHERE e.id = \(id)
                    RETURNING \(fragment: MarketEstimate.columns)
                    """,
                    AuditLog.entry(by: actor, action: "update", entity: Self.entity, id: id.auditID,
                                   before: before.auditSnapshot, after: estimate.auditSnapshot),
                ])
                return try MarketEstimate(row: rows[0][0])
            }
        }
    }

    public func delete(_ id: UUID, as actor: Actor, expecting: RecordPrecondition<Record>) async throws {
        try actor.require(.runAnalytics)
        try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query(
                "DELETE FROM market_estimates e WHERE e.id = \(id) RETURNING \(fragment: MarketEstimate.columns)")
            guard let row = rows.first else { throw Self.notFound(id) }
            try expecting(try MarketEstimate(row: row))
            try await session.query(AuditLog.entry(
                by: actor, action: "delete", entity: Self.entity, id: id.auditID,
                before: try MarketEstimate(row: row).auditSnapshot, after: nil))
        }
    }
}
