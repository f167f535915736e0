import Foundation
import Postgres

/// A tenant's custom-field definitions: read by every role, defined and changed by the roles
/// that may delete clients (owner, admin, manager), each change audited.
public struct CustomFieldRepository: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    static let selectAll: PostgresQuery = "SELECT \(fragment: CustomField.columns) FROM custom_fields ORDER BY key"

    static func definitions(in session: PostgresSession) async throws -> [CustomField] {
        try await session.query(selectAll).map(CustomField.init(row:))
    }

    public func list(as actor: Actor) async throws -> [CustomField] {
        try actor.require(.readClients)
        return try await database.tenantTransaction(actor.scope, [Self.selectAll])[0].map(CustomField.init(row:))
    }

    public func get(_ key: String, as actor: Actor) async throws -> CustomField {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: CustomField.columns) FROM custom_fields WHERE key = \(key)",
        ])
        guard let row = rows[0].first else { throw Self.notFound(key) }
        return try CustomField(row: row)
    }

    public func create(_ changes: CustomFieldChanges, as actor: Actor) async throws -> CustomField {
        try actor.require(.deleteClients)
        guard let key = changes.key, Self.isValidKey(key) else {
            throw ClientBaseError(.invalid,
                "field 'key' is required: 1 to 40 lowercase letters, digits and underscores, starting with a letter", field: "key")
        }
        guard let type = changes.type else {
            let allowed = CustomField.FieldType.allCases.map(\.rawValue).joined(separator: ", ")
            throw ClientBaseError(.invalid, "field 'type' is required (\(allowed))", field: "type")
        }
        let label = try Self.checkedLabel(changes.label ?? "")
        let choices = try Self.checkedChoices(changes.choices ?? [], type: type)
        return try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.pipeline([
                "SELECT count(*) FROM custom_fields",
                """
                INSERT INTO custom_fields (key, label, type, choices) VALUES (\(key), \(label), \(type), \(choices))
                ON CONFLICT (key) DO NOTHING
                RETURNING \(fragment: CustomField.columns)
                """,
            ])
            guard try rows[0][0].decode(Int.self, at: 0) < CustomField.maximumCount else {
                throw ClientBaseError(.conflict, "a business may define at most \(CustomField.maximumCount) custom fields")
            }
            guard let row = rows[1].first else {
                throw ClientBaseError(.conflict, "a custom field '\(key)' already exists", field: "key")
            }
            let field = try CustomField(row: row)
            try await session.query(AuditLog.entry(by: actor, action: "create", entity: "custom_field", id: key,
                                                   before: nil, after: field.auditSnapshot))
            return field
        }
    }

    /// Changes the label or the choices; the key and type stay. A choice some client holds
    /// cannot be taken away (409).
    public func update(_ key: String, _ changes: CustomFieldChanges, as actor: Actor) async throws -> CustomField {
        try actor.require(.deleteClients)
        if changes.key != nil { throw ClientBaseError(.invalid, "field 'key' cannot be changed", field: "key") }
        if changes.type != nil { throw ClientBaseError(.invalid, "field 'type' cannot be changed; define a new field", field: "type") }
        return try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query(
                "SELECT \(fragment: CustomField.columns) FROM custom_fields WHERE key = \(key) FOR UPDATE")
            guard let row = rows.first else { throw Self.notFound(key) }
            let before = try CustomField(row: row)
            var field = before
            if let label = changes.label { field.label = try Self.checkedLabel(label) }
            if let choices = changes.choices {
                field.choices = try Self.checkedChoices(choices, type: field.type)
                let removed = before.choices.filter { !field.choices.contains($0) }
                if !removed.isEmpty {
                    let used = try await session.query("""
                        SELECT count(*) FROM clients WHERE custom_fields ->> \(key) = ANY(\(removed))
                        """)[0].decode(Int.self, at: 0)
                    if used > 0 {
                        throw ClientBaseError(.conflict,
                            "\(used) client(s) hold a choice you are removing; change their value first", field: "choices")
                    }
                }
            }
            let saved = try await session.pipeline([
                """
                UPDATE custom_fields SET label = \(field.label), choices = \(field.choices), updated_at = now()
                WHERE key = \(key) RETURNING \(fragment: CustomField.columns)
                """,
                AuditLog.entry(by: actor, action: "update", entity: "custom_field", id: key,
                               before: before.auditSnapshot, after: field.auditSnapshot),
            ])
            return try CustomField(row: saved[0][0])
        }
    }

    /// Removes a definition no client uses (409 otherwise: clear their values first).
    public func delete(_ key: String, as actor: Actor) async throws {
        try actor.require(.deleteClients)
        try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.pipeline([
                "SELECT count(*) FROM clients WHERE custom_fields ? \(key)",
                "SELECT \(fragment: CustomField.columns) FROM custom_fields WHERE key = \(key) FOR UPDATE",
            ])
            guard let row = rows[1].first else { throw Self.notFound(key) }
            let used = try rows[0][0].decode(Int.self, at: 0)
            if used > 0 {
                throw ClientBaseError(.conflict, "\(used) client(s) hold a value for '\(key)'; clear them first")
            }
            _ = try await session.pipeline([
                "DELETE FROM custom_fields WHERE key = \(key)",
                AuditLog.entry(by: actor, action: "delete", entity: "custom_field", id: key,
                               before: try CustomField(row: row).auditSnapshot, after: nil),
            ])
        }
    }

    static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, ("a"..."z").contains(first), key.unicodeScalars.count <= 40 else { return false }
        return key.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    static func checkedLabel(_ label: String) throws -> String {
        guard !label.isEmpty, label.count <= 100 else {
            throw ClientBaseError(.invalid, "field 'label' is required, at most 100 characters", field: "label")
        }
        return label
    }

    static func checkedChoices(_ choices: [String], type: CustomField.FieldType) throws -> [String] {
        guard type == .choice else {
            if choices.isEmpty { return [] }
            throw ClientBaseError(.invalid, "choices apply to a field of type choice only", field: "choices")
        }
        guard !choices.isEmpty, choices.count <= 100, Set(choices).count == choices.count,
              choices.allSatisfy({ !$0.isEmpty && $0.count <= 100 })
        else {
            throw ClientBaseError(.invalid, "a choice field needs 1 to 100 distinct choices of 1 to 100 characters", field: "choices")
        }
        return choices
    }

    static func notFound(_ key: String) -> ClientBaseError {
        ClientBaseError(.notFound, "no custom field '\(key.prefix(50))'")
    }
}

extension CustomField {
    var auditSnapshot: AuditSnapshot {
        ["key": .text(key), "label": .text(label), "type": type.auditValue, "choices": choices.auditValue]
    }
}
