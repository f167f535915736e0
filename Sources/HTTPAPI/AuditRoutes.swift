import ClientBase
import Foundation
import Hummingbird
import Postgres

/// `GET /v1/audit-log`: who did what, newest first; owners and admins only. There is no route
/// that changes it, and the table refuses updates and deletes.
struct AuditRoutes {
    let database: PostgresClient

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
    }

    static let parameters: Set<String> = ["entity", "entity_id", "limit", "cursor"]

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        let query = request.uri.queryParameters
        try QueryParameters.refuseUnknown(query, allowed: Self.parameters)
        let limit = try QueryParameters.integer(query, "limit", in: 1...200) ?? 50
        var cursor: Int64?
        if let text = query.get("cursor") {
            guard let value = Int64(text), value > 0 else {
                throw QueryParameters.badCursor
            }
            cursor = value
        }
        let entries = try await AuditLog.read(
            entity: query.get("entity"), id: query.get("entity_id")?.lowercased(), before: cursor, limit: limit + 1,
            as: actor, database: database)
        var writer = JSONWriter()
        let next = entries.count > limit ? entries[limit - 1].id.description : nil
        writer.page(entries.prefix(limit), nextCursor: next) { writer, entry in
            writer.raw("{\"id\":"); writer.string(String(entry.id))
            writer.raw(",\"at\":"); writer.date(entry.at)
            writer.raw(",\"actor\":"); writer.string(entry.actor)
            writer.raw(",\"action\":"); writer.string(entry.action)
            writer.raw(",\"entity\":"); writer.string(entry.entity)
            writer.raw(",\"entity_id\":"); writer.string(entry.entityID)
            writer.raw(",\"changes\":"); writer.json(entry.changesJSON)
            writer.raw("}")
        }
        return JSONBody.response(bytes: writer.bytes)
    }
}
