import Foundation
import Hummingbird

/// An RFC 9457 problem: every error the API returns, as `application/problem+json`.
public struct Problem: Error, Sendable, Encodable {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    public var instance: String?
    /// The request's id, to find its log lines.
    public var requestID: String?
    /// The body field at fault, for validation errors.
    public var field: String?
    /// Further members of this problem type (RFC 9457 extension members), such as the ids
    /// listed by a `duplicate` problem.
    public var members: [String: [String]] = [:]
    var headers: HTTPFields = [:]

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance
        case requestID = "request_id"
        case field
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(status, forKey: .status)
        try container.encode(detail, forKey: .detail)
        try container.encodeIfPresent(instance, forKey: .instance)
        try container.encodeIfPresent(requestID, forKey: .requestID)
        try container.encodeIfPresent(field, forKey: .field)
        var extra = encoder.container(keyedBy: MemberKey.self)
        for (name, values) in members where CodingKeys(stringValue: name) == nil {
            try extra.encode(values, forKey: MemberKey(stringValue: name))
        }
    }

    private struct MemberKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(status: HTTPResponse.Status, slug: String, title: String, detail: String, field: String? = nil) {
        self.type = "/problems/\(slug)"
        self.title = title
        self.status = status.code
        self.detail = detail
        self.field = field
    }

    static func badRequest(_ detail: String, field: String? = nil) -> Problem {
        Problem(status: .badRequest, slug: "bad-request", title: "Bad request", detail: detail, field: field)
    }

    static func unauthorized(_ detail: String) -> Problem {
        var problem = Problem(status: .unauthorized, slug: "unauthorized", title: "Authentication required", detail: detail)
        problem.headers[.wwwAuthenticate] = "Bearer realm=\"clientele\""
        return problem
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(status: .notFound, slug: "not-found", title: "Not found", detail: detail)
    }

    func response(for request: Request, context: AppRequestContext) -> Response {
        var problem = self
        problem.instance = request.uri.path
        problem.requestID = context.requestID
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(problem)) ?? Data("{}".utf8)
        var headers = headers
        headers[.contentType] = "application/problem+json"
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension AppRequestContext {
    var requestID: String? {
        logger[metadataKey: "hb.request.id"].map { "\($0)" }
    }
}
