import ClientBase
import Foundation
import Hummingbird

/// `GET /v1/account` (every role) and `PATCH /v1/account` (owners and admins): the business's
/// name and time zone. A new zone moves the next firing of the schedules that follow it.
struct AccountRoutes {
    let repository: AccountRepository

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get(use: get)
        group.patch(use: update)
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        return Self.response(try await repository.get(as: try context.requireActor()))
    }

    @Sendable func update(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let changes = try await JSONBody.decode(AccountSettingsChanges.self, from: request, context: context)
        return Self.response(try await repository.update(changes, as: try context.requireActor()))
    }

    static func response(_ account: AccountSettings) -> Response {
        var writer = JSONWriter()
        writer.raw("{\"slug\":"); writer.string(account.slug)
        writer.raw(",\"name\":"); writer.string(account.name)
        writer.raw(",\"time_zone\":"); writer.string(account.timeZone)
        writer.raw(",\"status\":"); writer.string(account.status)
        writer.raw(",\"created_at\":"); writer.date(account.createdAt)
        writer.raw("}")
        return JSONBody.response(bytes: writer.bytes)
    }
}
