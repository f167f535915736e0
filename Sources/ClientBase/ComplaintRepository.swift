import Foundation
import Postgres
import Tenancy

/// Reads and writes complaints; an agent reaches those of the clients assigned to them.
public struct ComplaintRepository: RecordRepository {
    public static let entity = "complaint"
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public struct Filter: Sendable {
        /// `from`/`to` on opened_on.
        public var records = RecordFilter()
        public var status: Complaint.Status?
        public init(records: RecordFilter = RecordFilter(), status: Complaint.Status? = nil) {
            self.records = records
            self.status = status
        }
    }

    /// Creates inside the caller's transaction: an idempotent request stores its answer in it.
    public func create(_ changes: ComplaintChanges, as actor: Actor, in session: PostgresSession) async throws -> Complaint {
        try actor.require(.writeClients)
        let complaint = try changes.newComplaint(id: UUIDv7.make(), now: Date())
        return try await mappingRecordConstraints {
            try await RecordReferences.check(client: complaint.clientID, purchase: complaint.purchaseID, as: actor, in: session)
            let rows = try await session.pipeline([
                """
                INSERT INTO complaints AS k (id, client_id, purchase_id, opened_on, category, status, resolved_on, description,
                                             handling_minutes)
                VALUES (\(complaint.id), \(complaint.clientID), \(complaint.purchaseID), \(complaint.openedOn),
                        \(complaint.category), \(complaint.status), \(complaint.resolvedOn), \(complaint.description),
                        \(complaint.handlingMinutes))
                RETURNING \(fragment: Complaint.columns)
                """,
                AuditLog.entry(by: actor, action: "create", entity: Self.entity, id: complaint.id.auditID,
                               before: nil, after: complaint.auditSnapshot),
            ])
            if complaint.resolvedOn == nil {
                try await ChurnRescore.enqueue(client: complaint.clientID, in: session)
            }
            return try Complaint(row: rows[0][0])
        }
    }

    public func get(_ id: UUID, as actor: Actor) async throws -> Complaint {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: Complaint.columns) FROM complaints k WHERE k.id = \(id) AND \(fragment: actor.sees(clientIn: "k.client_id"))",
        ])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try Complaint(row: row)
    }

    public func list(_ filter: Filter, as actor: Actor) async throws -> RecordPage<Complaint> {
        try actor.require(.readClients)
        let query = filter.records
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: Complaint.columns) FROM complaints k
            WHERE (\(query.clientID)::uuid IS NULL OR k.client_id = \(query.clientID))
              AND (\(query.from)::date IS NULL OR k.opened_on >= \(query.from))
              AND (\(query.to)::date IS NULL OR k.opened_on <= \(query.to))
              AND (\(filter.status)::text IS NULL OR k.status = \(filter.status))
              AND (\(query.after)::uuid IS NULL OR k.id > \(query.after))
              AND \(fragment: actor.sees(clientIn: "k.client_id"))
            ORDER BY k.id LIMIT \(query.limit + 1)
            """,
        ])
        return RecordPage(try rows[0].map(Complaint.init(row:)), limit: query.limit, id: \.id)
    }

    public func update(_ id: UUID, _ changes: ComplaintChanges, as actor: Actor, expecting: RecordPrecondition<Record>) async throws -> Complaint {
        try actor.require(.writeClients)
        return try await mappingRecordConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let current = try await session.query("""
                    SELECT \(fragment: Complaint.columns) FROM complaints k
                    WHERE k.id = \(id) AND \(fragment: actor.sees(clientIn: "k.client_id")) FOR UPDATE OF k
                    """)
                guard let row = current.first else { throw Self.notFound(id) }
                let before = try Complaint(row: row)
                try expecting(before)
                var complaint = before
                try changes.apply(to: &complaint)
                if complaint.clientID != before.clientID || complaint.purchaseID != before.purchaseID {
                    try await RecordReferences.check(client: complaint.clientID, purchase: complaint.purchaseID, as: actor, in: session)
                }
                let rows = try await session.pipeline([
                    """
                    UPDATE complaints k SET client_id = \(complaint.clientID), purchase_id = \(complaint.purchaseID),
                        opened_on = \(complaint.openedOn), category = \(complaint.category), status = \(complaint.status),
                        resolved_on = \(complaint.resolvedOn), description = \(complaint.description),
                        handling_minutes = \(complaint.handlingMinutes), updated_at = now()
                    WHERE k.id = \(id)
                    RETURNING \(fragment: Complaint.columns)
                    """,
                    AuditLog.entry(by: actor, action: "update", entity: Self.entity, id: id.auditID,
                                   before: before.auditSnapshot, after: complaint.auditSnapshot),
                ])
                return try Complaint(row: rows[0][0])
            }
        }
    }

    public func delete(_ id: UUID, as actor: Actor, expecting: RecordPrecondition<Record>) async throws {
        try actor.require(.deleteClients)
        try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query("""
                DELETE FROM complaints k WHERE k.id = \(id) AND \(fragment: actor.sees(clientIn: "k.client_id"))
                RETURNING \(fragment: Complaint.columns)
                """)
            guard let row = rows.first else { throw Self.notFound(id) }
            try expecting(try Complaint(row: row))
            try await session.query(AuditLog.entry(
                by: actor, action: "delete", entity: Self.entity, id: id.auditID,
                before: try Complaint(row: row).auditSnapshot, after: nil))
        }
    }
}
