import ClientBase
import Hummingbird
import Outbound

/// The account's own mail server: `GET`, `PUT`, `DELETE /v1/mail/settings` (owners and admins,
/// `manageMail`). The password is write-only: responses say `has_password`.
struct MailRoutes: Sendable {
    let store: TenantMailSettingsStore

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("settings", use: get)
        group.put("settings", use: put)
        group.delete("settings", use: delete)
    }

    static let notSet = "this account has no mail server of its own: its email goes through the platform's"

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        guard let settings = try await store.get(as: try context.requireActor()) else { throw Problem.notFound(Self.notSet) }
        return JSONBody.response(bytes: Self.json(settings))
    }

    @Sendable func put(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let actor = try context.requireActor()
        // The role first: a viewer's body is not worth a validation message.
        try actor.require(.manageMail)
        let change = try await JSONBody.decode(TenantMailSettingsChange.self, from: request, context: context)
        return JSONBody.response(bytes: Self.json(try await store.put(change, as: actor)))
    }

    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        guard try await store.delete(as: try context.requireActor()) else { throw Problem.notFound(Self.notSet) }
        return Response(status: .noContent)
    }

    static func json(_ settings: TenantMailSettings) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"from_address\":"); writer.string(settings.fromAddress)
        writer.raw(",\"from_name\":"); writer.string(settings.fromName)
        writer.raw(",\"has_password\":"); writer.raw(settings.hasPassword ? "true" : "false")
        writer.raw(",\"host\":"); writer.string(settings.host)
        writer.raw(",\"port\":"); writer.integer(settings.port)
        writer.raw(",\"security\":"); writer.string(settings.security.rawValue)
        writer.raw(",\"updated_at\":"); writer.date(settings.updatedAt)
        writer.raw(",\"username\":"); writer.string(settings.username)
        writer.raw("}")
        return writer.bytes
    }
}
