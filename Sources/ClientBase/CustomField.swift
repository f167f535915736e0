import Foundation
import Postgres

/// A field a tenant adds to its client records (a shoe size, a vehicle plate, a diet): its
/// key, label and type. A client's `custom_fields` object is checked against these.
public struct CustomField: Sendable, Hashable {
    public enum FieldType: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case text, number, date, boolean, choice
    }

    public var id: Int64
    public var key: String
    public var label: String
    public var type: FieldType
    /// The allowed values of a `choice` field; empty for the other types.
    public var choices: [String]
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: PostgresQuery = "id, key, label, type, choices, created_at, updated_at"

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        key = try row.decode(at: 1)
        label = try row.decode(at: 2)
        type = try row.decode(at: 3)
        choices = try row.decode(at: 4)
        createdAt = try row.decode(at: 5)
        updatedAt = try row.decode(at: 6)
    }

    /// The value a client may hold for this field, or a 422 naming `custom_fields.<key>`.
    func check(_ input: CustomFieldInput) throws -> CustomFieldValue {
        let field = "custom_fields.\(key)"
        func refuse(_ expected: String) -> ClientBaseError {
            ClientBaseError(.invalid, "\(field) must be \(expected)", field: field)
        }
        switch (type, input) {
        case (.text, .string(let text)):
            guard text.count <= CustomField.maximumTextLength else { throw refuse("at most \(CustomField.maximumTextLength) characters") }
            return .text(text)
        case (.number, .number(let number)):
            return .number(number)
        case (.date, .string(let text)):
            guard PostgresDate(text) != nil else { throw refuse("a date as YYYY-MM-DD") }
            return .text(text)
        case (.boolean, .bool(let flag)):
            return .bool(flag)
        case (.choice, .string(let text)):
            guard choices.contains(text) else { throw refuse("one of: \(choices.joined(separator: ", "))") }
            return .text(text)
        case (.text, _): throw refuse("a string")
        case (.number, _): throw refuse("a number")
        case (.date, _): throw refuse("a date as YYYY-MM-DD")
        case (.boolean, _): throw refuse("true or false")
        case (.choice, _): throw refuse("one of: \(choices.joined(separator: ", "))")
        }
    }

    public static let maximumTextLength = 1000
    public static let maximumCount = 100
}

/// A custom field's value as stored in the client's jsonb: dates and choices are strings.
public enum CustomFieldValue: Sendable, Hashable, Codable {
    case text(String)
    case number(Decimal)
    case bool(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Decimal.self) {
            self = .number(number)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        case .bool(let flag): try container.encode(flag)
        }
    }

    var auditValue: AuditValue {
        switch self {
        case .text(let text): .text(text)
        case .number(let number): .decimal(number)
        case .bool(let flag): .bool(flag)
        }
    }
}

/// A custom field's value as a request sent it, before it is checked against its definition.
public enum CustomFieldInput: Sendable, Hashable, Decodable {
    case null
    case string(String)
    case number(Decimal)
    case bool(Bool)
    /// An array or object: never a valid value.
    case other

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Decimal.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else {
            self = .other
        }
    }
}

/// The changes of a custom-field definition (POST and PATCH /v1/custom-fields).
public struct CustomFieldChanges: Sendable, Hashable, Decodable {
    public var key: String?
    public var label: String?
    public var type: CustomField.FieldType?
    public var choices: [String]?

    public init(key: String? = nil, label: String? = nil, type: CustomField.FieldType? = nil, choices: [String]? = nil) {
        self.key = key
        self.label = label
        self.type = type
        self.choices = choices
    }

    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<AnyKey>
        do {
            container = try decoder.container(keyedBy: AnyKey.self)
        } catch {
            throw ClientBaseError(.invalid, "the body must be a JSON object")
        }
        for key in container.allKeys where !["key", "label", "type", "choices"].contains(key.stringValue) {
            throw ClientBaseError(.invalid, "unknown field '\(key.stringValue)'", field: key.stringValue)
        }
        func text(_ name: String) throws -> String? {
            guard container.contains(AnyKey(name)) else { return nil }
            guard let value = try? container.decode(String.self, forKey: AnyKey(name)) else {
                throw ClientBaseError(.invalid, "field '\(name)' must be a string", field: name)
            }
            return value.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        key = try text("key")
        label = try text("label")
        if let typeName = try text("type") {
            guard let value = CustomField.FieldType(rawValue: typeName) else {
                let allowed = CustomField.FieldType.allCases.map(\.rawValue).joined(separator: ", ")
                throw ClientBaseError(.invalid, "field 'type' must be one of: \(allowed)", field: "type")
            }
            type = value
        }
        if container.contains(AnyKey("choices")) {
            guard let values = try? container.decode([String].self, forKey: AnyKey("choices")) else {
                throw ClientBaseError(.invalid, "field 'choices' must be an array of strings", field: "choices")
            }
            choices = values.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
    }
}
