import ClientBase
import Foundation

/// Reads a small request body strictly, like ClientBase's record bodies: unknown and read-only
/// fields are refused, and each field is absent, null, or a value of the right type, else a 422
/// naming it.
struct ChurnBody {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    let container: KeyedDecodingContainer<Key>

    init(_ decoder: any Decoder, writable: [String], readOnly: [String] = []) throws {
        do {
            container = try decoder.container(keyedBy: Key.self)
        } catch {
            throw ClientBaseError(.invalid, "the body must be a JSON object")
        }
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !writable.contains(key.stringValue) {
            let name = key.stringValue
            throw ClientBaseError(.invalid,
                readOnly.contains(name) ? "field '\(name)' is read-only" : "unknown field '\(name)'", field: name)
        }
    }

    /// The key if present and not null; a null is refused unless `nullable`.
    private func present(_ name: String) throws -> Key? {
        let key = Key(name)
        guard container.contains(key) else { return nil }
        if try container.decodeNil(forKey: key) {
            throw ClientBaseError(.invalid, "field '\(name)' cannot be null", field: name)
        }
        return key
    }

    func integer(_ name: String) throws -> Int? {
        guard let key = try present(name) else { return nil }
        guard let value = try? container.decode(Int.self, forKey: key) else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a whole number", field: name)
        }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let key = try present(name) else { return nil }
        guard let value = try? container.decode(Bool.self, forKey: key) else {
            throw ClientBaseError(.invalid, "field '\(name)' must be true or false", field: name)
        }
        return value
    }

    /// A decimal as a JSON number or a string like "1.5", at most 2 decimals.
    func decimal(_ name: String) throws -> Decimal? {
        guard let key = try present(name) else { return nil }
        let text: String
        if let string = try? container.decode(String.self, forKey: key) {
            text = string.trimmingCharacters(in: .whitespaces)
        } else if let number = try? container.decode(Decimal.self, forKey: key) {
            text = NSDecimalNumber(decimal: number).description(withLocale: nil)
        } else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a decimal number like 1.5", field: name)
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 6,
              parts.allSatisfy({ $0.allSatisfy { "0"..."9" ~= $0 } }), parts.count == 1 || (1...2).contains(parts[1].count),
              let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
        else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a decimal number with at most 2 decimals, like 1.5", field: name)
        }
        return value
    }

    /// Text, trimmed; null or empty clears it.
    func optionalText(_ name: String, maximumLength: Int = 500) throws -> FieldChange<String> {
        let key = Key(name)
        guard container.contains(key) else { return .unchanged }
        if try container.decodeNil(forKey: key) { return .cleared }
        guard let text = try? container.decode(String.self, forKey: key) else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a string or null", field: name)
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= maximumLength else {
            throw ClientBaseError(.invalid, "field '\(name)' is longer than \(maximumLength) characters", field: name)
        }
        return trimmed.isEmpty ? .cleared : .set(trimmed)
    }

    func enumeration<E: RawRepresentable<String> & CaseIterable>(_ name: String, _ type: E.Type = E.self) throws -> E? {
        guard let key = try present(name) else { return nil }
        guard let text = try? container.decode(String.self, forKey: key), let value = E(rawValue: text) else {
            throw ClientBaseError(.invalid,
                "field '\(name)' must be one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))", field: name)
        }
        return value
    }
}
