import Foundation
import Postgres
import Tenancy

/// Reads and writes one tenant's clients, always inside that tenant's transaction.
public struct ClientRepository: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// Creates a client, opens its category history and audits it. Refused (409, with the
    /// matching ids) when another client has the same email, phone or SIREN, unless
    /// `allowDuplicate`. A record with none of those nor custom fields takes one round trip.
    public func create(_ changes: ClientChanges, as actor: Actor, allowDuplicate: Bool = false) async throws -> Client {
        try actor.require(.writeClients)
        return try await mappingConstraints {
            if !changes.needsCustomFieldDefinitions, !changes.carriesIdentifiers {
                let client = try Self.assigning(try changes.newClient(id: UUIDv7.make(), now: Date()), as: actor)
                return try Client(row: try await database.tenantTransaction(actor.scope, Self.insert(client, as: actor))[0][0])
            }
            return try await database.withTenantTransaction(actor.scope) { session in
                try await create(changes, as: actor, allowDuplicate: allowDuplicate, in: session)
            }
        }
    }

    /// The same, inside the caller's tenant transaction (to record something with it).
    public func create(
        _ changes: ClientChanges, as actor: Actor, allowDuplicate: Bool = false, in session: PostgresSession
    ) async throws -> Client {
        try actor.require(.writeClients)
        return try await mappingConstraints {
            let definitions = changes.needsCustomFieldDefinitions ? try await CustomFieldRepository.definitions(in: session) : []
            let client = try Self.assigning(try changes.newClient(id: UUIDv7.make(), now: Date(), definitions: definitions), as: actor)
            if !allowDuplicate {
                if let duplicates = try await DuplicateClients.sameIdentifiers(as: client, as: actor, in: session) {
                    throw duplicates
                }
            }
            return try Client(row: try await session.pipeline(Self.insert(client, as: actor))[0][0])
        }
    }

    /// An agent's new client is assigned to them, so they can go on seeing it; only roles above
    /// agent choose the assignee.
    static func assigning(_ client: Client, as actor: Actor) throws -> Client {
        guard actor.role == .agent else { return client }
        if let assignee = client.assignedUserID, assignee != actor.userID {
            throw Self.assignmentForbidden
        }
        var client = client
        client.assignedUserID = actor.userID
        return client
    }

    static let assignmentForbidden = ClientBaseError(
        .forbidden, "the role 'agent' may not assign clients; a manager, admin or owner does", field: "assigned_user_id")

    static func insert(_ client: Client, as actor: Actor) -> [PostgresQuery] {
        [
            """
            INSERT INTO clients (id, \(fragment: Client.writtenColumns))
            VALUES (\(client.id), \(fragment: client.writtenValues))
            RETURNING \(fragment: Client.columns)
            """,
            recordChange(of: client.id, from: nil, to: client.category, reason: client.categoryReason, author: actor.label),
            AuditLog.entry(by: actor, action: "create", entity: "client", id: client.id.auditID,
                           before: nil, after: client.auditSnapshot),
        ]
    }

    static func recordChange(
        of id: UUID, from: Client.Category?, to: Client.Category, reason: String?, author: String
    ) -> PostgresQuery {
        """
        INSERT INTO category_changes (client_id, from_category, to_category, reason, author)
        VALUES (\(id), \(from), \(to), \(reason), \(author))
        """
    }

    /// Every category the client has had, newest first.
    public func categoryHistory(of id: UUID, as actor: Actor) async throws -> [CategoryChange] {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT 1 FROM clients WHERE id = \(id) AND \(fragment: actor.access.condition())",
            """
            SELECT from_category, to_category, reason, author, changed_at FROM category_changes
            WHERE client_id = \(id) ORDER BY id DESC
            """,
        ])
        guard !rows[0].isEmpty else { throw Self.notFound(id) }
        return try rows[1].map {
            CategoryChange(from: try $0.decode(at: 0), to: try $0.decode(at: 1), reason: try $0.decode(at: 2),
                           author: try $0.decode(at: 3), changedAt: try $0.decode(at: 4))
        }
    }

    /// One round trip: BEGIN, the tenant's role and path, the SELECT, COMMIT.
    public func get(_ id: UUID, as actor: Actor) async throws -> Client {
        try actor.require(.readClients)
        let lookup: PostgresQuery =
            "SELECT \(fragment: Client.columns) FROM clients WHERE id = \(id) AND \(fragment: actor.access.condition())"
        let rows = try await database.tenantTransaction(actor.scope, [lookup.prepared()])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try Client(row: row)
    }

    /// Applies a PATCH: the row is locked, changed, checked against the rules, and saved.
    /// With `ifRevisionIn`, the change is refused unless the record is still at one of those
    /// revisions (If-Match). A change that gives the client another client's email, phone or
    /// SIREN is refused like a creation would be, unless `allowDuplicate`.
    public func update(
        _ id: UUID, _ changes: ClientChanges, as actor: Actor, ifRevisionIn expected: Set<Int>? = nil,
        allowDuplicate: Bool = false
    ) async throws -> Client {
        try actor.require(.writeClients)
        return try await mappingConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                try await update(id, changes, as: actor, ifRevisionIn: expected, allowDuplicate: allowDuplicate, in: session)
            }
        }
    }

    /// The same, inside the caller's tenant transaction (a churn alert marked lost makes its
    /// client a former client in the alert's transaction).
    public func update(
        _ id: UUID, _ changes: ClientChanges, as actor: Actor, ifRevisionIn expected: Set<Int>? = nil,
        allowDuplicate: Bool = false, in session: PostgresSession
    ) async throws -> Client {
        try actor.require(.writeClients)
        return try await mappingConstraints {
            let locked: PostgresQuery = """
                SELECT \(fragment: Client.columns) FROM clients
                WHERE id = \(id) AND \(fragment: actor.access.condition()) FOR UPDATE
                """
            let found = try await session.pipeline(
                changes.needsCustomFieldDefinitions ? [locked, CustomFieldRepository.selectAll] : [locked])
            guard let row = found[0].first else { throw Self.notFound(id) }
            let definitions = found.count > 1 ? try found[1].map(CustomField.init(row:)) : []
            let before = try Client(row: row)
            if let expected, !expected.contains(before.revision) {
                throw ClientBaseError(.staleRevision,
                    "the client changed since you read it (it is now at revision \(before.revision)); read it again and reapply your change")
            }
            var client = before
            try changes.apply(to: &client, now: Date(), definitions: definitions)
            if actor.role == .agent, client.assignedUserID != before.assignedUserID {
                throw Self.assignmentForbidden
            }
            let newIdentifiers = client.email != before.email || client.phone != before.phone || client.siren != before.siren
            if newIdentifiers, !allowDuplicate,
               let duplicates = try await DuplicateClients.sameIdentifiers(as: client, as: actor, in: session) {
                throw duplicates
            }
            let moved = client.category != before.category
            var statements: [PostgresQuery] = [
                """
                UPDATE clients SET (\(fragment: Client.writtenColumns)) = ROW(\(fragment: client.writtenValues)),
                    category_since = CASE WHEN \(moved) THEN now() ELSE category_since END,
                    revision = revision + 1, updated_at = now()
                WHERE id = \(id)
                RETURNING \(fragment: Client.columns)
                """,
            ]
            if moved {
                statements.append(Self.recordChange(
                    of: id, from: before.category, to: client.category, reason: client.categoryReason, author: actor.label))
            }
            statements.append(AuditLog.entry(by: actor, action: "update", entity: "client", id: id.auditID,
                                              before: before.auditSnapshot, after: client.auditSnapshot))
            let saved = try await session.pipeline(statements)
            if moved, client.category == .formerClient {
                // The exit survey, only if this change commits.
                try await TenantJobs.clientLeft(id, in: session)
            }
            return try Client(row: saved[0][0])
        }
    }

    /// Deletes a client and what hangs off it; the audit log keeps its last values.
    public func delete(_ id: UUID, as actor: Actor) async throws {
        try actor.require(.deleteClients)
        try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query("DELETE FROM clients WHERE id = \(id) RETURNING \(fragment: Client.columns)")
            guard let row = rows.first else { throw Self.notFound(id) }
            _ = try await session.query(AuditLog.entry(
                by: actor, action: "delete", entity: "client", id: id.auditID, before: try Client(row: row).auditSnapshot, after: nil))
        }
    }

    public func count(in scope: TenantScope) async throws -> Int {
        try await database.tenantTransaction(scope, ["SELECT count(*) FROM clients"])[0][0].decode(Int.self, at: 0)
    }

    static func notFound(_ id: UUID) -> ClientBaseError {
        ClientBaseError(.notFound, "no client with id \(id.lowercaseText)")
    }

    /// Constraint violations the rules did not catch first become the caller's error, not ours.
    func mappingConstraints<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "clients_external_ref_key" {
            throw ClientBaseError(.conflict, "another client already has this external_ref", field: "external_ref")
        } catch let error as PostgresError where error.sqlState == .checkViolation {
            throw ClientBaseError(.invalid, "the record breaks a rule: \(error.message)")
        }
    }
}

/// One change of a client's category.
public struct CategoryChange: Sendable, Hashable {
    public var from: Client.Category?
    public var to: Client.Category
    public var reason: String?
    /// Who made it: `user:<id>`, `api-key:<key id>`, or `migration`.
    public var author: String
    public var changedAt: Date
}

extension UUID {
    /// How ids are written in the audit log and in JSON: lowercase.
    public var auditID: String { lowercaseText }
}

extension ClientChanges {
    /// Whether the request sets an email, phone or SIREN, the identifiers duplicates share.
    var carriesIdentifiers: Bool {
        [email, phone, siren].contains { if case .set = $0 { true } else { false } }
    }
}
