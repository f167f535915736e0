import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore
import Tenancy

/// `/v1/clients`: create, get, list, update (PATCH) and delete a tenant's clients.
struct ClientRoutes {
    let repository: ClientRepository
    let idempotency: IdempotentRequests

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
        group.get(":id/category-history", use: categoryHistory)
    }

    @Sendable func categoryHistory(request: Request, context: AppRequestContext) async throws -> Response {
        let changes = try await repository.categoryHistory(of: try Self.id(context), as: try context.requireActor())
        return JSONBody.response(bytes: ClientJSON.history(changes))
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let key = try IdempotentRequests.key(of: request)
        let body = try await JSONBody.collect(request, context: context)
        let changes = try JSONBody.decode(ClientChanges.self, from: body)
        guard let key else {
            let client = try await repository.create(changes, as: actor)
            return Self.created(client)
        }
        return try await idempotency.run(key: key, route: "POST /v1/clients", body: body, scope: actor.scope) { session in
            let client = try await repository.create(changes, as: actor, in: session)
            return IdempotentRequests.Stored(
                status: 201, location: Self.location(of: client), etag: Self.etag(of: client), body: ClientJSON.client(client))
        }
    }

    static func created(_ client: Client) -> Response {
        var response = Self.response(client, status: .created)
        response.headers[.location] = location(of: client)
        return response
    }

    static func location(of client: Client) -> String { "/v1/clients/\(client.id.uuidString.lowercased())" }
    static func etag(of client: Client) -> String { "\"\(client.revision)\"" }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let client = try await repository.get(try Self.id(context), as: try context.requireActor())
        return Self.response(client)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let query = try Self.listQuery(request.uri.queryParameters)
        let page = try await repository.list(query, as: try context.requireActor())
        return JSONBody.response(bytes: ClientJSON.page(page))
    }

    @Sendable func update(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.id(context)
        let changes = try await JSONBody.decode(ClientChanges.self, from: request, context: context)
        let client = try await repository.update(
            id, changes, as: try context.requireActor(),
            ifRevisionIn: try Self.ifMatch(request.headers[.ifMatch]))
        return Self.response(client)
    }

    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        try await repository.delete(try Self.id(context), as: try context.requireActor())
        return Response(status: .noContent)
    }

    /// A client with its ETag, its revision in quotes.
    static func response(_ client: Client, status: HTTPResponse.Status = .ok) -> Response {
        var response = JSONBody.response(bytes: ClientJSON.client(client), status: status)
        response.headers[.eTag] = etag(of: client)
        return response
    }

    /// The revisions an If-Match header accepts: nil for none or `*`. An entity tag that is not
    /// one of ours can never match, so the update is refused (412), as RFC 9110 asks.
    static func ifMatch(_ header: String?) throws -> Set<Int>? {
        guard let header, header.trimmingCharacters(in: .whitespaces) != "*" else { return nil }
        var revisions = Set<Int>()
        for tag in header.split(separator: ",") {
            let tag = tag.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 3, let revision = Int(tag.dropFirst().dropLast()) {
                revisions.insert(revision)
            }
        }
        return revisions
    }

    static func id(_ context: AppRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("'\(text.prefix(64))' is not a client id (a UUID)", field: "id")
        }
        return id
    }

    static let listParameters: Set<String> = ["limit", "cursor", "category", "due_for_follow_up"]

    static func listQuery(_ parameters: FlatDictionary<Substring, Substring>) throws -> ClientListQuery {
        var query = ClientListQuery()
        for (name, _) in parameters where !listParameters.contains(String(name)) {
            throw Problem.badRequest("unknown query parameter '\(name)'; use limit, cursor, category or due_for_follow_up", field: String(name))
        }
        if let limit = parameters.get("limit") {
            guard let value = Int(limit), (1...ClientListQuery.maximumLimit).contains(value) else {
                throw Problem.badRequest("limit must be a whole number from 1 to \(ClientListQuery.maximumLimit)", field: "limit")
            }
            query.limit = value
        }
        if let cursor = parameters.get("cursor") {
            guard let after = ClientCursor.decode(cursor) else {
                throw Problem.badRequest("cursor is not one this API gave out; pass next_cursor as it came", field: "cursor")
            }
            query.after = after
        }
        if let category = parameters.get("category") {
            guard let value = Client.Category(rawValue: category) else {
                let allowed = Client.Category.allCases.map(\.rawValue).joined(separator: ", ")
                throw Problem.badRequest("category must be one of: \(allowed)", field: "category")
            }
            query.category = value
        }
        if let due = parameters.get("due_for_follow_up") {
            guard let value = Bool(String(due)) else {
                throw Problem.badRequest("due_for_follow_up must be true or false", field: "due_for_follow_up")
            }
            query.dueForFollowUp = value
        }
        return query
    }
}
