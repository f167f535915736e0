/// A statement and its bound parameters. Interpolated values become `$n` parameters, never SQL
/// text; `\(identifier: name)` quotes an identifier and `\(unescaped: text)` inserts trusted
/// SQL written by us (never user text).
///
///     let query: PostgresQuery = "SELECT name FROM clients WHERE id = \(id) AND city = \(city)"
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public var sql: String
    public var binds: PostgresBindings
    /// Whether the connection keeps this statement prepared under a name (see `prepared()`).
    public private(set) var isPrepared = false

    public init(unsafeSQL sql: String, binds: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    /// The queries one after another with `separator` (SQL of ours) between them, each
    /// query's parameters renumbered once (splicing them in pairs renumbers the first ones again
    /// at every step).
    public init(joining parts: [PostgresQuery], separator: String) {
        var joined = StringInterpolation(literalCapacity: 0, interpolationCount: 0)
        for (position, part) in parts.enumerated() {
            if position > 0 { joined.appendLiteral(separator) }
            joined.appendInterpolation(fragment: part)
        }
        self.init(stringInterpolation: joined)
    }

    /// The same statement, kept prepared by each connection that runs it: parsed and planned
    /// once per connection, not at every run. For hot statements whose text takes few shapes
    /// and whose plan does not depend on the values (a lookup by id, a client's timeline); not
    /// for lists and searches whose best plan changes with the filter's selectivity.
    public func prepared() -> PostgresQuery {
        var query = self
        query.isPrepared = true
        return query
    }

    /// The SQL text only: parameter values are not printed, they may be personal data.
    public var description: String { sql }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var binds: PostgresBindings

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = PostgresBindings(capacity: interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value)
            sql += "$\(binds.count)"
        }

        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            if let value {
                binds.append(value)
            } else {
                binds.appendNull()
            }
            sql += "$\(binds.count)"
        }

        public mutating func appendInterpolation(identifier: String) {
            sql += quoteIdentifier(identifier)
        }

        public mutating func appendInterpolation(unescaped: String) {
            sql += unescaped
        }

        /// Splices another query in, renumbering its parameters.
        public mutating func appendInterpolation(fragment: PostgresQuery) {
            sql += fragment.sql.renumberingParameters(by: binds.count)
            binds.append(contentsOf: fragment.binds)
        }
    }
}

/// Parameter values in libpq's text format, with their type OIDs (0 lets the server infer).
public struct PostgresBindings: Sendable, Hashable {
    public internal(set) var values: [String?] = []
    public internal(set) var types: [UInt32] = []

    public init() {}
    init(capacity: Int) {
        values.reserveCapacity(capacity)
        types.reserveCapacity(capacity)
    }

    public var count: Int { values.count }

    public mutating func append(_ value: some PostgresEncodable) {
        values.append(value.postgresText)
        types.append(type(of: value).postgresType.rawValue)
    }

    public mutating func appendNull() {
        values.append(nil)
        types.append(0)
    }

    mutating func append(contentsOf other: PostgresBindings) {
        values.append(contentsOf: other.values)
        types.append(contentsOf: other.types)
    }
}

extension String {
    /// `$1` becomes `$(1+offset)`. Only used for fragments we write ourselves. It works on the
    /// UTF-8 bytes: walking Characters (grapheme breaking) made a timeline's SQL cost more CPU
    /// than the rest of its request.
    fileprivate func renumberingParameters(by offset: Int) -> String {
        guard offset > 0 else { return self }
        let dollar = UInt8(ascii: "$")
        let bytes = Array(utf8)
        guard bytes.contains(dollar) else { return self }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + bytes.count / 8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            result.append(byte)
            guard byte == dollar else { continue }
            var end = index
            var number = 0
            // Nine digits at most: more would be no parameter of ours, and is left as it is.
            while end < bytes.count, end - index < 10, let digit = Self.digit(bytes[end]) {
                number = number * 10 + digit
                end += 1
            }
            guard end > index, end - index < 10 else { continue }
            result.append(contentsOf: String(number + offset).utf8)
            index = end
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }
}
