import ClientBase
import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import Postgres

/// The routes every record around the purchase has, served alike: POST (201 with Location),
/// GET list (filters, cursor pagination), GET by id, PATCH (the fields sent; null clears),
/// DELETE (204). The repository decides who may see and change what. Like clients, each record
/// has an ETag that PATCH and DELETE honour in If-Match, and POST honours Idempotency-Key.
struct RecordRoutes<Repository: RecordRepository>: Sendable {
    let repository: Repository
    /// The collection's path under /v1: "purchases".
    let path: String
    /// The list's own query parameters, besides limit and cursor (and client_id, from and to
    /// for records of a client).
    let filterNames: [String]
    var ofClients = true
    let makeFilter: @Sendable (RecordFilter, FlatDictionary<Substring, Substring>) throws -> Repository.Filter
    let json: @Sendable (Repository.Record) -> [UInt8]
    let id: @Sendable (Repository.Record) -> UUID
    let idempotency: IdempotentRequests

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let key = try IdempotentRequests.key(of: request)
        let body = try await JSONBody.collect(request, context: context)
        let changes = try JSONBody.decode(Repository.Changes.self, from: body)
        guard let key else {
            return response(try await repository.create(changes, as: actor), status: .created)
        }
        return try await idempotency.run(key: key, route: "POST /v1/\(path)", body: body, scope: actor.scope) { session in
            let record = try await repository.create(changes, as: actor, in: session)
            let bytes = json(record)
            return IdempotentRequests.Stored(status: 201, location: location(of: record), etag: RecordETag.of(bytes), body: bytes)
        }
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let record = try await repository.get(try recordID(context), as: try context.requireActor())
        return response(record)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let filter = try makeFilter(try ListParameters.records(parameters, extra: filterNames, ofClients: ofClients), parameters)
        let page = try await repository.list(filter, as: try context.requireActor())
        var writer = JSONWriter()
        writer.page(page.items, nextCursor: page.nextCursor) { writer, record in writer.bytes += json(record) }
        return JSONBody.response(bytes: writer.bytes)
    }

    @Sendable func update(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try recordID(context)
        let expected = RecordETag.accepted(by: request.headers[.ifMatch])
        let changes = try await JSONBody.decode(Repository.Changes.self, from: request, context: context)
        let record = try await repository.update(id, changes, as: try context.requireActor(), expecting: precondition(expected))
        return response(record)
    }

    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        let expected = RecordETag.accepted(by: request.headers[.ifMatch])
        try await repository.delete(try recordID(context), as: try context.requireActor(), expecting: precondition(expected))
        return Response(status: .noContent)
    }

    /// The record with its ETag (and, when created, its Location).
    private func response(_ record: Repository.Record, status: HTTPResponse.Status = .ok) -> Response {
        let bytes = json(record)
        var response = JSONBody.response(bytes: bytes, status: status)
        response.headers[.eTag] = RecordETag.of(bytes)
        if status == .created { response.headers[.location] = location(of: record) }
        return response
    }

    private func location(of record: Repository.Record) -> String {
        "/v1/\(path)/\(id(record).lowercaseText)"
    }

    /// Refuses the change (412) unless the record, as it is under its lock, still has one of
    /// the ETags the client sent. No If-Match (or `*`): no check.
    private func precondition(_ expected: Set<String>?) -> RecordPrecondition<Repository.Record> {
        guard let expected else { return { _ in } }
        let json = self.json
        return { current in
            guard expected.contains(RecordETag.of(json(current))) else {
                throw ClientBaseError(.staleRevision,
                    "this \(Repository.noun) changed since it was read (If-Match no longer matches); read it again and retry")
            }
        }
    }

    private func recordID(_ context: AppRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("'\(text.prefix(64))' is not a \(Repository.noun) id (a UUID)", field: "id")
        }
        return id
    }
}

/// Query parameters of the record lists: each checked, and unknown ones refused (400).
enum ListParameters {
    static let paging = ["limit", "cursor"]
    static let ofClient = ["client_id", "from", "to"]

    static func records(_ parameters: FlatDictionary<Substring, Substring>, extra: [String], ofClients: Bool = true) throws -> RecordFilter {
        try QueryParameters.refuseUnknown(parameters, allowed: Set(paging + (ofClients ? ofClient : []) + extra))
        var filter = RecordFilter()
        if let limit = try QueryParameters.integer(parameters, "limit", in: 1...RecordFilter.maximumLimit) {
            filter.limit = limit
        }
        if let cursor = parameters.get("cursor") {
            guard let after = IDCursor.decode(cursor) else {
                throw QueryParameters.badCursor
            }
            filter.after = after
        }
        filter.clientID = try QueryParameters.id(parameters, "client_id")
        filter.from = try QueryParameters.date(parameters, "from")
        filter.to = try QueryParameters.date(parameters, "to")
        return filter
    }
}

/// A record's ETag: a digest of its JSON, which holds `updated_at`, so any change gives
/// another tag. Records have no revision column; their representation is the version.
enum RecordETag {
    static func of(_ json: [UInt8]) -> String {
        "\"" + SHA256.hash(data: json).prefix(12).map { byte in
            String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }.joined() + "\""
    }

    /// The tags an If-Match header accepts: nil without the header or with `*`.
    static func accepted(by header: String?) -> Set<String>? {
        guard let header, header.trimmingCharacters(in: .whitespaces) != "*" else { return nil }
        return Set(header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }
}
