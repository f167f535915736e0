import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore
import Postgres

/// The routes every record around the purchase has, served alike: POST (201 with Location),
/// GET list (filters, cursor pagination), GET by id, PATCH (the fields sent; null clears),
/// DELETE (204). The repository decides who may see and change what.
struct RecordRoutes<Repository: RecordRepository>: Sendable {
    let repository: Repository
    /// The collection's path under /v1: "purchases".
    let path: String
    /// The list's own query parameters, besides limit, cursor, client_id, from and to.
    let filterNames: [String]
    let makeFilter: @Sendable (RecordFilter, FlatDictionary<Substring, Substring>) throws -> Repository.Filter
    let json: @Sendable (Repository.Record) -> [UInt8]
    let id: @Sendable (Repository.Record) -> UUID

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let changes = try await JSONBody.decode(Repository.Changes.self, from: request, context: context)
        let record = try await repository.create(changes, as: actor)
        var response = JSONBody.response(bytes: json(record), status: .created)
        response.headers[.location] = "/v1/\(path)/\(id(record).uuidString.lowercased())"
        return response
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let record = try await repository.get(try recordID(context), as: try context.requireActor())
        return JSONBody.response(bytes: json(record))
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let filter = try makeFilter(try ListParameters.records(parameters, extra: filterNames), parameters)
        let page = try await repository.list(filter, as: try context.requireActor())
        var writer = JSONWriter()
        writer.raw("{\"items\":[")
        for (index, record) in page.items.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.bytes += json(record)
        }
        writer.raw("],\"next_cursor\":")
        writer.string(page.nextCursor)
        writer.raw("}")
        return JSONBody.response(bytes: writer.bytes)
    }

    @Sendable func update(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try recordID(context)
        let changes = try await JSONBody.decode(Repository.Changes.self, from: request, context: context)
        let record = try await repository.update(id, changes, as: try context.requireActor())
        return JSONBody.response(bytes: json(record))
    }

    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        try await repository.delete(try recordID(context), as: try context.requireActor())
        return Response(status: .noContent)
    }

    private func recordID(_ context: AppRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("'\(text.prefix(64))' is not a \(Repository.entity) id (a UUID)", field: "id")
        }
        return id
    }
}

/// Query parameters of the record lists: each checked, and unknown ones refused (400).
enum ListParameters {
    static let common = ["limit", "cursor", "client_id", "from", "to"]

    static func records(_ parameters: FlatDictionary<Substring, Substring>, extra: [String]) throws -> RecordFilter {
        try QueryParameters.refuseUnknown(parameters, allowed: Set(common + extra))
        var filter = RecordFilter()
        if let limit = parameters.get("limit") {
            guard let value = Int(limit), (1...RecordFilter.maximumLimit).contains(value) else {
                throw Problem.badRequest("limit must be a whole number from 1 to \(RecordFilter.maximumLimit)", field: "limit")
            }
            filter.limit = value
        }
        if let cursor = parameters.get("cursor") {
            guard let after = IDCursor.decode(cursor) else {
                throw Problem.badRequest("cursor is not one this API gave out; pass next_cursor as it came", field: "cursor")
            }
            filter.after = after
        }
        filter.clientID = try QueryParameters.id(parameters, "client_id")
        filter.from = try QueryParameters.date(parameters, "from")
        filter.to = try QueryParameters.date(parameters, "to")
        return filter
    }
}
