import Foundation

/// A Swift value that can be read from a text-format cell. Each type says which column types
/// it accepts, so reading a `text` column as `Int` is a clear error, not a silent guess.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL cell.
    static func decode(text: String, type: PostgresType) -> Self?
    static func accepts(_ type: PostgresType) -> Bool
    /// Decodes a cell that may be NULL. Only Optional reads NULL; everything else refuses it.
    static func decode(cell: String?, type: PostgresType, column: String) throws -> Self
    /// The value of a NULL array element: nil (refused) except for Optional.
    static var nullElement: Self? { get }
}

extension PostgresDecodable {
    public static func decode(cell text: String?, type: PostgresType, column: String) throws -> Self {
        guard let text else {
            throw PostgresError(.decoding, "column \"\(column)\" is NULL; read it as \(Self.self)? instead")
        }
        guard accepts(type) else {
            throw PostgresError(.decoding, "column \"\(column)\" is \(type), which cannot be read as \(Self.self)")
        }
        guard let value = decode(text: text, type: type) else {
            throw PostgresError(.decoding, "column \"\(column)\" (\(type)) holds a value that is not a valid \(Self.self)")
        }
        return value
    }

    public static var nullElement: Self? { nil }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> Self? {
        Wrapped.decode(text: text, type: type).map { .some($0) }
    }
    public static func accepts(_ type: PostgresType) -> Bool { Wrapped.accepts(type) }
    public static func decode(cell text: String?, type: PostgresType, column: String) throws -> Self {
        guard let text else { return .none }
        return .some(try Wrapped.decode(cell: text, type: type, column: column))
    }
    public static var nullElement: Self? { .some(.none) }
}

extension String: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> String? { text }
    /// Text reads any column's text form except binary data.
    public static func accepts(_ type: PostgresType) -> Bool { type != .bytea }
}

extension Int: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> Int? { Int(text) }
    public static func accepts(_ type: PostgresType) -> Bool { PostgresType.integers.contains(type) }
}

extension Int64: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> Int64? { Int64(text) }
    public static func accepts(_ type: PostgresType) -> Bool { PostgresType.integers.contains(type) }
}

extension Int32: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> Int32? { Int32(text) }
    public static func accepts(_ type: PostgresType) -> Bool { type == .int2 || type == .int4 }
}

extension Double: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> Double? {
        switch text {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: Double(text)
        }
    }
    public static func accepts(_ type: PostgresType) -> Bool {
        type == .float4 || type == .float8 || type == .numeric || PostgresType.integers.contains(type)
    }
}

extension Decimal: PostgresDecodable {
    /// Exact: numeric's text is parsed as written, never through a Double.
    public static func decode(text: String, type: PostgresType) -> Decimal? {
        Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }
    public static func accepts(_ type: PostgresType) -> Bool {
        type == .numeric || PostgresType.integers.contains(type)
    }
}

extension Bool: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> Bool? {
        switch text {
        case "t": true
        case "f": false
        default: nil
        }
    }
    public static func accepts(_ type: PostgresType) -> Bool { type == .bool }
}

extension UUID: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> UUID? { UUID(canonicalText: text) }
    public static func accepts(_ type: PostgresType) -> Bool { type == .uuid }
}

extension Date: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> Date? {
        if type == .date {
            return PostgresDateFormat.parseTimestamp(text + " 00:00:00")
        }
        return PostgresDateFormat.parseTimestamp(text)
    }
    public static func accepts(_ type: PostgresType) -> Bool {
        type == .timestamptz || type == .timestamp || type == .date
    }
}

extension PostgresDate: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> PostgresDate? { PostgresDate(text) }
    public static func accepts(_ type: PostgresType) -> Bool { type == .date }
}

/// A `json` or `jsonb` cell, kept as its text; decode it with `decode(_:)`.
public struct PostgresJSONValue: PostgresDecodable, Hashable {
    public var text: String
    public init(text: String) { self.text = text }
    public static func decode(text: String, type: PostgresType) -> PostgresJSONValue? { .init(text: text) }
    public static func accepts(_ type: PostgresType) -> Bool { type == .json || type == .jsonb }

    public func decode<T: Decodable>(_ type: T.Type, using decoder: JSONDecoder = JSONDecoder()) throws -> T {
        do {
            return try decoder.decode(T.self, from: Data(text.utf8))
        } catch {
            throw PostgresError(.decoding, "JSON does not decode as \(T.self): \(error)")
        }
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public static func decode(text: String, type: PostgresType) -> [Element]? {
        guard let items = PostgresArrayParser.parse(text) else { return nil }
        let elementType = PostgresArrayParser.elementType(of: type)
        var result: [Element] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let item else {
                guard let null = Element.nullElement else { return nil }
                result.append(null)
                continue
            }
            guard let value = Element.decode(text: item, type: elementType) else { return nil }
            result.append(value)
        }
        return result
    }
    public static func accepts(_ type: PostgresType) -> Bool {
        let element = PostgresArrayParser.elementType(of: type)
        return element != .unspecified && Element.accepts(element)
    }
}

/// One-dimensional array literals: `{a,"b c",NULL}`.
enum PostgresArrayParser {
    static func elementType(of arrayType: PostgresType) -> PostgresType {
        switch arrayType {
        case .textArray: .text
        case .varcharArray: .varchar
        case .bpcharArray: .bpchar
        case .int2Array: .int2
        case .int4Array: .int4
        case .int8Array: .int8
        case .boolArray: .bool
        case .float8Array: .float8
        case .numericArray: .numeric
        case .uuidArray: .uuid
        default: .unspecified
        }
    }

    static func parse(_ text: String) -> [String?]? {
        var characters = text[...]
        guard characters.first == "{", characters.last == "}" else { return nil }
        characters = characters.dropFirst().dropLast()
        if characters.isEmpty { return [] }
        var items: [String?] = []
        var current = ""
        var quoted = false
        var wasQuoted = false
        var escaping = false
        for character in characters {
            if escaping {
                current.append(character)
                escaping = false
            } else if quoted {
                switch character {
                case "\\": escaping = true
                case "\"": quoted = false
                default: current.append(character)
                }
            } else {
                switch character {
                case "\"": quoted = true; wasQuoted = true
                case ",":
                    items.append(!wasQuoted && current == "NULL" ? nil : current)
                    current = ""
                    wasQuoted = false
                case "{", "}": return nil // nested arrays are not supported
                default: current.append(character)
                }
            }
        }
        guard !quoted, !escaping else { return nil }
        items.append(!wasQuoted && current == "NULL" ? nil : current)
        return items
    }
}

/// String-backed enums read from text columns; an unknown value is a decoding error.
extension PostgresDecodable where Self: RawRepresentable, RawValue == String {
    public static func decode(text: String, type: PostgresType) -> Self? { Self(rawValue: text) }
    public static func accepts(_ type: PostgresType) -> Bool { String.accepts(type) }
}
