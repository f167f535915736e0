import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore

/// `GET /v1/clients/{id}/timeline?limit=&cursor=&types=`: everything that happened around a
/// client, newest first.
struct TimelineRoutes {
    let repository: TimelineRepository

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get(":id/timeline", use: timeline)
    }

    @Sendable func timeline(request: Request, context: AppRequestContext) async throws -> Response {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("'\(text.prefix(64))' is not a client id (a UUID)", field: "id")
        }
        let query = try Self.query(request.uri.queryParameters)
        let page = try await repository.timeline(of: id, query, as: try context.requireActor())
        return JSONBody.response(bytes: RecordJSON.timeline(page))
    }

    static func query(_ parameters: FlatDictionary<Substring, Substring>) throws -> TimelineQuery {
        var query = TimelineQuery()
        for (name, _) in parameters where !["limit", "cursor", "types"].contains(String(name)) {
            throw Problem.badRequest("unknown query parameter '\(name)'; use limit, cursor or types", field: String(name))
        }
        if let limit = try QueryParameters.integer(parameters, "limit", in: 1...TimelineQuery.maximumLimit) {
            query.limit = limit
        }
        if let cursor = parameters.get("cursor"), !query.resume(after: String(cursor)) {
            throw QueryParameters.badCursor
        }
        if let types = parameters.get("types") {
            var selected = Set<TimelineItem.Kind>()
            for name in types.split(separator: ",", omittingEmptySubsequences: false) {
                guard let kinds = TimelineItem.Kind.named(name.trimmingCharacters(in: .whitespaces)) else {
                    throw Problem.badRequest(
                        "types must be a comma-separated list of: purchase, interaction, complaint (or complaint_opened, complaint_resolved), payment (or payment_due, payment_paid, payment_incident), relationship, category_change, survey_answer",
                        field: "types")
                }
                selected.formUnion(kinds)
            }
            query.types = selected
        }
        return query
    }
}
