import Foundation
import Postgres
import Tenancy

/// Everything held about one client (RGPD subject access, article 15).
public struct PersonalData: Sendable {
    public var client: Client
    public var categoryHistory: [CategoryChange]
    /// Both ways: from the client and to the client.
    public var relationships: [Relationship]
    /// As buyer, payer or consumer.
    public var purchases: [Purchase]
    public var interactions: [Interaction]
    public var complaints: [Complaint]
    public var payments: [Payment]
    /// The audit entries about the client and about the records above.
    public var auditEntries: [AuditEntry]
    public var exportedAt: Date
}

/// What an erasure blanked, by table (no personal values: counts only).
public struct ErasureOutcome: Sendable {
    public var client: Client
    public var rowsBlanked: [String: Int]
}

/// Subject access and erasure of one client: owners and admins only (`.dataRights`), both
/// audited, each in one tenant transaction.
public struct DataRightsRepository: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// The client's whole file, read in one snapshot, with an `export` audit entry.
    public func personalData(of id: UUID, as actor: Actor) async throws -> PersonalData {
        try actor.require(.dataRights)
        return try await database.withTenantTransaction(actor.scope) { session in
            let client = try await Self.lockedClient(id, as: actor, forUpdate: false, in: session)
            let records = Self.recordsOf(id)
            let rows = try await session.pipeline([
                """
                SELECT from_category, to_category, reason, author, changed_at FROM category_changes
                WHERE client_id = \(id) ORDER BY id DESC
                """,
                "SELECT \(fragment: Relationship.columns) FROM relationships r WHERE r.from_client_id = \(id) OR r.to_client_id = \(id) ORDER BY r.id",
                "SELECT \(fragment: Purchase.columns) FROM purchases p WHERE p.id IN (\(fragment: records.purchases)) ORDER BY p.id",
                "SELECT \(fragment: Interaction.columns) FROM interactions i WHERE i.client_id = \(id) ORDER BY i.id",
                "SELECT \(fragment: Complaint.columns) FROM complaints k WHERE k.client_id = \(id) ORDER BY k.id",
                "SELECT \(fragment: Payment.columns) FROM payments m WHERE m.client_id = \(id) ORDER BY m.id",
                """
                SELECT id, at, actor, action, entity, entity_id, changes::text FROM audit_log a
                WHERE \(fragment: records.auditCondition) ORDER BY id
                """,
                AuditLog.entry(by: actor, action: "export", entity: "client", id: id.auditID, before: nil,
                               after: ["personal_data": .text("subject access export")]),
            ])
            return PersonalData(
                client: client,
                categoryHistory: try rows[0].map {
                    CategoryChange(from: try $0.decode(at: 0), to: try $0.decode(at: 1), reason: try $0.decode(at: 2),
                                   author: try $0.decode(at: 3), changedAt: try $0.decode(at: 4))
                },
                relationships: try rows[1].map(Relationship.init(row:)),
                purchases: try rows[2].map(Purchase.init(row:)),
                interactions: try rows[3].map(Interaction.init(row:)),
                complaints: try rows[4].map(Complaint.init(row:)),
                payments: try rows[5].map(Payment.init(row:)),
                auditEntries: try rows[6].map {
                    AuditEntry(id: try $0.decode(at: 0), at: try $0.decode(at: 1), actor: try $0.decode(at: 2),
                               action: try $0.decode(at: 3), entity: try $0.decode(at: 4), entityID: try $0.decode(at: 5),
                               changesJSON: try $0.decode(at: 6))
                },
                exportedAt: Date())
        }
    }

    /// The client, or 404 (another tenant's, or one the actor may not see).
    static func lockedClient(_ id: UUID, as actor: Actor, forUpdate: Bool, in session: PostgresSession) async throws -> Client {
        let rows = try await session.query("""
            SELECT \(fragment: Client.columns) FROM clients
            WHERE id = \(id) AND \(fragment: actor.access.condition()) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """)
        guard let row = rows.first else { throw ClientRepository.notFound(id) }
        return try Client(row: row)
    }

    /// The SQL naming the records that hang off a client, for reading and for erasing.
    struct Records {
        /// Ids of the purchases the client is buyer, payer or consumer of.
        var purchases: PostgresQuery
        /// The audit entries about the client or any of its records.
        var auditCondition: PostgresQuery
    }

    static func recordsOf(_ id: UUID) -> Records {
        let purchases: PostgresQuery = """
            SELECT p.id FROM purchases p WHERE p.buyer_id = \(id) OR p.payer_id = \(id)
            UNION SELECT pc.purchase_id FROM purchase_consumers pc WHERE pc.client_id = \(id)
            """
        let audit: PostgresQuery = """
            (a.entity = 'client' AND a.entity_id = \(id.auditID))
            OR (a.entity = 'purchase' AND a.entity_id IN (SELECT x.id::text FROM (\(fragment: purchases)) AS x (id)))
            OR (a.entity = 'relationship' AND a.entity_id IN (
                    SELECT r.id::text FROM relationships r WHERE r.from_client_id = \(id) OR r.to_client_id = \(id)))
            OR (a.entity = 'interaction' AND a.entity_id IN (SELECT i.id::text FROM interactions i WHERE i.client_id = \(id)))
            OR (a.entity = 'complaint' AND a.entity_id IN (SELECT k.id::text FROM complaints k WHERE k.client_id = \(id)))
            OR (a.entity = 'payment' AND a.entity_id IN (SELECT m.id::text FROM payments m WHERE m.client_id = \(id)))
            """
        return Records(purchases: purchases, auditCondition: audit)
    }
}
