import Foundation
import Hummingbird
import HummingbirdCore
import Postgres

/// Reading query parameters the same way on every route: unknown names refused, each value
/// checked, a 400 naming the parameter otherwise.
enum QueryParameters {
    typealias Parameters = FlatDictionary<Substring, Substring>

    static func refuseUnknown(_ parameters: Parameters, allowed: Set<String>) throws {
        for (name, _) in parameters where !allowed.contains(String(name)) {
            let known = allowed.isEmpty ? "this route takes none" : "use " + allowed.sorted().joined(separator: ", ")
            throw Problem.badRequest("unknown query parameter '\(name.prefix(50))'; \(known)", field: String(name.prefix(50)))
        }
    }

    static func bool(_ parameters: Parameters, _ name: String) throws -> Bool? {
        guard let text = parameters.get(name) else { return nil }
        guard let value = Bool(String(text)) else { throw Problem.badRequest("\(name) must be true or false", field: name) }
        return value
    }

    static func date(_ parameters: Parameters, _ name: String) throws -> PostgresDate? {
        guard let text = parameters.get(name) else { return nil }
        guard let value = PostgresDate(String(text)) else {
            throw Problem.badRequest("\(name) must be a date as YYYY-MM-DD", field: name)
        }
        return value
    }

    static func id(_ parameters: Parameters, _ name: String) throws -> UUID? {
        guard let text = parameters.get(name) else { return nil }
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("\(name) must be a record id (a UUID)", field: name)
        }
        return id
    }

    /// A whole number within `range`, or nil if absent.
    static func integer(_ parameters: Parameters, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = parameters.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw Problem.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return value
    }

    /// A cursor this API did not give out (or for another list).
    static let badCursor = Problem.badRequest("cursor is not one this API gave out; pass next_cursor as it came", field: "cursor")

    static func enumeration<E: RawRepresentable<String> & CaseIterable>(
        _ parameters: Parameters, _ name: String, _ type: E.Type = E.self
    ) throws -> E? {
        guard let text = parameters.get(name) else { return nil }
        guard let value = E(rawValue: String(text)) else {
            throw Problem.badRequest("\(name) must be one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))", field: name)
        }
        return value
    }
}
