import ClientBase
import Foundation
import Hummingbird
import Tenancy

/// `POST /v1/auth/forgot-password`, `POST /v1/auth/reset-password` (no credential) and
/// `POST /v1/me/password` (a session).
extension AuthRoutes {
    struct ForgotPassword: Decodable {
        var account: String
        var email: String

        enum CodingKeys: String, CodingKey { case account, email }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            account = try container.decodeRequired(.account)
            email = try container.decodeRequired(.email)
        }
    }

    struct ResetPassword: Decodable {
        var token: String
        var password: String

        enum CodingKeys: String, CodingKey { case token, password }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            token = try container.decodeRequired(.token)
            password = try container.decodeRequired(.password)
        }
    }

    struct ChangePassword: Decodable {
        var currentPassword: String
        var newPassword: String

        enum CodingKeys: String, CodingKey {
            case currentPassword = "current_password", newPassword = "new_password"
        }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            currentPassword = try container.decodeRequired(.currentPassword)
            newPassword = try container.decodeRequired(.newPassword)
        }
    }

    /// The audit entries of events whose actor the store finds (the user a reset token names).
    static let accountAudit: UserStore.AccountAudit = { scope, label, action in
        Actor(scope: scope, role: .viewer, userID: nil, label: label).auditRecorder(action: action)
    }

    /// Always 202, whatever the account and email name: the answer tells nothing about who
    /// has an account. Only too many requests from one address get 429.
    @Sendable func forgotPassword(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try StrictBody.decode(
            ForgotPassword.self, allowed: ["account", "email"], from: try await JSONBody.collect(request, context: context))
        try await users.requestPasswordReset(
            tenantSlug: body.account.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(), email: body.email,
            address: context.remoteIP, audit: Self.accountAudit)
        return Response(status: .accepted)
    }

    @Sendable func resetPassword(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try StrictBody.decode(
            ResetPassword.self, allowed: ["token", "password"], from: try await JSONBody.collect(request, context: context))
        try await users.resetPassword(token: body.token, password: body.password, audit: Self.accountAudit)
        authenticator.invalidate()
        return Response(status: .noContent)
    }

    @Sendable func changePassword(request: Request, context: AppRequestContext) async throws -> Response {
        let credential = try context.requireCredential()
        guard credential.isSession, let userID = credential.userID else {
            throw TenancyError(.sessionRequired,
                "a password is changed by its user, logged in with a session; an API key has no password")
        }
        let body = try StrictBody.decode(
            ChangePassword.self, allowed: ["current_password", "new_password"],
            from: try await JSONBody.collect(request, context: context))
        let actor = try context.requireActor()
        try await users.changePassword(
            userID: userID, in: credential.scope, keepingSession: credential.keyID, current: body.currentPassword,
            new: body.newPassword, address: context.remoteIP, audit: actor.auditRecorder(action: "change_password"))
        authenticator.invalidate()
        return Response(status: .noContent)
    }
}
