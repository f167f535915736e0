import Hummingbird
import Tenancy

/// Requires `Authorization: Bearer <api key>`: 401 without a valid key, 403 for a suspended
/// tenant. The credential names the tenant; nothing in the request can choose another.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw Problem.unauthorized("send your API key as `Authorization: Bearer <key>`")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("the Authorization header must be `Bearer <key>`")
        }
        let token = String(parts[1].drop { $0 == " " })
        guard let credential = try await authenticator.authenticate(token: token) else {
            throw Problem.unauthorized("the API key is not valid (wrong, revoked, or of a deleted tenant)")
        }
        guard credential.tenantStatus == .active else {
            throw Problem(status: .forbidden, slug: "tenant-suspended", title: "Account suspended",
                          detail: "the account '\(credential.tenantSlug)' is suspended; contact Clientele support to resume it")
        }
        var context = context
        context.credential = credential
        return try await next(request, context)
    }
}
