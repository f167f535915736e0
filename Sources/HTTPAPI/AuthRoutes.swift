import ClientBase
import Foundation
import Hummingbird
import Tenancy

/// Login, invitations, logout and passwords. Login, accepting an invitation, asking for a reset
/// link and using it need no credential; logout, `/v1/me` and changing one's password do.
struct AuthRoutes {
    let users: UserStore
    let authenticator: Authenticator

    struct Login: Decodable {
        var account: String
        var email: String
        var password: String

        enum CodingKeys: String, CodingKey { case account, email, password }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            account = try container.decodeRequired(.account)
            email = try container.decodeRequired(.email)
            password = try container.decodeRequired(.password)
        }
    }

    struct Accept: Decodable {
        var token: String
        var password: String
        var name: String?

        enum CodingKeys: String, CodingKey { case token, password, name }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            token = try container.decodeRequired(.token)
            password = try container.decodeRequired(.password)
            name = try container.decodeIfPresent(String.self, forKey: .name)
        }
    }

    func registerPublic(on group: RouterGroup<AppRequestContext>) {
        group.post("login", use: login)
        group.post("accept-invitation", use: accept)
        group.post("forgot-password", use: forgotPassword)
        group.post("reset-password", use: resetPassword)
    }

    func registerAuthenticated(on group: RouterGroup<AppRequestContext>) {
        group.post("auth/logout", use: logout)
        group.get("me", use: me)
        group.post("me/password", use: changePassword)
    }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try StrictBody.decode(
            Login.self, allowed: ["account", "email", "password"], from: try await JSONBody.collect(request, context: context))
        let address = context.remoteIP
        let session = try await users.login(tenantSlug: body.account, email: body.email, password: body.password, address: address)
        return try JSONBody.response(SessionJSON(session))
    }

    @Sendable func accept(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try StrictBody.decode(
            Accept.self, allowed: ["token", "password", "name"], from: try await JSONBody.collect(request, context: context))
        let session = try await users.accept(invitation: body.token, password: body.password, name: body.name)
        return try JSONBody.response(SessionJSON(session))
    }

    @Sendable func logout(request: Request, context: AppRequestContext) async throws -> Response {
        let credential = try context.requireCredential()
        guard credential.isSession else {
            throw Problem.badRequest("logout ends a login session; an API key is revoked with DELETE /v1/api-keys/{key_id}")
        }
        try await users.revokeSession(id: credential.keyID)
        authenticator.invalidate()
        return Response(status: .noContent)
    }

    @Sendable func me(request: Request, context: AppRequestContext) async throws -> Response {
        let credential = try context.requireCredential()
        var user: User?
        if let id = credential.userID { user = try await users.get(id, tenantID: credential.scope.tenantID) }
        return try JSONBody.response(Me(
            account: credential.tenantSlug, role: credential.role.rawValue,
            credential: credential.isSession ? "session" : "api_key",
            permissions: Permission.allCases.filter { $0.allows(credential.role) }.map(\.rawValue),
            user: user.map(UserJSON.init)))
    }

    struct Me: Encodable {
        var account: String
        var role: String
        var credential: String
        var permissions: [String]
        var user: UserJSON?
    }
}

struct SessionJSON: Encodable {
    var token: String
    var expiresAt: Date
    var user: UserJSON

    init(_ session: Session) {
        token = session.token
        expiresAt = session.expiresAt
        user = UserJSON(session.user)
    }

    enum CodingKeys: String, CodingKey {
        case token, user
        case expiresAt = "expires_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(token, forKey: .token)
        try container.encode(ISO8601.string(expiresAt), forKey: .expiresAt)
        try container.encode(user, forKey: .user)
    }
}

struct UserJSON: Encodable {
    var id: String
    var email: String
    var name: String?
    var role: String
    var status: String
    var createdAt: String
    var lastLoginAt: String?

    init(_ user: User) {
        id = user.id.uuidString.lowercased()
        email = user.email
        name = user.name
        role = user.role.rawValue
        status = user.status.rawValue
        createdAt = ISO8601.string(user.createdAt)
        lastLoginAt = user.lastLoginAt.map(ISO8601.string)
    }

    enum CodingKeys: String, CodingKey {
        case id, email, name, role, status
        case createdAt = "created_at", lastLoginAt = "last_login_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(email, forKey: .email)
        try container.encode(name, forKey: .name)
        try container.encode(role, forKey: .role)
        try container.encode(status, forKey: .status)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastLoginAt, forKey: .lastLoginAt)
    }
}

/// Timestamps as the client writer puts them: UTC with milliseconds.
enum ISO8601 {
    static func string(_ date: Date) -> String {
        var writer = JSONWriter()
        writer.date(date)
        return String(decoding: writer.bytes.dropFirst().dropLast(), as: UTF8.self)
    }
}
