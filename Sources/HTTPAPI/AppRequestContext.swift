import ClientBase
import Hummingbird
import Tenancy

/// The request context of every route: Hummingbird's core storage plus the credential the
/// authentication middleware found. Handlers never read a tenant from the URL or the body.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var credential: Credential?
    /// The caller's IP address, for login throttling.
    public let remoteIP: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        credential = nil
        remoteIP = source.channel.remoteAddress?.ipAddress
    }

    /// Client records are small: anything past 64 KiB is refused with 413 before it is read whole.
    public var maxUploadSize: Int { 64 * 1024 }

    /// The credential of an authenticated route. Routes behind `AuthMiddleware` always have one.
    func requireCredential() throws -> Credential {
        guard let credential else { throw Problem.unauthorized("authentication is required") }
        return credential
    }

    /// Who is acting, for the domain: the credential's tenant, role and user.
    func requireActor() throws -> Actor {
        let credential = try requireCredential()
        return Actor(scope: credential.scope, role: credential.role, userID: credential.userID, label: credential.label)
    }
}
