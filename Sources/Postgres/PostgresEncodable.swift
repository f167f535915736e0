import Foundation

/// A Swift value that can be sent as a bound parameter, in libpq's text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter's type; `.unspecified` lets the server infer it from the statement.
    static var postgresType: PostgresType { get }
    var postgresText: String { get }
}

extension String: PostgresEncodable {
    public static var postgresType: PostgresType { .text }
    public var postgresText: String { self }
}

extension Substring: PostgresEncodable {
    public static var postgresType: PostgresType { .text }
    public var postgresText: String { String(self) }
}

extension Int: PostgresEncodable {
    public static var postgresType: PostgresType { .int8 }
    public var postgresText: String { String(self) }
}

extension Int64: PostgresEncodable {
    public static var postgresType: PostgresType { .int8 }
    public var postgresText: String { String(self) }
}

extension Int32: PostgresEncodable {
    public static var postgresType: PostgresType { .int4 }
    public var postgresText: String { String(self) }
}

extension Double: PostgresEncodable {
    public static var postgresType: PostgresType { .float8 }
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return "\(self)"
    }
}

extension Bool: PostgresEncodable {
    public static var postgresType: PostgresType { .bool }
    public var postgresText: String { self ? "t" : "f" }
}

extension Decimal: PostgresEncodable {
    public static var postgresType: PostgresType { .numeric }
    public var postgresText: String { NSDecimalNumber(decimal: self).description(withLocale: nil) }
}

extension UUID: PostgresEncodable {
    public static var postgresType: PostgresType { .uuid }
    public var postgresText: String { lowercaseText }
}

extension Date: PostgresEncodable {
    public static var postgresType: PostgresType { .timestamptz }
    public var postgresText: String { PostgresDateFormat.timestamptz(self) }
}

/// A JSON value sent as `jsonb`, encoded with snake_case-agnostic default JSONEncoder settings.
public struct PostgresJSON<Value: Encodable & Sendable>: PostgresEncodable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
    public static var postgresType: PostgresType { .jsonb }
    public var postgresText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding our own Encodable values cannot fail short of a programming error.
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Raw JSON text sent as `jsonb`.
public struct PostgresJSONText: PostgresEncodable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public static var postgresType: PostgresType { .jsonb }
    public var postgresText: String { text }
}

/// A date without time (`date`), as year, month, day.
public struct PostgresDate: PostgresEncodable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
    /// Parses `YYYY-MM-DD`; nil when it is not a real calendar date.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), day >= 1, day <= PostgresDateFormat.daysInMonth(year: year, month: month)
        else { return nil }
        self.init(year: year, month: month, day: day)
    }
    public static var postgresType: PostgresType { .date }
    public var postgresText: String { description }
    /// `YYYY-MM-DD`, written byte by byte for the years 0 to 9999 (`String(format:)` cost a
    /// tenth of the server's CPU for a page of clients); others as `String(format:)` writes them.
    public var description: String {
        guard (0...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else {
            return String(format: "%04d-%02d-%02d", year, month, day)
        }
        return String(unsafeUninitializedCapacity: 10) { output in
            func write(_ value: Int, digits: Int, at start: Int) {
                var value = value
                for position in (start..<start + digits).reversed() {
                    output[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            write(year, digits: 4, at: 0)
            output[4] = UInt8(ascii: "-")
            write(month, digits: 2, at: 5)
            output[7] = UInt8(ascii: "-")
            write(day, digits: 2, at: 8)
            return 10
        }
    }
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = PostgresDate(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a date as YYYY-MM-DD")
        }
        self = date
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Array: PostgresEncodable where Element: PostgresEncodable {
    public static var postgresType: PostgresType {
        switch Element.postgresType {
        case .text: .textArray
        case .int8: .int8Array
        case .int4: .int4Array
        case .bool: .boolArray
        case .float8: .float8Array
        case .uuid: .uuidArray
        case .numeric: .numericArray
        default: .unspecified
        }
    }
    /// An array literal: `{"a","b \"c\""}`. Every element is quoted, so commas and braces are safe.
    /// Built on the UTF-8 bytes (`"` and `\` are ASCII, so never inside a multi-byte character):
    /// an import sends arrays of 100,000 elements.
    public var postgresText: String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(count * 16 + 2)
        for (index, element) in enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            for byte in element.postgresText.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// String-backed enums are sent as their raw value.
extension PostgresEncodable where Self: RawRepresentable, RawValue == String {
    public static var postgresType: PostgresType { .text }
    public var postgresText: String { rawValue }
}
