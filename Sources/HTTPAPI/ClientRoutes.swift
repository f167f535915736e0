import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore
import Postgres
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
        group.get(":id/duplicates", use: duplicates)
        group.post(":id/merge", use: merge)
    }

    @Sendable func duplicates(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let candidates = try await repository.duplicates(of: try Self.id(context), as: try context.requireActor())
        return JSONBody.response(bytes: ClientJSON.duplicates(candidates))
    }

    @Sendable func merge(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let id = try Self.id(context)
        let body = try await JSONBody.decode(ClientMergeRequest.self, from: request, context: context)
        let outcome = try await repository.merge(
            body.duplicateID, into: id, as: try context.requireActor(),
            ifRevisionIn: try Self.ifMatch(request.headers[.ifMatch]), duplicateRevision: body.duplicateRevision)
        return Self.response(outcome.client)
    }

    @Sendable func categoryHistory(request: Request, context: AppRequestContext) async throws -> Response {
        let changes = try await repository.categoryHistory(of: try Self.id(context), as: try context.requireActor())
        return JSONBody.response(bytes: ClientJSON.history(changes))
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let parameters = request.uri.queryParameters
        try QueryParameters.refuseUnknown(parameters, allowed: ["allow_duplicate"])
        let allowDuplicate = try QueryParameters.bool(parameters, "allow_duplicate") ?? false
        let key = try IdempotentRequests.key(of: request)
        let body = try await JSONBody.collect(request, context: context)
        let changes = try JSONBody.decode(ClientChanges.self, from: body)
        do {
            guard let key else {
                let client = try await repository.create(changes, as: actor, allowDuplicate: allowDuplicate)
                return Self.created(client)
            }
            let route = allowDuplicate ? "POST /v1/clients?allow_duplicate=true" : "POST /v1/clients"
            return try await idempotency.run(key: key, route: route, body: body, scope: actor.scope) { session in
                let client = try await repository.create(changes, as: actor, allowDuplicate: allowDuplicate, in: session)
                return IdempotentRequests.Stored(
                    status: 201, location: Self.location(of: client), etag: Self.etag(of: client), body: ClientJSON.client(client))
            }
        } catch let duplicates as DuplicateClientsError {
            throw Self.problem(duplicates)
        }
    }

    /// 409, listing the ids of the clients that hold the same identifiers.
    static func problem(_ duplicates: DuplicateClientsError) -> Problem {
        var problem = Problem(status: .conflict, slug: "duplicate", title: "Likely duplicate", detail: duplicates.message)
        problem.members["duplicates"] = duplicates.matches.map(\.auditID)
        return problem
    }

    static func created(_ client: Client) -> Response {
        var response = Self.response(client, status: .created)
        response.headers[.location] = location(of: client)
        return response
    }

    static func location(of client: Client) -> String { "/v1/clients/\(client.id.lowercaseText)" }
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
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: ["allow_duplicate"])
        let allowDuplicate = try QueryParameters.bool(request.uri.queryParameters, "allow_duplicate") ?? false
        let changes = try await JSONBody.decode(ClientChanges.self, from: request, context: context)
        do {
            let client = try await repository.update(
                id, changes, as: try context.requireActor(),
                ifRevisionIn: try Self.ifMatch(request.headers[.ifMatch]), allowDuplicate: allowDuplicate)
            return Self.response(client)
        } catch let duplicates as DuplicateClientsError {
            throw Self.problem(duplicates)
        }
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

    static let listParameters: Set<String> = [
        "limit", "cursor", "sort", "q", "kind", "category", "tag", "city", "postal_code", "assigned_user_id",
        "consent_surveys", "consent_marketing", "first_purchase_from", "first_purchase_to",
        "last_purchase_from", "last_purchase_to", "due_for_follow_up", "churn_risk",
    ]

    static func listQuery(_ parameters: FlatDictionary<Substring, Substring>) throws -> ClientListQuery {
        try QueryParameters.refuseUnknown(parameters, allowed: listParameters)
        var query = ClientListQuery()
        if let limit = try QueryParameters.integer(parameters, "limit", in: 1...ClientListQuery.maximumLimit) {
            query.limit = limit
        }
        query.kind = try QueryParameters.enumeration(parameters, "kind", Client.Kind.self)
        query.category = try QueryParameters.enumeration(parameters, "category", Client.Category.self)
        query.tags = parameters[values: "tag"].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        if query.tags.count > 20 || query.tags.contains(where: { $0.count > 50 }) {
            throw Problem.badRequest("tag takes at most 20 tags of at most 50 characters", field: "tag")
        }
        if let city = parameters.get("city") {
            guard !city.isEmpty, city.count <= 200 else { throw Problem.badRequest("city must be 1 to 200 characters", field: "city") }
            query.city = String(city)
        }
        if let code = parameters.get("postal_code") {
            guard (1...10).contains(code.count), code.allSatisfy({ $0.isLetter && $0.isASCII || $0.isASCII && $0.isNumber || $0 == " " || $0 == "-" }) else {
                throw Problem.badRequest("postal_code must be 1 to 10 letters, digits, spaces or dashes (a prefix, like 75)", field: "postal_code")
            }
            query.postalCodePrefix = String(code)
        }
        if let user = parameters.get("assigned_user_id") {
            guard let id = UUID(uuidString: String(user)) else {
                throw Problem.badRequest("assigned_user_id must be a UUID", field: "assigned_user_id")
            }
            query.assignedUserID = id
        }
        query.consentSurveys = try QueryParameters.bool(parameters, "consent_surveys")
        query.consentMarketing = try QueryParameters.bool(parameters, "consent_marketing")
        query.firstPurchaseFrom = try QueryParameters.date(parameters, "first_purchase_from")
        query.firstPurchaseTo = try QueryParameters.date(parameters, "first_purchase_to")
        query.lastPurchaseFrom = try QueryParameters.date(parameters, "last_purchase_from")
        query.lastPurchaseTo = try QueryParameters.date(parameters, "last_purchase_to")
        query.dueForFollowUp = try QueryParameters.bool(parameters, "due_for_follow_up") ?? false
        query.minimumChurnRisk = try QueryParameters.integer(parameters, "churn_risk", in: 1...100)
        if let search = parameters.get("q") {
            let text = search.trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.count <= 200, ClientListQuery.isSearchable(text) else {
                throw Problem.badRequest("q must hold at least 3 letters or digits, and at most 200 characters", field: "q")
            }
            query.search = text
            query.sort = .relevance
        }
        if let sort = try QueryParameters.enumeration(parameters, "sort", ClientListQuery.Sort.self) {
            guard sort != .relevance || query.search != nil else {
                throw Problem.badRequest("sort=relevance needs q, the text searched", field: "sort")
            }
            query.sort = sort
        }
        if let cursor = parameters.get("cursor") {
            guard let decoded = ClientCursor.decode(String(cursor)) else {
                throw QueryParameters.badCursor
            }
            guard decoded.sort == query.sort else {
                throw Problem.badRequest("this cursor belongs to sort=\(decoded.sort.rawValue); pass the same sort and q as for the first page",
                                         field: "cursor")
            }
            query.cursor = decoded
        }
        return query
    }
}
