import ClientBase
import Foundation
import Hummingbird

/// `/v1/custom-fields`: the tenant's own typed client fields. Everyone reads them; owners,
/// admins and managers define, change and remove them.
struct CustomFieldRoutes {
    let repository: CustomFieldRepository

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get(":key", use: get)
        group.patch(":key", use: update)
        group.delete(":key", use: delete)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let fields = try await repository.list(as: try context.requireActor())
        return JSONBody.response(bytes: ClientJSON.customFields(fields))
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let changes = try await JSONBody.decode(CustomFieldChanges.self, from: request, context: context)
        let field = try await repository.create(changes, as: try context.requireActor())
        var response = JSONBody.response(bytes: ClientJSON.customField(field), status: .created)
        response.headers[.location] = "/v1/custom-fields/\(field.key)"
        return response
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let field = try await repository.get(try Self.key(context), as: try context.requireActor())
        return JSONBody.response(bytes: ClientJSON.customField(field))
    }

    @Sendable func update(request: Request, context: AppRequestContext) async throws -> Response {
        let key = try Self.key(context)
        let changes = try await JSONBody.decode(CustomFieldChanges.self, from: request, context: context)
        let field = try await repository.update(key, changes, as: try context.requireActor())
        return JSONBody.response(bytes: ClientJSON.customField(field))
    }

    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        try await repository.delete(try Self.key(context), as: try context.requireActor())
        return Response(status: .noContent)
    }

    static func key(_ context: AppRequestContext) throws -> String {
        let text = context.parameters.get("key") ?? ""
        guard (1...40).contains(text.count) else {
            throw Problem.notFound("no custom field '\(text.prefix(50))'")
        }
        return text
    }
}
