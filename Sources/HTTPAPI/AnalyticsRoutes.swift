import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore
import Postgres

/// `/v1/analytics/...`: the owner's questions, each a GET with its own query parameters
/// (unknown ones refused with 400), and the tenant's analytics settings (GET, PATCH).
struct AnalyticsRoutes: Sendable {
    let analytics: Analytics

    /// `/v1/analytics` and `/v1/market-estimates`.
    static func register(on v1: RouterGroup<AppRequestContext>, database: PostgresClient) {
        AnalyticsRoutes(analytics: Analytics(database: database)).register(on: v1.group("analytics"))
        // Market estimates are records like the ones around the purchase, served alike.
        RecordRoutes(
            repository: MarketEstimateRepository(database: database), path: "market-estimates",
            filterNames: ["market_zone", "product_line"], ofClients: false,
            makeFilter: { records, parameters in
                MarketEstimateRepository.Filter(
                    records: records, marketZone: parameters.get("market_zone").map { String($0) },
                    productLine: parameters.get("product_line").map { String($0) })
            },
            json: AnalyticsJSON.estimate, id: \.id, idempotency: IdempotentRequests(database: database)
        ).register(on: v1.group("market-estimates"))
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("settings", use: settings)
        group.patch("settings", use: updateSettings)
        group.get("pareto") { request, context in
            let parameters = try Self.parameters(request, ["from", "to", "points"])
            let points = try QueryParameters.integer(parameters, "points", in: Analytics.paretoPoints) ?? 21
            return try await Self.send(analytics.pareto(try Self.period(parameters), points: points, as: context.requireActor()))
        }
        group.get("market-share") { request, context in
            let parameters = try Self.parameters(request, ["from", "to", "zone", "product_line", "limit"])
            let from = try QueryParameters.date(parameters, "from"), to = try QueryParameters.date(parameters, "to")
            if let from, let to, from > to { throw Problem.badRequest("from (\(from)) is after to (\(to))", field: "from") }
            return try await Self.send(analytics.marketShare(
                zone: parameters.get("zone").map { String($0) }, line: parameters.get("product_line").map { String($0) },
                from: from, to: to, limit: try Self.limit(parameters), as: context.requireActor()))
        }
        group.get("seniority") { request, context in
            let parameters = try Self.parameters(request, ["from", "to"])
            return try await Self.send(analytics.seniority(try Self.period(parameters), as: context.requireActor()))
        }
        group.get("acquisition") { request, context in
            let parameters = try Self.parameters(request, ["from", "to"])
            return try await Self.send(analytics.acquisition(try Self.period(parameters), as: context.requireActor()))
        }
        group.get("difficult-clients") { request, context in
            let parameters = try Self.parameters(request, ["from", "to", "limit"])
            return try await Self.send(analytics.difficultClients(
                try Self.period(parameters), limit: try Self.limit(parameters), as: context.requireActor()))
        }
        group.get("conquest-retention") { request, context in
            let parameters = try Self.parameters(request, ["from", "to"])
            return try await Self.send(analytics.conquestRetention(try Self.period(parameters), as: context.requireActor()))
        }
        group.get("rfm") { request, context in
            let parameters = try Self.parameters(request, ["from", "to", "segment", "limit"])
            return try await Self.send(analytics.rfm(
                try Self.period(parameters), segment: try QueryParameters.enumeration(parameters, "segment"),
                limit: try Self.limit(parameters), as: context.requireActor()))
        }
        group.get("personas") { request, context in
            let parameters = try Self.parameters(request, ["from", "to", "count"])
            let count = try QueryParameters.integer(parameters, "count", in: Analytics.personaCounts) ?? 5
            return try await Self.send(analytics.personas(try Self.period(parameters), count: count, as: context.requireActor()))
        }
        group.get("commercial-effort") { request, context in
            let parameters = try Self.parameters(request, ["from", "to", "visits", "offers", "limit"])
            return try await Self.send(analytics.commercialEffort(
                try Self.period(parameters), visits: try QueryParameters.integer(parameters, "visits", in: Analytics.effortUnits),
                offers: try QueryParameters.integer(parameters, "offers", in: Analytics.effortUnits),
                limit: try Self.limit(parameters), as: context.requireActor()))
        }
    }

    @Sendable func settings(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        return JSONBody.response(bytes: AnalyticsJSON.settings(try await analytics.settings(as: try context.requireActor())))
    }

    @Sendable func updateSettings(request: Request, context: AppRequestContext) async throws -> Response {
        let changes = try await JSONBody.decode(AnalyticsSettingsChanges.self, from: request, context: context)
        let settings = try await analytics.updateSettings(changes, as: try context.requireActor())
        return JSONBody.response(bytes: AnalyticsJSON.settings(settings))
    }

    // MARK: Query parameters

    static func parameters(_ request: Request, _ allowed: Set<String>) throws -> QueryParameters.Parameters {
        let parameters = request.uri.queryParameters
        try QueryParameters.refuseUnknown(parameters, allowed: allowed)
        return parameters
    }

    /// `from`, `to` as dates, `from` not after `to` (400 otherwise).
    static func period(_ parameters: QueryParameters.Parameters) throws -> AnalyticsPeriod {
        let from = try QueryParameters.date(parameters, "from"), to = try QueryParameters.date(parameters, "to")
        do {
            return try AnalyticsPeriod(from: from, to: to)
        } catch let error as ClientBaseError {
            throw Problem.badRequest(error.message, field: error.field)
        }
    }

    static func limit(_ parameters: QueryParameters.Parameters) throws -> Int {
        try QueryParameters.integer(parameters, "limit", in: 1...AnalyticsLimit.maximum) ?? AnalyticsLimit.default
    }

    static func send(_ report: AnalyticsReport) -> Response {
        JSONBody.response(bytes: Array(report.json.utf8))
    }
}
