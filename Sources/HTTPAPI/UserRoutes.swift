import ClientBase
import Foundation
import Hummingbird
import Tenancy

/// `/v1/users` and `/v1/api-keys`: owners and admins invite, change and remove users and
/// manage keys; managers may list users (to assign clients). Every change is audited.
struct UserRoutes {
    let users: UserStore
    let keys: APIKeyStore
    let authenticator: Authenticator

    func register(users group: RouterGroup<AppRequestContext>, keys keyGroup: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.post(use: invite)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        group.delete(":id", use: remove)
        keyGroup.get(use: listKeys)
        keyGroup.post(use: createKey)
        keyGroup.delete(":keyID", use: revokeKey)
    }

    struct Invite: Decodable {
        var email: String
        var name: String?
        var role: AccessRole

        enum CodingKeys: String, CodingKey { case email, name, role }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            email = try container.decodeRequired(.email)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            guard let role = try container.decodeChoice(AccessRole.self, forKey: .role) else {
                throw Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value",
                              detail: "field 'role' is required", field: "role")
            }
            self.role = role
        }
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.readUsers)
        let all = try await users.list(tenantID: actor.scope.tenantID)
        return try JSONBody.response(["items": all.map(UserJSON.init)])
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.readUsers)
        return try JSONBody.response(UserJSON(try await users.get(try Self.id(context), tenantID: actor.scope.tenantID)))
    }

    @Sendable func invite(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageUsers)
        let body = try StrictBody.decode(
            Invite.self, allowed: ["email", "name", "role"], from: try await JSONBody.collect(request, context: context))
        let invitation = try await users.invite(
            in: actor.scope, email: body.email, name: body.name, role: body.role, by: actor.role, label: actor.label,
            audit: actor.auditRecorder(action: "invite"))
        var response = try JSONBody.response(InvitationJSON(
            user: UserJSON(invitation.user), invitationToken: invitation.token,
            invitationExpiresAt: ISO8601.string(invitation.expiresAt)), status: .created)
        response.headers[.location] = "/v1/users/\(invitation.user.id.uuidString.lowercased())"
        return response
    }

    /// `role`, `name` (null clears it) and `status` (`active` or `disabled`).
    struct Update: Decodable {
        var role: AccessRole?
        var name: FieldValue<String>
        var status: User.Status?

        enum CodingKeys: String, CodingKey { case role, name, status }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decodeChoice(AccessRole.self, forKey: .role)
            status = try container.decodeChoice(User.Status.self, forKey: .status)
            name = try FieldValue(container, .name)
        }
    }

    @Sendable func update(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageUsers)
        let body = try StrictBody.decode(
            Update.self, allowed: ["role", "name", "status"], from: try await JSONBody.collect(request, context: context))
        let user = try await users.update(
            try Self.id(context), in: actor.scope, role: body.role, name: body.name.change, status: body.status,
            by: actor.role, audit: actor.auditRecorder(action: "update"))
        authenticator.invalidate()
        return try JSONBody.response(UserJSON(user))
    }

    @Sendable func remove(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageUsers)
        try await users.remove(try Self.id(context), in: actor.scope, by: actor.role, audit: actor.auditRecorder(action: "delete"))
        authenticator.invalidate()
        return Response(status: .noContent)
    }

    struct NewKey: Decodable {
        var name: String
        var role: AccessRole
        var userID: UUID?
        enum CodingKeys: String, CodingKey {
            case name, role
            case userID = "user_id"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeRequired(.name)
            guard let role = try container.decodeChoice(AccessRole.self, forKey: .role) else {
                throw Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value",
                              detail: "field 'role' is required", field: "role")
            }
            self.role = role
            if let text = try container.decodeIfPresent(String.self, forKey: .userID) {
                guard let id = UUID(uuidString: text) else {
                    throw Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value",
                                  detail: "field 'user_id' must be a user id (a UUID)", field: "user_id")
                }
                userID = id
            }
        }
    }

    @Sendable func listKeys(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageUsers)
        return try JSONBody.response(["items": try await keys.list(tenantID: actor.scope.tenantID).map(KeyJSON.init)])
    }

    @Sendable func createKey(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageUsers)
        let body = try StrictBody.decode(
            NewKey.self, allowed: ["name", "role", "user_id"], from: try await JSONBody.collect(request, context: context))
        let key = try await keys.create(
            in: actor.scope, name: body.name, role: body.role, userID: body.userID, by: actor.role,
            audit: actor.auditRecorder(action: "create"))
        return try JSONBody.response(
            ["key_id": key.keyID, "token": key.token, "name": key.name, "role": key.role.rawValue,
             "user_id": key.userID?.uuidString.lowercased()],
            status: .created)
    }

    @Sendable func revokeKey(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageUsers)
        let keyID = context.parameters.get("keyID") ?? ""
        try await keys.revoke(in: actor.scope, keyID: keyID, by: actor.role, audit: actor.auditRecorder(action: "revoke"))
        authenticator.invalidate()
        return Response(status: .noContent)
    }

    static func id(_ context: AppRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("'\(text.prefix(64))' is not a user id (a UUID)", field: "id")
        }
        return id
    }
}

struct InvitationJSON: Encodable {
    var user: UserJSON
    var invitationToken: String
    var invitationExpiresAt: String
    enum CodingKeys: String, CodingKey {
        case user
        case invitationToken = "invitation_token", invitationExpiresAt = "invitation_expires_at"
    }
}

struct KeyJSON: Encodable {
    var keyID: String
    var name: String
    var role: String
    var userID: String?
    var createdAt: String
    var revokedAt: String?

    init(_ key: APIKeyInfo) {
        keyID = key.keyID
        name = key.name
        role = key.role.rawValue
        userID = key.userID?.uuidString.lowercased()
        createdAt = ISO8601.string(key.createdAt)
        revokedAt = key.revokedAt.map(ISO8601.string)
    }

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id", name, role, userID = "user_id", createdAt = "created_at", revokedAt = "revoked_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(keyID, forKey: .keyID)
        try container.encode(name, forKey: .name)
        try container.encode(role, forKey: .role)
        try container.encode(userID, forKey: .userID)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(revokedAt, forKey: .revokedAt)
    }
}

/// A body field that may be absent (keep), null (clear) or a value.
struct FieldValue<Value: Decodable & Sendable>: Sendable {
    var change: Value??

    init<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws {
        guard container.contains(key) else { change = nil; return }
        change = .some(try container.decodeNil(forKey: key) ? nil : try container.decode(Value.self, forKey: key))
    }
}

extension Actor {
    /// Records user and key changes in this tenant's audit log, as this actor.
    func auditRecorder(action: String) -> AuditRecorder {
        let actor = self
        return { entity, id, before, after in
            AuditLog.entry(by: actor, action: action, entity: entity, id: id,
                           before: before?.mapValues(AuditValue.text), after: after?.mapValues(AuditValue.text))
        }
    }
}
