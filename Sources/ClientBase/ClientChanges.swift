import Foundation
import Postgres

/// A field of a change request: left out, set to null, or set to a value. PATCH needs the
/// three apart: leaving `email` out keeps it, `"email": null` clears it.
public enum FieldChange<Value: Sendable & Hashable>: Sendable, Hashable {
    case unchanged
    case cleared
    case set(Value)
}

/// The writable fields of a client, as a create (POST) or update (PATCH) body carries them.
/// Decoding is strict: unknown fields, wrong types and unknown enum values are refused with a
/// message naming the field.
public struct ClientChanges: Sendable, Hashable, Decodable {
    public var kind: FieldChange<Client.Kind> = .unchanged
    public var category: FieldChange<Client.Category> = .unchanged
    public var firstName: FieldChange<String> = .unchanged
    public var lastName: FieldChange<String> = .unchanged
    public var organisationName: FieldChange<String> = .unchanged
    public var email: FieldChange<String> = .unchanged
    public var phone: FieldChange<String> = .unchanged
    public var city: FieldChange<String> = .unchanged
    public var postalCode: FieldChange<String> = .unchanged
    public var externalRef: FieldChange<String> = .unchanged
    public var categoryReason: FieldChange<String> = .unchanged
    public var followUpOn: FieldChange<PostgresDate> = .unchanged

    public init() {}

    typealias Keys = Client.Field
    static let writable: [Keys] = [
        .kind, .category, .firstName, .lastName, .organisationName, .email, .phone, .city, .postalCode, .externalRef,
        .categoryReason, .followUpOn,
    ]

    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<AnyKey>
        do {
            container = try decoder.container(keyedBy: AnyKey.self)
        } catch {
            throw ClientBaseError(.invalid, "the body must be a JSON object")
        }
        for key in container.allKeys where Keys(rawValue: key.stringValue).map(Self.writable.contains) != true {
            let readOnly = Keys(rawValue: key.stringValue) != nil
            throw ClientBaseError(.invalid,
                readOnly ? "field '\(key.stringValue)' is read-only" : "unknown field '\(key.stringValue)'",
                field: key.stringValue)
        }
        kind = try Self.decodeEnum(container, .kind)
        category = try Self.decodeEnum(container, .category)
        firstName = try Self.decodeText(container, .firstName)
        lastName = try Self.decodeText(container, .lastName)
        organisationName = try Self.decodeText(container, .organisationName)
        email = try Self.decodeText(container, .email)
        phone = try Self.decodeText(container, .phone)
        city = try Self.decodeText(container, .city)
        postalCode = try Self.decodeText(container, .postalCode)
        externalRef = try Self.decodeText(container, .externalRef)
        categoryReason = try Self.decodeText(container, .categoryReason)
        followUpOn = try Self.decodeDate(container, .followUpOn)
    }

    private static func decodeDate(_ container: KeyedDecodingContainer<AnyKey>, _ key: Keys) throws -> FieldChange<PostgresDate> {
        switch try decodeText(container, key) {
        case .unchanged: return .unchanged
        case .cleared: return .cleared
        case .set(let text):
            guard let date = PostgresDate(text) else {
                throw ClientBaseError(.invalid, "field '\(key.rawValue)' must be a date as YYYY-MM-DD", field: key.rawValue)
            }
            return .set(date)
        }
    }

    private static func decodeText(_ container: KeyedDecodingContainer<AnyKey>, _ key: Keys) throws -> FieldChange<String> {
        let anyKey = AnyKey(key.rawValue)
        guard container.contains(anyKey) else { return .unchanged }
        if try container.decodeNil(forKey: anyKey) { return .cleared }
        guard let text = try? container.decode(String.self, forKey: anyKey) else {
            throw ClientBaseError(.invalid, "field '\(key.rawValue)' must be a string or null", field: key.rawValue)
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? .cleared : .set(trimmed)
    }

    private static func decodeEnum<E: RawRepresentable<String> & CaseIterable & Sendable & Hashable>(
        _ container: KeyedDecodingContainer<AnyKey>, _ key: Keys
    ) throws -> FieldChange<E> {
        let anyKey = AnyKey(key.rawValue)
        guard container.contains(anyKey) else { return .unchanged }
        let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
        guard let text = try? container.decode(String.self, forKey: anyKey), let value = E(rawValue: text) else {
            throw ClientBaseError(.invalid, "field '\(key.rawValue)' must be one of: \(allowed)", field: key.rawValue)
        }
        return .set(value)
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
