import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore

/// `/v1/market-estimates`: what the business knows of its markets, read and written by the
/// roles that run analytics. POST (201 with Location), GET list (`market_zone`,
/// `product_line`, `limit`, `cursor`), GET, PATCH, DELETE (204).
struct MarketEstimateRoutes: Sendable {
    let repository: MarketEstimateRepository

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let changes = try await JSONBody.decode(MarketEstimateChanges.self, from: request, context: context)
        let estimate = try await repository.create(changes, as: actor)
        var response = JSONBody.response(bytes: AnalyticsJSON.estimate(estimate), status: .created)
        response.headers[.location] = "/v1/market-estimates/\(estimate.id.uuidString.lowercased())"
        return response
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        try QueryParameters.refuseUnknown(parameters, allowed: ["market_zone", "product_line", "limit", "cursor"])
        var filter = MarketEstimateRepository.Filter(
            marketZone: parameters.get("market_zone").map { String($0) }, productLine: parameters.get("product_line").map { String($0) })
        filter.limit = try AnalyticsRoutes.integer(parameters, "limit", in: 1...RecordFilter.maximumLimit) ?? 50
        if let cursor = parameters.get("cursor") {
            guard let after = IDCursor.decode(cursor) else {
                throw Problem.badRequest("cursor is not one this API gave out; pass next_cursor as it came", field: "cursor")
            }
            filter.after = after
        }
        let page = try await repository.list(filter, as: try context.requireActor())
        var writer = JSONWriter()
        writer.raw("{\"items\":[")
        for (index, estimate) in page.items.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.bytes += AnalyticsJSON.estimate(estimate)
        }
        writer.raw("],\"next_cursor\":")
        writer.string(page.nextCursor)
        writer.raw("}")
        return JSONBody.response(bytes: writer.bytes)
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let estimate = try await repository.get(try Self.id(context), as: try context.requireActor())
        return JSONBody.response(bytes: AnalyticsJSON.estimate(estimate))
    }

    @Sendable func update(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.id(context)
        let changes = try await JSONBody.decode(MarketEstimateChanges.self, from: request, context: context)
        let estimate = try await repository.update(id, changes, as: try context.requireActor())
        return JSONBody.response(bytes: AnalyticsJSON.estimate(estimate))
    }

    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        try await repository.delete(try Self.id(context), as: try context.requireActor())
        return Response(status: .noContent)
    }

    static func id(_ context: AppRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("'\(text.prefix(64))' is not a market estimate id (a UUID)", field: "id")
        }
        return id
    }
}
