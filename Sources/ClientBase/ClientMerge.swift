import Foundation
import Postgres

/// What a merge did.
public struct ClientMergeOutcome: Sendable {
    /// The surviving record, with the duplicate's fields filled in.
    public var client: Client
    /// Rows of other tables (history, purchases, interactions...) moved to the survivor.
    public var movedRows: Int
    /// Rows that could not move without breaking a unique constraint, so were deleted.
    public var droppedRows: Int
}

extension ClientRepository {
    /// Merges `duplicateID` into `survivorID`: the survivor's empty fields are filled from the
    /// duplicate, lists are unioned, every row of every tenant table whose foreign key points at
    /// the duplicate is re-pointed to the survivor (found in the catalogue, so tables added
    /// later are covered), then the duplicate is deleted. A row whose move would break a unique
    /// constraint (the survivor already has its twin) is deleted instead. Audited on both ids.
    public func merge(
        _ duplicateID: UUID, into survivorID: UUID, as actor: Actor,
        ifRevisionIn expected: Set<Int>? = nil, duplicateRevision: Int? = nil
    ) async throws -> ClientMergeOutcome {
        try actor.require(.deleteClients)
        guard duplicateID != survivorID else {
            throw ClientBaseError(.invalid, "a client cannot be merged into itself", field: "duplicate_id")
        }
        return try await mappingConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let found = try await session.pipeline([
                    // Locked in id order, so two merges of the same pair cannot deadlock.
                    """
                    SELECT \(fragment: Client.columns) FROM clients
                    WHERE id IN (\(survivorID), \(duplicateID)) AND \(fragment: actor.access.condition())
                    ORDER BY id FOR UPDATE
                    """,
                    Self.referencingColumns,
                ])
                let clients = try found[0].map(Client.init(row:))
                guard let survivor = clients.first(where: { $0.id == survivorID }) else { throw Self.notFound(survivorID) }
                guard let duplicate = clients.first(where: { $0.id == duplicateID }) else {
                    throw ClientBaseError(.notFound, "no client with id \(duplicateID.auditID)", field: "duplicate_id")
                }
                if let expected, !expected.contains(survivor.revision) {
                    throw ClientBaseError(.staleRevision,
                        "the client changed since you read it (it is now at revision \(survivor.revision)); read it again")
                }
                if let duplicateRevision, duplicateRevision != duplicate.revision {
                    throw ClientBaseError(.staleRevision,
                        "the duplicate changed since you read it (it is now at revision \(duplicate.revision)); read it again")
                }
                var merged = survivor.filled(from: duplicate)
                try ClientRules.validate(merged)

                var moved = 0, dropped = 0
                for row in found[1] {
                    let table = "\(quoteIdentifier(try row.decode(String.self, at: 0))).\(quoteIdentifier(try row.decode(String.self, at: 1)))"
                    let column = quoteIdentifier(try row.decode(String.self, at: 2))
                    let outcome = try await Self.repoint(table: table, column: column, from: duplicateID, to: survivorID, in: session)
                    moved += outcome.moved
                    dropped += outcome.dropped
                }
                merged.lastPurchaseOn = [survivor.lastPurchaseOn, duplicate.lastPurchaseOn].compactMap { $0 }.max()
                let note = "merged with client \(duplicateID.auditID) (\(duplicate.category.rawValue))"
                let saved = try await session.pipeline([
                    "DELETE FROM clients WHERE id = \(duplicateID)",
                    """
                    UPDATE clients SET (\(fragment: Client.writtenColumns)) = ROW(\(fragment: merged.writtenValues)),
                        last_purchase_on = \(merged.lastPurchaseOn), revision = revision + 1, updated_at = now()
                    WHERE id = \(survivorID)
                    RETURNING \(fragment: Client.columns)
                    """,
                    Self.recordChange(of: survivorID, from: survivor.category, to: survivor.category,
                                      reason: note, author: actor.label),
                    AuditLog.entry(by: actor, action: "merge", entity: "client", id: survivorID.auditID,
                                   before: survivor.auditSnapshot.merging(["merged_from": .null]) { $1 },
                                   after: merged.auditSnapshot.merging([
                                       "merged_from": .text(duplicateID.auditID),
                                       "merge.moved_rows": .integer(moved), "merge.dropped_rows": .integer(dropped),
                                   ]) { $1 }),
                    AuditLog.entry(by: actor, action: "merge", entity: "client", id: duplicateID.auditID,
                                   before: duplicate.auditSnapshot, after: ["merged_into": .text(survivorID.auditID)]),
                ])
                return ClientMergeOutcome(client: try Client(row: saved[1][0]), movedRows: moved, droppedRows: dropped)
            }
        }
    }

    /// Every single-column foreign key of the tenant's tables that references `clients`:
    /// schema, table and column, read from the catalogue.
    static let referencingColumns: PostgresQuery = """
        SELECT n.nspname::text, t.relname::text, a.attname::text
        FROM pg_constraint k
        JOIN pg_class t ON t.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.contype = 'f' AND k.confrelid = 'clients'::regclass AND cardinality(k.conkey) = 1
        ORDER BY t.relname, a.attname
        """

    /// Moves a table's rows from one client to the other: all at once, or, when that breaks a
    /// unique (or check) constraint, row by row, deleting the rows that cannot move.
    /// `table` and `column` are quoted identifiers from the catalogue.
    private static func repoint(
        table: String, column: String, from duplicate: UUID, to survivor: UUID, in session: PostgresSession
    ) async throws -> (moved: Int, dropped: Int) {
        let update: PostgresQuery = "UPDATE \(unescaped: table) SET \(unescaped: column) = \(survivor) WHERE \(unescaped: column) = \(duplicate)"
        if let moved = try await attempt(update, in: session) { return (moved, 0) }
        let rows = try await session.query("SELECT ctid::text FROM \(unescaped: table) WHERE \(unescaped: column) = \(duplicate)")
        var moved = 0, dropped = 0
        for row in rows {
            let position = try row.decode(String.self, at: 0)
            let one: PostgresQuery = "UPDATE \(unescaped: table) SET \(unescaped: column) = \(survivor) WHERE ctid = \(position)::tid"
            if let count = try await attempt(one, in: session) {
                moved += count
            } else {
                dropped += try await session.query("DELETE FROM \(unescaped: table) WHERE ctid = \(position)::tid").affectedRows
            }
        }
        return (moved, dropped)
    }

    /// Runs a statement under a savepoint: its row count, or nil (and nothing done) when it
    /// broke a unique, exclusion or check constraint.
    private static func attempt(_ statement: PostgresQuery, in session: PostgresSession) async throws -> Int? {
        try await session.query("SAVEPOINT merge_move")
        do {
            let count = try await session.query(statement).affectedRows
            try await session.query("RELEASE SAVEPOINT merge_move")
            return count
        } catch let error as PostgresError
            where [.uniqueViolation, .exclusionViolation, .checkViolation].contains(error.sqlState) {
            try await session.query("ROLLBACK TO SAVEPOINT merge_move")
            return nil
        }
    }
}

extension Client {
    /// This record with its empty fields filled from `other`: identity, qualification of its
    /// own kind, lists unioned, custom fields it lacks, a consent it never recorded, the
    /// earliest first purchase. Its category (and what goes with it) stays its own.
    func filled(from other: Client) -> Client {
        var merged = self
        func fill<T>(_ path: WritableKeyPath<Client, T?>) {
            if merged[keyPath: path] == nil { merged[keyPath: path] = other[keyPath: path] }
        }
        fill(\.firstName); fill(\.lastName); fill(\.organisationName); fill(\.email); fill(\.phone)
        fill(\.city); fill(\.postalCode); fill(\.externalRef); fill(\.addressLine1); fill(\.addressLine2)
        fill(\.website); fill(\.notes); fill(\.acquisitionChannel); fill(\.acquisitionCost); fill(\.assignedUserID)
        if kind == .individual {
            fill(\.birthDate); fill(\.maritalStatus); fill(\.childrenCount); fill(\.housing); fill(\.occupation)
            fill(\.incomeBracket)
        } else {
            fill(\.tradeName); fill(\.activity); fill(\.siren); fill(\.sector); fill(\.headcount); fill(\.legalForm)
            fill(\.revenue); fill(\.establishmentsCount)
        }
        if category == .prospect { fill(\.purchaseStage) }
        merged.firstPurchaseOn = [firstPurchaseOn, other.firstPurchaseOn].compactMap { $0 }.min()
        func union<T: Equatable>(_ mine: [T], _ theirs: [T]) -> [T] { mine + theirs.filter { !mine.contains($0) } }
        merged.tags = Array(union(tags, other.tags).prefix(ClientRules.maximumTags))
        merged.needs = union(needs, other.needs)
        merged.motivations = union(motivations, other.motivations)
        merged.brakes = union(brakes, other.brakes)
        merged.objections = union(objections, other.objections)
        merged.customFields = other.customFields.merging(customFields) { _, mine in mine }
        if consentSurveys.at == nil { merged.consentSurveys = other.consentSurveys }
        if consentMarketing.at == nil { merged.consentMarketing = other.consentMarketing }
        return merged
    }
}

/// The body of `POST /v1/clients/{id}/merge`: which client to merge in, and optionally the
/// revision it was read at (the survivor's goes in If-Match).
public struct ClientMergeRequest: Sendable, Decodable {
    public var duplicateID: UUID
    public var duplicateRevision: Int?

    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<AnyKey>
        do {
            container = try decoder.container(keyedBy: AnyKey.self)
        } catch {
            throw ClientBaseError(.invalid, "the body must be a JSON object")
        }
        for key in container.allKeys where !["duplicate_id", "duplicate_revision"].contains(key.stringValue) {
            throw ClientBaseError(.invalid, "unknown field '\(key.stringValue)'", field: key.stringValue)
        }
        guard let text = try? container.decode(String.self, forKey: AnyKey("duplicate_id")), let id = UUID(uuidString: text) else {
            throw ClientBaseError(.invalid, "field 'duplicate_id' is required: the id of the client to merge into this one",
                                  field: "duplicate_id")
        }
        duplicateID = id
        if container.contains(AnyKey("duplicate_revision")) {
            guard let revision = try? container.decode(Int.self, forKey: AnyKey("duplicate_revision")) else {
                throw ClientBaseError(.invalid, "field 'duplicate_revision' must be a whole number (the duplicate's ETag)",
                                      field: "duplicate_revision")
            }
            duplicateRevision = revision
        }
    }
}
