import Foundation
import Postgres
import Tenancy

/// Reads and writes payments; an agent reaches those of the clients assigned to them.
public struct PaymentRepository: RecordRepository {
    public static let entity = "payment"
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public struct Filter: Sendable {
        /// `from`/`to` on due_on.
        public var records = RecordFilter()
        public var incident: Payment.Incident?
        /// true: paid only; false: unpaid only.
        public var paid: Bool?
        public init(records: RecordFilter = RecordFilter(), incident: Payment.Incident? = nil, paid: Bool? = nil) {
            self.records = records
            self.incident = incident
            self.paid = paid
        }
    }

    /// Creates inside the caller's transaction: an idempotent request stores its answer in it.
    public func create(_ changes: PaymentChanges, as actor: Actor, in session: PostgresSession) async throws -> Payment {
        try actor.require(.writeClients)
        let payment = try changes.newPayment(id: UUIDv7.make(), now: Date())
        return try await mappingRecordConstraints {
            try await RecordReferences.check(client: payment.clientID, purchase: payment.purchaseID, as: actor, in: session)
            let rows = try await session.pipeline([
                """
                INSERT INTO payments AS m (id, client_id, purchase_id, amount, due_on, paid_on, means, incident, incident_on,
                                           incident_note)
                VALUES (\(payment.id), \(payment.clientID), \(payment.purchaseID), \(payment.amount), \(payment.dueOn),
                        \(payment.paidOn), \(payment.means), \(payment.incident), \(payment.incidentOn), \(payment.incidentNote))
                RETURNING \(fragment: Payment.columns)
                """,
                AuditLog.entry(by: actor, action: "create", entity: Self.entity, id: payment.id.auditID,
                               before: nil, after: payment.auditSnapshot),
            ])
            if payment.incident != .none {
                try await ChurnRescore.enqueue(client: payment.clientID, in: session)
            }
            return try Payment(row: rows[0][0])
        }
    }

    public func get(_ id: UUID, as actor: Actor) async throws -> Payment {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: Payment.columns) FROM payments m WHERE m.id = \(id) AND \(fragment: actor.sees(clientIn: "m.client_id"))",
        ])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try Payment(row: row)
    }

    public func list(_ filter: Filter, as actor: Actor) async throws -> RecordPage<Payment> {
        try actor.require(.readClients)
        let query = filter.records
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: Payment.columns) FROM payments m
            WHERE (\(query.clientID)::uuid IS NULL OR m.client_id = \(query.clientID))
              AND (\(query.from)::date IS NULL OR m.due_on >= \(query.from))
              AND (\(query.to)::date IS NULL OR m.due_on <= \(query.to))
              AND (\(filter.incident)::text IS NULL OR m.incident = \(filter.incident))
              AND (\(filter.paid)::boolean IS NULL OR (m.paid_on IS NOT NULL) = \(filter.paid))
              AND (\(query.after)::uuid IS NULL OR m.id > \(query.after))
              AND \(fragment: actor.sees(clientIn: "m.client_id"))
            ORDER BY m.id LIMIT \(query.limit + 1)
            """,
        ])
        return RecordPage(try rows[0].map(Payment.init(row:)), limit: query.limit, id: \.id)
    }

    public func update(_ id: UUID, _ changes: PaymentChanges, as actor: Actor, expecting: RecordPrecondition<Record>) async throws -> Payment {
        try actor.require(.writeClients)
        return try await mappingRecordConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let current = try await session.query("""
                    SELECT \(fragment: Payment.columns) FROM payments m
                    WHERE m.id = \(id) AND \(fragment: actor.sees(clientIn: "m.client_id")) FOR UPDATE OF m
                    """)
                guard let row = current.first else { throw Self.notFound(id) }
                let before = try Payment(row: row)
                try expecting(before)
                var payment = before
                try changes.apply(to: &payment, today: Timestamps.today())
                if payment.clientID != before.clientID || payment.purchaseID != before.purchaseID {
                    try await RecordReferences.check(client: payment.clientID, purchase: payment.purchaseID, as: actor, in: session)
                }
                let rows = try await session.pipeline([
                    """
                    UPDATE payments m SET client_id = \(payment.clientID), purchase_id = \(payment.purchaseID),
                        amount = \(payment.amount), due_on = \(payment.dueOn), paid_on = \(payment.paidOn), means = \(payment.means),
                        incident = \(payment.incident), incident_on = \(payment.incidentOn),
                        incident_note = \(payment.incidentNote), updated_at = now()
                    WHERE m.id = \(id)
                    RETURNING \(fragment: Payment.columns)
                    """,
                    AuditLog.entry(by: actor, action: "update", entity: Self.entity, id: id.auditID,
                                   before: before.auditSnapshot, after: payment.auditSnapshot),
                ])
                // An incident set or changed moves the churn risk (of the client it now names).
                if payment.incident != .none,
                   payment.incident != before.incident || payment.incidentOn != before.incidentOn
                    || payment.clientID != before.clientID || payment.paidOn != before.paidOn {
                    try await ChurnRescore.enqueue(client: payment.clientID, in: session)
                }
                return try Payment(row: rows[0][0])
            }
        }
    }

    public func delete(_ id: UUID, as actor: Actor, expecting: RecordPrecondition<Record>) async throws {
        try actor.require(.deleteClients)
        try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query("""
                DELETE FROM payments m WHERE m.id = \(id) AND \(fragment: actor.sees(clientIn: "m.client_id"))
                RETURNING \(fragment: Payment.columns)
                """)
            guard let row = rows.first else { throw Self.notFound(id) }
            try expecting(try Payment(row: row))
            try await session.query(AuditLog.entry(
                by: actor, action: "delete", entity: Self.entity, id: id.auditID,
                before: try Payment(row: row).auditSnapshot, after: nil))
        }
    }
}
