import Foundation
import Postgres

/// A field value as the audit log keeps it: JSON scalars and lists, enough for every field of
/// a record (dates and enums as text).
public enum AuditValue: Sendable, Hashable, Encodable {
    case null
    case text(String)
    case integer(Int)
    case decimal(Decimal)
    case bool(Bool)
    case list([AuditValue])

    public init<T: AuditValueConvertible>(_ value: T?) {
        self = value?.auditValue ?? .null
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .text(let text): try container.encode(text)
        case .integer(let number): try container.encode(number)
        case .decimal(let number): try container.encode(number)
        case .bool(let flag): try container.encode(flag)
        case .list(let values): try container.encode(values)
        }
    }
}

public protocol AuditValueConvertible { var auditValue: AuditValue { get } }
extension String: AuditValueConvertible { public var auditValue: AuditValue { .text(self) } }
extension Int: AuditValueConvertible { public var auditValue: AuditValue { .integer(self) } }
extension Decimal: AuditValueConvertible { public var auditValue: AuditValue { .decimal(self) } }
extension Bool: AuditValueConvertible { public var auditValue: AuditValue { .bool(self) } }
extension UUID: AuditValueConvertible { public var auditValue: AuditValue { .text(lowercaseText) } }
extension PostgresDate: AuditValueConvertible { public var auditValue: AuditValue { .text(description) } }
extension Array: AuditValueConvertible where Element: AuditValueConvertible {
    public var auditValue: AuditValue { .list(map(\.auditValue)) }
}
extension RawRepresentable where RawValue == String {
    public var auditValue: AuditValue { .text(rawValue) }
}

/// A record's audited fields, by their JSON name.
public typealias AuditSnapshot = [String: AuditValue]

/// The tenant's audit log: written in the same transaction as the change it describes, read by
/// owners and admins, never edited through the API.
public enum AuditLog {
    struct FieldChange: Encodable {
        var before: AuditValue
        var after: AuditValue
    }

    /// The statement that records one action. Only fields whose value differs are kept;
    /// `before` is nil for a creation and `after` nil for a deletion.
    public static func entry(
        by actor: Actor, action: String, entity: String, id: String, before: AuditSnapshot?, after: AuditSnapshot?
    ) -> PostgresQuery {
        var changes: [String: FieldChange] = [:]
        for field in Set((before ?? [:]).keys).union((after ?? [:]).keys) {
            let old = before?[field] ?? .null, new = after?[field] ?? .null
            if old != new { changes[field] = FieldChange(before: old, after: new) }
        }
        return """
            INSERT INTO audit_log (actor, action, entity, entity_id, changes)
            VALUES (\(actor.label), \(action), \(entity), \(id), \(PostgresJSON(changes)))
            """
    }

    /// Entries, newest first, optionally for one record.
    public static func read(
        entity: String? = nil, id: String? = nil, before cursor: Int64? = nil, limit: Int, as actor: Actor, database: PostgresClient
    ) async throws -> [AuditEntry] {
        try actor.require(.readAudit)
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT id, at, actor, action, entity, entity_id, changes::text FROM audit_log
            WHERE (\(entity)::text IS NULL OR entity = \(entity))
              AND (\(id)::text IS NULL OR entity_id = \(id))
              AND (\(cursor)::bigint IS NULL OR id < \(cursor))
            ORDER BY id DESC LIMIT \(limit)
            """,
        ])
        return try rows[0].map {
            AuditEntry(id: try $0.decode(at: 0), at: try $0.decode(at: 1), actor: try $0.decode(at: 2),
                       action: try $0.decode(at: 3), entity: try $0.decode(at: 4), entityID: try $0.decode(at: 5),
                       changesJSON: try $0.decode(at: 6))
        }
    }
}

public struct AuditEntry: Sendable, Hashable {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var entity: String
    public var entityID: String
    /// `{"field": {"before": ..., "after": ...}}` as stored.
    public var changesJSON: String
}
