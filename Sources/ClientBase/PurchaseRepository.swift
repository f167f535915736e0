import Foundation
import Postgres
import Tenancy

/// Reads and writes purchases. A purchase belongs to its buyer: an agent reaches it when the
/// buyer is assigned to them, and every client it names must be one they see. Every write
/// keeps the buyer's `first_purchase_on` and `last_purchase_on` true in its own transaction.
public struct PurchaseRepository: RecordRepository {
    public static let entity = "purchase"
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public struct Filter: Sendable {
        /// `clientID`: as buyer, payer or consumer; `from`/`to` on purchased_on.
        public var records = RecordFilter()
        public var externalRef: String?
        public init(records: RecordFilter = RecordFilter(), externalRef: String? = nil) {
            self.records = records
            self.externalRef = externalRef
        }
    }

    /// Creates inside the caller's transaction: an idempotent request stores its answer in it.
    public func create(_ changes: PurchaseChanges, as actor: Actor, in session: PostgresSession) async throws -> Purchase {
        try actor.require(.writeClients)
        let purchase = try changes.newPurchase(id: UUIDv7.make(), now: Date())
        return try await mappingConstraints {
            try await Self.checkAndLock(purchase, formerBuyer: nil, as: actor, in: session)
            var statements: [PostgresQuery] = [
                """
                INSERT INTO purchases (id, buyer_id, payer_id, purchased_on, channel, purchase_type, amount, margin, note, external_ref,
                                       market_zone, product_line)
                VALUES (\(purchase.id), \(purchase.buyerID), \(purchase.storedPayerID), \(purchase.purchasedOn), \(purchase.channel),
                        \(purchase.purchaseType), \(purchase.amount), \(purchase.margin), \(purchase.note), \(purchase.externalRef),
                        \(purchase.marketZone), \(purchase.productLine))
                """,
            ]
            statements += Self.insertLines(of: purchase) + [Self.insertConsumers(of: purchase)]
            statements += [
                Self.recomputePurchaseDates(of: [purchase.buyerID]),
                AuditLog.entry(by: actor, action: "create", entity: Self.entity, id: purchase.id.auditID,
                               before: nil, after: purchase.auditSnapshot),
                "SELECT \(fragment: Purchase.columns) FROM purchases p WHERE p.id = \(purchase.id)",
            ]
            let rows = try await session.pipeline(statements)
            // In the purchase's transaction: a rolled-back purchase schedules no survey.
            try await TenantJobs.purchaseRecorded(purchase.id, in: session)
            return try Purchase(row: rows[rows.count - 1][0])
        }
    }

    public func get(_ id: UUID, as actor: Actor) async throws -> Purchase {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: Purchase.columns) FROM purchases p WHERE p.id = \(id) AND \(fragment: actor.sees(clientIn: "p.buyer_id"))",
        ])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try Purchase(row: row)
    }

    public func list(_ filter: Filter, as actor: Actor) async throws -> RecordPage<Purchase> {
        try actor.require(.readClients)
        let query = filter.records
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: Purchase.columns) FROM purchases p
            WHERE (\(query.clientID)::uuid IS NULL OR p.buyer_id = \(query.clientID) OR p.payer_id = \(query.clientID)
                   OR EXISTS (SELECT 1 FROM purchase_consumers pc WHERE pc.purchase_id = p.id AND pc.client_id = \(query.clientID)))
              AND (\(query.from)::date IS NULL OR p.purchased_on >= \(query.from))
              AND (\(query.to)::date IS NULL OR p.purchased_on <= \(query.to))
              AND (\(filter.externalRef)::text IS NULL OR p.external_ref = \(filter.externalRef))
              AND (\(query.after)::uuid IS NULL OR p.id > \(query.after))
              AND \(fragment: actor.sees(clientIn: "p.buyer_id"))
            ORDER BY p.id LIMIT \(query.limit + 1)
            """,
        ])
        return RecordPage(try rows[0].map(Purchase.init(row:)), limit: query.limit, id: \.id)
    }

    public func update(_ id: UUID, _ changes: PurchaseChanges, as actor: Actor, expecting: RecordPrecondition<Record>) async throws -> Purchase {
        try actor.require(.writeClients)
        return try await mappingConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let current = try await session.query("""
                    SELECT \(fragment: Purchase.columns) FROM purchases p
                    WHERE p.id = \(id) AND \(fragment: actor.sees(clientIn: "p.buyer_id")) FOR UPDATE OF p
                    """)
                guard let row = current.first else { throw Self.notFound(id) }
                let before = try Purchase(row: row)
                try expecting(before)
                var purchase = before
                try changes.apply(to: &purchase)
                try await Self.checkAndLock(purchase, formerBuyer: before.buyerID, as: actor, in: session)
                var statements: [PostgresQuery] = [
                    """
                    UPDATE purchases SET buyer_id = \(purchase.buyerID), payer_id = \(purchase.storedPayerID),
                        purchased_on = \(purchase.purchasedOn), channel = \(purchase.channel),
                        purchase_type = \(purchase.purchaseType), amount = \(purchase.amount), margin = \(purchase.margin),
                        note = \(purchase.note), external_ref = \(purchase.externalRef), market_zone = \(purchase.marketZone),
                        product_line = \(purchase.productLine), updated_at = now()
                    WHERE id = \(id)
                    """,
                ]
                if purchase.lines != before.lines {
                    statements.append("DELETE FROM purchase_lines WHERE purchase_id = \(id)")
                    statements += Self.insertLines(of: purchase)
                }
                if purchase.consumerIDs != before.consumerIDs {
                    statements.append("DELETE FROM purchase_consumers WHERE purchase_id = \(id)")
                    statements.append(Self.insertConsumers(of: purchase))
                } else if purchase.purchasedOn != before.purchasedOn {
                    statements.append("UPDATE purchase_consumers SET purchased_on = \(purchase.purchasedOn) WHERE purchase_id = \(id)")
                }
                statements += [
                    Self.recomputePurchaseDates(of: Array(Set([before.buyerID, purchase.buyerID]))),
                    AuditLog.entry(by: actor, action: "update", entity: Self.entity, id: id.auditID,
                                   before: before.auditSnapshot, after: purchase.auditSnapshot),
                    "SELECT \(fragment: Purchase.columns) FROM purchases p WHERE p.id = \(id)",
                ]
                let rows = try await session.pipeline(statements)
                return try Purchase(row: rows[rows.count - 1][0])
            }
        }
    }

    public func delete(_ id: UUID, as actor: Actor, expecting: RecordPrecondition<Record>) async throws {
        try actor.require(.deleteClients)
        try await database.withTenantTransaction(actor.scope) { session in
            let current = try await session.query("""
                SELECT \(fragment: Purchase.columns) FROM purchases p
                WHERE p.id = \(id) AND \(fragment: actor.sees(clientIn: "p.buyer_id")) FOR UPDATE OF p
                """)
            guard let row = current.first else { throw Self.notFound(id) }
            let before = try Purchase(row: row)
            try expecting(before)
            _ = try await session.pipeline([
                Self.lockBuyers([before.buyerID]),
                "DELETE FROM purchases WHERE id = \(id)",
                Self.recomputePurchaseDates(of: [before.buyerID]),
                AuditLog.entry(by: actor, action: "delete", entity: Self.entity, id: id.auditID,
                               before: before.auditSnapshot, after: nil),
            ])
        }
    }

    /// Every client named must be one the actor sees (422 naming the field). The buyers' rows
    /// are locked, so two purchases of one buyer written at once both count in its first and
    /// last purchase dates (each recomputation then reads the other's committed row).
    private static func checkAndLock(
        _ purchase: Purchase, formerBuyer: UUID?, as actor: Actor, in session: PostgresSession
    ) async throws {
        let named = [purchase.buyerID, purchase.payerID] + purchase.consumerIDs
        let rows = try await session.pipeline([
            ClientReferences.query(named, as: actor),
            lockBuyers(Array(Set([purchase.buyerID] + [formerBuyer].compactMap { $0 }))),
        ])
        let references = try ClientReferences(rows: rows[0])
        try references.require(purchase.buyerID, field: "buyer_id")
        try references.require(purchase.payerID, field: "payer_id")
        for consumer in purchase.consumerIDs { try references.require(consumer, field: "consumer_ids") }
    }

    static func lockBuyers(_ ids: [UUID]) -> PostgresQuery {
        "SELECT id FROM clients WHERE id = ANY(\(ids)) ORDER BY id FOR NO KEY UPDATE"
    }

    /// The buyers' first and last purchase dates from their purchases; a client whose dates
    /// already match is not rewritten. Derived data: the client's revision does not move.
    static func recomputePurchaseDates(of buyers: [UUID]) -> PostgresQuery {
        """
        UPDATE clients c SET first_purchase_on = s.first_on, last_purchase_on = s.last_on
        FROM (SELECT b.id,
                     (SELECT min(p.purchased_on) FROM purchases p WHERE p.buyer_id = b.id) AS first_on,
                     (SELECT max(p.purchased_on) FROM purchases p WHERE p.buyer_id = b.id) AS last_on
              FROM unnest(\(buyers)::uuid[]) AS b (id)) AS s
        WHERE c.id = s.id
          AND (c.first_purchase_on IS DISTINCT FROM s.first_on OR c.last_purchase_on IS DISTINCT FROM s.last_on)
        """
    }

    private static func insertLines(of purchase: Purchase) -> [PostgresQuery] {
        guard let lines = purchase.lines, !lines.isEmpty else { return [] }
        // A missing unit cost travels as an empty string: text arrays have no NULL element here.
        return [
            """
            INSERT INTO purchase_lines (purchase_id, position, description, quantity, unit_price, unit_cost)
            SELECT \(purchase.id), l.position, l.description, l.quantity, l.unit_price, NULLIF(l.unit_cost, '')::numeric
            FROM unnest(\(lines.map(\.description))::text[], \(lines.map(\.quantity))::numeric[],
                        \(lines.map(\.unitPrice))::numeric[], \(lines.map { $0.unitCost?.postgresText ?? "" })::text[])
                 WITH ORDINALITY AS l (description, quantity, unit_price, unit_cost, position)
            """,
        ]
    }

    private static func insertConsumers(of purchase: Purchase) -> PostgresQuery {
        """
        INSERT INTO purchase_consumers (purchase_id, client_id, purchased_on)
        SELECT \(purchase.id), consumer.id, \(purchase.purchasedOn)
        FROM unnest(\(purchase.consumerIDs)::uuid[]) WITH ORDINALITY AS consumer (id, position)
        ORDER BY consumer.position
        """
    }

    private func mappingConstraints<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await mappingRecordConstraints(body)
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "purchases_external_ref_key" {
            throw ClientBaseError(.conflict, "another purchase already has this external_ref", field: "external_ref")
        }
    }
}
