import Foundation
import Postgres
import Tenancy

/// Reads and writes one tenant's clients, always inside that tenant's transaction.
public struct ClientRepository: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// Creates a client, opens its category history and audits it, in one round trip.
    public func create(_ changes: ClientChanges, as actor: Actor) async throws -> Client {
        try actor.require(.writeClients)
        let client = try changes.newClient(id: UUIDv7.make(), now: Date())
        let rows = try await mappingConstraints {
            try await database.tenantTransaction(actor.scope, Self.insert(client, as: actor))
        }
        return try Client(row: rows[0][0])
    }

    /// The same, inside the caller's tenant transaction (to record something with it).
    public func create(_ changes: ClientChanges, as actor: Actor, in session: PostgresSession) async throws -> Client {
        try actor.require(.writeClients)
        let client = try changes.newClient(id: UUIDv7.make(), now: Date())
        let rows = try await mappingConstraints {
            try await session.pipeline(Self.insert(client, as: actor))
        }
        return try Client(row: rows[0][0])
    }

    /// An agent's new client is assigned to them, so they can go on seeing it.
    static func insert(_ client: Client, as actor: Actor) -> [PostgresQuery] {
        let assignee = actor.role == .agent ? actor.userID : nil
        let author = actor.label
        return [
            """
            INSERT INTO clients (id, kind, category, first_name, last_name, organisation_name, email, phone,
                                 city, postal_code, external_ref, category_reason, follow_up_on, assigned_user_id)
            VALUES (\(client.id), \(client.kind), \(client.category), \(client.firstName),
                    \(client.lastName), \(client.organisationName), \(client.email), \(client.phone),
                    \(client.city), \(client.postalCode), \(client.externalRef), \(client.categoryReason),
                    \(client.followUpOn), \(assignee))
            RETURNING \(fragment: Client.columns)
            """,
            recordChange(of: client.id, from: nil, to: client.category, reason: client.categoryReason, author: author),
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
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: Client.columns) FROM clients WHERE id = \(id) AND \(fragment: actor.access.condition())",
        ])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try Client(row: row)
    }

    public func list(_ query: ClientListQuery, as actor: Actor) async throws -> ClientPage {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: Client.columns) FROM clients
            WHERE \(fragment: actor.access.condition())
              AND (\(query.category)::text IS NULL OR category = \(query.category))
              AND (NOT \(query.dueForFollowUp)
                   OR (category = 'relative_non_consumer' AND follow_up_on <= current_date))
              AND (\(query.after)::uuid IS NULL OR id > \(query.after))
            ORDER BY id
            LIMIT \(query.limit + 1)
            """,
        ])
        var clients = try rows[0].map(Client.init(row:))
        var next: String?
        if clients.count > query.limit {
            clients.removeLast()
            next = clients.last.map { ClientCursor.encode($0.id) }
        }
        return ClientPage(items: clients, nextCursor: next)
    }

    /// Applies a PATCH: the row is locked, changed, checked against the rules, and saved.
    /// With `ifRevisionIn`, the change is refused unless the record is still at one of those
    /// revisions (If-Match).
    public func update(
        _ id: UUID, _ changes: ClientChanges, as actor: Actor, ifRevisionIn expected: Set<Int>? = nil
    ) async throws -> Client {
        try actor.require(.writeClients)
        return try await mappingConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let current = try await session.query("""
                    SELECT \(fragment: Client.columns) FROM clients
                    WHERE id = \(id) AND \(fragment: actor.access.condition()) FOR UPDATE
                    """)
                guard let row = current.first else { throw Self.notFound(id) }
                let before = try Client(row: row)
                if let expected, !expected.contains(before.revision) {
                    throw ClientBaseError(.staleRevision,
                        "the client changed since you read it (it is now at revision \(before.revision)); read it again and reapply your change")
                }
                var client = before
                try changes.apply(to: &client)
                let moved = client.category != before.category
                var statements: [PostgresQuery] = [
                    """
                    UPDATE clients SET kind = \(client.kind), category = \(client.category),
                        first_name = \(client.firstName), last_name = \(client.lastName),
                        organisation_name = \(client.organisationName), email = \(client.email),
                        phone = \(client.phone), city = \(client.city), postal_code = \(client.postalCode),
                        external_ref = \(client.externalRef), category_reason = \(client.categoryReason),
                        follow_up_on = \(client.followUpOn),
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
                return try Client(row: saved[0][0])
            }
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
        ClientBaseError(.notFound, "no client with id \(id.uuidString.lowercased())")
    }

    /// Constraint violations the rules did not catch first become the caller's error, not ours.
    private func mappingConstraints<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "clients_external_ref_key" {
            throw ClientBaseError(.conflict, "another client already has this external_ref", field: "external_ref")
        } catch let error as PostgresError where error.sqlState == .checkViolation {
            throw ClientBaseError(.invalid, "the record breaks a rule: \(error.message)")
        }
    }
}

/// Filters and page size of a client list.
public struct ClientListQuery: Sendable {
    public static let maximumLimit = 200
    public var category: Client.Category?
    /// Only relative non-consumers whose follow-up date has come.
    public var dueForFollowUp: Bool
    public var limit: Int
    public var after: UUID?

    public init(category: Client.Category? = nil, dueForFollowUp: Bool = false, limit: Int = 50, after: UUID? = nil) {
        self.category = category
        self.dueForFollowUp = dueForFollowUp
        self.limit = limit
        self.after = after
    }
}

public struct ClientPage: Sendable {
    public var items: [Client]
    /// The cursor of the next page; nil on the last one.
    public var nextCursor: String?
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

/// An opaque cursor: the last id of the page, so pages stay stable while clients are added.
public enum ClientCursor {
    public static func encode(_ id: UUID) -> String {
        Data(id.uuidString.lowercased().utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ cursor: String) -> UUID? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard cursor.count <= 64, let data = Data(base64Encoded: base64) else { return nil }
        return UUID(uuidString: String(decoding: data, as: UTF8.self))
    }
}

extension UUID {
    /// How ids are written in the audit log and in JSON: lowercase.
    public var auditID: String { uuidString.lowercased() }
}
