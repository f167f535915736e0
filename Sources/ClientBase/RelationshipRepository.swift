import Foundation
import Postgres
import Tenancy

/// Reads and writes relationships. A relationship hangs off both its clients: an agent reaches
/// it only when both are assigned to them.
public struct RelationshipRepository: RecordRepository {
    public static let entity = "relationship"
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public struct Filter: Sendable {
        public var records = RecordFilter()
        public var type: Relationship.Kind?
        public init(records: RecordFilter = RecordFilter(), type: Relationship.Kind? = nil) {
            self.records = records
            self.type = type
        }
    }

    /// Creates inside the caller's transaction: an idempotent request stores its answer in it.
    public func create(_ changes: RelationshipChanges, as actor: Actor, in session: PostgresSession) async throws -> Relationship {
        try actor.require(.writeClients)
        let relationship = try changes.newRelationship(id: UUIDv7.make(), now: Date())
        return try await mappingConstraints {
            try await Self.check(relationship, as: actor, in: session)
            let rows = try await session.pipeline([
                """
                INSERT INTO relationships AS r (id, from_client_id, to_client_id, type, function, buying_role, since, until, note)
                VALUES (\(relationship.id), \(relationship.fromClientID), \(relationship.toClientID), \(relationship.type),
                        \(relationship.function), \(relationship.buyingRole), \(relationship.since), \(relationship.until),
                        \(relationship.note))
                RETURNING \(fragment: Relationship.columns)
                """,
                AuditLog.entry(by: actor, action: "create", entity: Self.entity, id: relationship.id.auditID,
                               before: nil, after: relationship.auditSnapshot),
            ])
            return try Relationship(row: rows[0][0])
        }
    }

    public func get(_ id: UUID, as actor: Actor) async throws -> Relationship {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: Relationship.columns) FROM relationships r WHERE r.id = \(id) AND \(fragment: Self.visible(to: actor))",
        ])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try Relationship(row: row)
    }

    /// `client_id` finds the relationships on either side of that client.
    public func list(_ filter: Filter, as actor: Actor) async throws -> RecordPage<Relationship> {
        try actor.require(.readClients)
        let query = filter.records
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: Relationship.columns) FROM relationships r
            WHERE (\(query.clientID)::uuid IS NULL OR r.from_client_id = \(query.clientID) OR r.to_client_id = \(query.clientID))
              AND (\(filter.type)::text IS NULL OR r.type = \(filter.type))
              AND (\(query.after)::uuid IS NULL OR r.id > \(query.after))
              AND \(fragment: Self.visible(to: actor))
            ORDER BY r.id LIMIT \(query.limit + 1)
            """,
        ])
        return RecordPage(try rows[0].map(Relationship.init(row:)), limit: query.limit, id: \.id)
    }

    public func update(_ id: UUID, _ changes: RelationshipChanges, as actor: Actor, expecting: RecordPrecondition<Record>) async throws -> Relationship {
        try actor.require(.writeClients)
        return try await mappingConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let current = try await session.query("""
                    SELECT \(fragment: Relationship.columns) FROM relationships r
                    WHERE r.id = \(id) AND \(fragment: Self.visible(to: actor)) FOR UPDATE
                    """)
                guard let row = current.first else { throw Self.notFound(id) }
                let before = try Relationship(row: row)
                try expecting(before)
                var relationship = before
                try changes.apply(to: &relationship)
                try await Self.check(relationship, as: actor, in: session)
                let rows = try await session.pipeline([
                    """
                    UPDATE relationships r SET from_client_id = \(relationship.fromClientID), to_client_id = \(relationship.toClientID),
                        type = \(relationship.type), function = \(relationship.function), buying_role = \(relationship.buyingRole),
                        since = \(relationship.since), until = \(relationship.until), note = \(relationship.note), updated_at = now()
                    WHERE r.id = \(id)
                    RETURNING \(fragment: Relationship.columns)
                    """,
                    AuditLog.entry(by: actor, action: "update", entity: Self.entity, id: id.auditID,
                                   before: before.auditSnapshot, after: relationship.auditSnapshot),
                ])
                return try Relationship(row: rows[0][0])
            }
        }
    }

    public func delete(_ id: UUID, as actor: Actor, expecting: RecordPrecondition<Record>) async throws {
        try actor.require(.deleteClients)
        try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query("""
                DELETE FROM relationships r WHERE r.id = \(id) AND \(fragment: Self.visible(to: actor))
                RETURNING \(fragment: Relationship.columns)
                """)
            guard let row = rows.first else { throw Self.notFound(id) }
            try expecting(try Relationship(row: row))
            try await session.query(AuditLog.entry(
                by: actor, action: "delete", entity: Self.entity, id: id.auditID,
                before: try Relationship(row: row).auditSnapshot, after: nil))
        }
    }

    static func visible(to actor: Actor) -> PostgresQuery {
        "\(fragment: actor.sees(clientIn: "r.from_client_id")) AND \(fragment: actor.sees(clientIn: "r.to_client_id"))"
    }

    /// Both clients must be ones the actor sees; the rules depend on the kind of the second.
    private static func check(_ relationship: Relationship, as actor: Actor, in session: PostgresSession) async throws {
        let references = try ClientReferences(rows: try await session.query(
            ClientReferences.query([relationship.fromClientID, relationship.toClientID], as: actor)))
        try references.require(relationship.fromClientID, field: "from_client_id")
        let toKind = try references.require(relationship.toClientID, field: "to_client_id")
        try relationship.validate(toKind: toKind)
    }

    private func mappingConstraints<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await mappingRecordConstraints(body)
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "relationships_once" {
            throw ClientBaseError(.conflict, "these two clients already have a relationship of this type", field: "type")
        }
    }
}
