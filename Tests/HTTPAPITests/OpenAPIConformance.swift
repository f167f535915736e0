import Foundation
import HTTPAPI
import Testing

/// A JSON value with booleans, integers and other numbers kept apart (JSONSerialization blurs
/// them on Linux).
indirect enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), integer(Int64), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    static func parse(_ bytes: some Sequence<UInt8>) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    var string: String? { if case .string(let text) = self { text } else { nil } }
    var members: [String: JSONValue] { if case .object(let members) = self { members } else { [:] } }
    var elements: [JSONValue] { if case .array(let elements) = self { elements } else { [] } }
}

/// The API's OpenAPI document, and the checks every test response goes through: the route and
/// status are documented, the content type is the documented one, and a JSON body matches its
/// schema (types, required and unknown members, enums, formats, patterns).
struct OpenAPIConformance: Sendable {
    static let shared = OpenAPIConformance(document: JSONValue.parse(APIDocument.json) ?? .null)

    let document: JSONValue

    /// Each operation as "METHOD /path/{param}".
    var operations: [String] {
        document["paths"]?.members.flatMap { path, item in item.members.keys.map { "\($0.uppercased()) \(path)" } } ?? []
    }

    /// The documented path matching a concrete one: literal segments win over parameters.
    func template(for path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var best: (template: String, literals: Int)?
        for template in document["paths"]?.members.keys ?? [:].keys {
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == segments.count else { continue }
            var literals = 0, matches = true
            for (part, segment) in zip(parts, segments) {
                if part.hasPrefix("{") { if segment.isEmpty { matches = false } }
                else if part == segment { literals += 1 }
                else { matches = false }
                if !matches { break }
            }
            if matches, literals > best?.literals ?? -1 { best = (template, literals) }
        }
        return best?.template
    }

    /// What is wrong with this exchange, as readable lines; empty when it matches the document.
    func problems(method: String, uri: String, requestBody: String?, status: Int, contentType: String?, body: [UInt8]) -> [String] {
        let path = String(uri.split(separator: "?", maxSplits: 1).first ?? "")
        let query = uri.contains("?") ? String(uri.split(separator: "?", maxSplits: 1)[1]) : ""
        let label = "\(method) \(path) → \(status)"
        guard let template = template(for: path), let operation = document["paths"]?[template]?[method.lowercased()] else {
            // Unknown routes and methods answer 404 problems, by convention.
            return status == 404 && contentType == "application/problem+json" ? [] : ["\(label): route not in openapi.json"]
        }
        var found: [String] = []
        if status < 400 || status == 422 || status == 409 {
            let documented = Set(operation["parameters"]?.elements.compactMap { $0["in"]?.string == "query" ? $0["name"]?.string : nil } ?? [])
            for pair in query.split(separator: "&") {
                let name = String(pair.split(separator: "=", maxSplits: 1).first ?? "")
                if !documented.contains(name) { found.append("\(label): query parameter '\(name)' not documented") }
            }
        }
        guard let response = resolve(operation["responses"]?[String(status)] ?? .null) else {
            return found + ["\(label): status \(status) not documented for \(method) \(template)"]
        }
        let media = contentType?.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespaces) }
        guard let content = response["content"]?.members, !content.isEmpty else {
            if !body.isEmpty { found.append("\(label): a body where the document says none") }
            return found
        }
        guard let media, let schema = content[media]?["schema"] else {
            return found + ["\(label): content type \(contentType ?? "none") not documented (\(content.keys.sorted()))"]
        }
        if media.hasSuffix("json") {
            guard let value = JSONValue.parse(body) else { return found + ["\(label): body is not JSON"] }
            found += validate(value, against: schema, at: "response").map { "\(label): \($0)" }
        }
        if status < 300, let requestBody, let schema = operation["requestBody"]?["content"]?["application/json"]?["schema"],
           let value = JSONValue.parse(Array(requestBody.utf8)) {
            found += validate(value, against: schema, at: "request").map { "\(label): \($0)" }
        }
        return found
    }

    private func resolve(_ value: JSONValue) -> JSONValue? {
        guard value != .null else { return nil }
        guard let reference = value["$ref"]?.string else { return value }
        var target: JSONValue? = document
        for part in reference.dropFirst(2).split(separator: "/") { target = target?[String(part)] }
        return target.flatMap(resolve)
    }

    /// A subset of JSON Schema 2020-12: what our document uses.
    func validate(_ value: JSONValue, against rawSchema: JSONValue, at path: String) -> [String] {
        guard let schema = resolve(rawSchema) else { return ["\(path): unresolvable schema"] }
        if let choices = schema["oneOf"]?.elements {
            let passing = choices.filter { validate(value, against: $0, at: path).isEmpty }.count
            return passing == 1 ? [] : ["\(path): matches \(passing) of the oneOf schemas"]
        }
        if let types = schema["type"] {
            let allowed = types.string.map { [$0] } ?? types.elements.compactMap(\.string)
            guard allowed.contains(where: { Self.has(value, type: $0) }) else {
                return ["\(path): \(Self.describe(value)) where the document says \(allowed.joined(separator: " or "))"]
            }
        }
        if let choices = schema["enum"]?.elements, !choices.contains(value) {
            return ["\(path): \(Self.describe(value)) is not one of the documented values"]
        }
        switch value {
        case .string(let text):
            return check(text, schema, path)
        case .integer(let number):
            if case .integer(let minimum)? = schema["minimum"], number < minimum { return ["\(path): \(number) below \(minimum)"] }
            if case .integer(let maximum)? = schema["maximum"], number > maximum { return ["\(path): \(number) above \(maximum)"] }
            return []
        case .array(let elements):
            guard let items = schema["items"] else { return [] }
            return elements.enumerated().flatMap { validate($1, against: items, at: "\(path)[\($0)]") }
        case .object(let members):
            var found: [String] = []
            for name in schema["required"]?.elements.compactMap(\.string) ?? [] where members[name] == nil {
                found.append("\(path): required member '\(name)' missing")
            }
            let properties = schema["properties"]?.members ?? [:]
            for (name, member) in members {
                if let property = properties[name] {
                    found += validate(member, against: property, at: "\(path).\(name)")
                } else if case .bool(false)? = schema["additionalProperties"] {
                    found.append("\(path): member '\(name)' not documented")
                } else if let extra = schema["additionalProperties"], extra.members.count > 0 {
                    found += validate(member, against: extra, at: "\(path).\(name)")
                }
            }
            return found
        default:
            return []
        }
    }

    private func check(_ text: String, _ schema: JSONValue, _ path: String) -> [String] {
        if case .integer(let minimum)? = schema["minLength"], text.count < minimum { return ["\(path): shorter than \(minimum)"] }
        if case .integer(let maximum)? = schema["maxLength"], text.count > maximum { return ["\(path): longer than \(maximum)"] }
        if let pattern = schema["pattern"]?.string, text.range(of: pattern, options: .regularExpression) == nil {
            return ["\(path): '\(text.prefix(40))' does not match \(pattern)"]
        }
        let formats = [
            "uuid": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            "date": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "date-time": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$",
        ]
        if let format = schema["format"]?.string, let pattern = formats[format],
           text.range(of: pattern, options: [.regularExpression, .caseInsensitive]) == nil {
            return ["\(path): '\(text.prefix(40))' is not a \(format)"]
        }
        return []
    }

    private static func has(_ value: JSONValue, type: String) -> Bool {
        switch (value, type) {
        case (.null, "null"), (.bool, "boolean"), (.integer, "integer"), (.integer, "number"), (.number, "number"),
             (.string, "string"), (.array, "array"), (.object, "object"): true
        default: false
        }
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .integer(let number): "\(number)"
        case .number(let number): "\(number)"
        case .string(let text): "'\(text.prefix(40))'"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
