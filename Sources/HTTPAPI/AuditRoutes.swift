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
        var limit = 50
        if let text = query.get("limit") {
            guard let value = Int(text), (1...200).contains(value) else {
                throw Problem.badRequest("limit must be a whole number from 1 to 200", field: "limit")
            }
            limit = value
        }
        var cursor: Int64?
        if let text = query.get("cursor") {
            guard let value = Int64(text), value > 0 else {
                throw Problem.badRequest("cursor is not one this API gave out; pass next_cursor as it came", field: "cursor")
            }
            cursor = value
        }
        let entries = try await AuditLog.read(
            entity: query.get("entity"), id: query.get("entity_id")?.lowercased(), before: cursor, limit: limit + 1,
            as: actor, database: database)
        var writer = JSONWriter()
        writer.raw("{\"items\":[")
        for (index, entry) in entries.prefix(limit).enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"id\":"); writer.string(String(entry.id))
            writer.raw(",\"at\":"); writer.date(entry.at)
            writer.raw(",\"actor\":"); writer.string(entry.actor)
            writer.raw(",\"action\":"); writer.string(entry.action)
            writer.raw(",\"entity\":"); writer.string(entry.entity)
            writer.raw(",\"entity_id\":"); writer.string(entry.entityID)
            writer.raw(",\"changes\":"); writer.bytes.append(contentsOf: entry.changesJSON.utf8)
            writer.raw("}")
        }
        writer.raw("],\"next_cursor\":")
        writer.string(entries.count > limit ? entries[limit - 1].id.description : nil)
        writer.raw("}")
        return JSONBody.response(bytes: writer.bytes)
    }
}
