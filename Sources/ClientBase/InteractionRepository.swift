import Foundation
import Postgres
import Tenancy

/// Reads and writes interactions; an agent reaches those of the clients assigned to them.
public struct InteractionRepository: RecordRepository {
    public static let entity = "interaction"
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public struct Filter: Sendable {
        /// `from`/`to`: dates of occurred_at (UTC), inclusive.
        public var records = RecordFilter()
        public var channel: Interaction.Channel?
        public init(records: RecordFilter = RecordFilter(), channel: Interaction.Channel? = nil) {
            self.records = records
            self.channel = channel
        }
    }

    /// Creates inside the caller's transaction: an idempotent request stores its answer in it.
    public func create(_ changes: InteractionChanges, as actor: Actor, in session: PostgresSession) async throws -> Interaction {
        try actor.require(.writeClients)
        let interaction = try changes.newInteraction(id: UUIDv7.make(), author: actor.label, now: Date())
        return try await mappingRecordConstraints {
            try await RecordReferences.check(client: interaction.clientID, purchase: nil, as: actor, in: session)
            let rows = try await session.pipeline([
                """
                INSERT INTO interactions AS i (id, client_id, occurred_at, channel, direction, subject, outcome, next_step,
                                               next_step_on, author)
                VALUES (\(interaction.id), \(interaction.clientID), \(interaction.occurredAt), \(interaction.channel),
                        \(interaction.direction), \(interaction.subject), \(interaction.outcome), \(interaction.nextStep),
                        \(interaction.nextStepOn), \(interaction.author))
                RETURNING \(fragment: Interaction.columns)
                """,
                AuditLog.entry(by: actor, action: "create", entity: Self.entity, id: interaction.id.auditID,
                               before: nil, after: interaction.auditSnapshot),
            ])
            return try Interaction(row: rows[0][0])
        }
    }

    public func get(_ id: UUID, as actor: Actor) async throws -> Interaction {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: Interaction.columns) FROM interactions i WHERE i.id = \(id) AND \(fragment: actor.sees(clientIn: "i.client_id"))",
        ])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try Interaction(row: row)
    }

    public func list(_ filter: Filter, as actor: Actor) async throws -> RecordPage<Interaction> {
        try actor.require(.readClients)
        let query = filter.records
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: Interaction.columns) FROM interactions i
            WHERE (\(query.clientID)::uuid IS NULL OR i.client_id = \(query.clientID))
              AND (\(query.from)::date IS NULL OR i.occurred_at >= (\(query.from)::date::timestamp AT TIME ZONE 'UTC'))
              AND (\(query.to)::date IS NULL OR i.occurred_at < ((\(query.to)::date + 1)::timestamp AT TIME ZONE 'UTC'))
              AND (\(filter.channel)::text IS NULL OR i.channel = \(filter.channel))
              AND (\(query.after)::uuid IS NULL OR i.id > \(query.after))
              AND \(fragment: actor.sees(clientIn: "i.client_id"))
            ORDER BY i.id LIMIT \(query.limit + 1)
            """,
        ])
        return RecordPage(try rows[0].map(Interaction.init(row:)), limit: query.limit, id: \.id)
    }

    public func update(_ id: UUID, _ changes: InteractionChanges, as actor: Actor, expecting: RecordPrecondition<Record>) async throws -> Interaction {
        try actor.require(.writeClients)
        return try await mappingRecordConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let current = try await session.query("""
                    SELECT \(fragment: Interaction.columns) FROM interactions i
                    WHERE i.id = \(id) AND \(fragment: actor.sees(clientIn: "i.client_id")) FOR UPDATE OF i
                    """)
                guard let row = current.first else { throw Self.notFound(id) }
                let before = try Interaction(row: row)
                try expecting(before)
                var interaction = before
                try changes.apply(to: &interaction)
                if interaction.clientID != before.clientID {
                    try await RecordReferences.check(client: interaction.clientID, purchase: nil, as: actor, in: session)
                }
                let rows = try await session.pipeline([
                    """
                    UPDATE interactions i SET client_id = \(interaction.clientID), occurred_at = \(interaction.occurredAt),
                        channel = \(interaction.channel), direction = \(interaction.direction), subject = \(interaction.subject),
                        outcome = \(interaction.outcome), next_step = \(interaction.nextStep),
                        next_step_on = \(interaction.nextStepOn), updated_at = now()
                    WHERE i.id = \(id)
                    RETURNING \(fragment: Interaction.columns)
                    """,
                    AuditLog.entry(by: actor, action: "update", entity: Self.entity, id: id.auditID,
                                   before: before.auditSnapshot, after: interaction.auditSnapshot),
                ])
                return try Interaction(row: rows[0][0])
            }
        }
    }

    public func delete(_ id: UUID, as actor: Actor, expecting: RecordPrecondition<Record>) async throws {
        try actor.require(.deleteClients)
        try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query("""
                DELETE FROM interactions i WHERE i.id = \(id) AND \(fragment: actor.sees(clientIn: "i.client_id"))
                RETURNING \(fragment: Interaction.columns)
                """)
            guard let row = rows.first else { throw Self.notFound(id) }
            try expecting(try Interaction(row: row))
            try await session.query(AuditLog.entry(
                by: actor, action: "delete", entity: Self.entity, id: id.auditID,
                before: try Interaction(row: row).auditSnapshot, after: nil))
        }
    }
}
