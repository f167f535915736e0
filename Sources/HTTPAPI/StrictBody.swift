import Foundation

/// Small request bodies decoded with `Decodable`, refusing fields the route does not know, so
/// a typo (`"rol": "admin"`) is an error instead of silently doing nothing.
enum StrictBody {
    private struct Keys: Decodable {
        let names: [String]
        init(from decoder: any Decoder) throws {
            guard let container = try? decoder.container(keyedBy: AnyCodingKey.self) else {
                throw Problem.badRequest("the body must be a JSON object")
            }
            names = container.allKeys.map(\.stringValue)
        }
    }

    private struct AnyCodingKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func decode<T: Decodable>(_ type: T.Type, allowed: Set<String>, from bytes: [UInt8]) throws -> T {
        guard !bytes.isEmpty else { throw Problem.badRequest("the body is empty; send a JSON object") }
        let keys = try JSONDecoder().decode(Keys.self, from: Data(bytes))
        if let unknown = keys.names.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value",
                          detail: "unknown field '\(unknown)'; allowed: \(allowed.sorted().joined(separator: ", "))", field: unknown)
        }
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    }
}

extension KeyedDecodingContainer {
    /// A string enum field, refused with 422 listing the allowed values.
    func decodeChoice<E: RawRepresentable<String> & CaseIterable>(_ type: E.Type, forKey key: Key) throws -> E? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        guard let text = try? decode(String.self, forKey: key), let value = E(rawValue: text) else {
            throw Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value",
                          detail: "field '\(key.stringValue)' must be one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))",
                          field: key.stringValue)
        }
        return value
    }

    /// A required string field, refused with 422 when missing or not a string.
    func decodeRequired(_ key: Key) throws -> String {
        guard let text = try? decode(String.self, forKey: key) else {
            throw Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value",
                          detail: "field '\(key.stringValue)' is required and must be a string", field: key.stringValue)
        }
        return text
    }
}
