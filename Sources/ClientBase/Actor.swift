import Foundation
import Postgres
import Tenancy

/// Who is acting on a tenant's client base: the tenant (from the credential, never from the
/// request), the role, and the user behind it. Every repository call takes one, so what a
/// role may see is decided here and in SQL, not left to each route.
public struct Actor: Sendable, Hashable {
    public var scope: TenantScope
    public var role: AccessRole
    /// The user acting, or the user an API key acts for; nil for a key of no user.
    public var userID: UUID?
    /// How changes are recorded as made by: `user:<id>` or `api-key:<key id>`.
    public var label: String

    public init(scope: TenantScope, role: AccessRole, userID: UUID?, label: String) {
        self.scope = scope
        self.role = role
        self.userID = userID
        self.label = label
    }

    /// The platform itself (demo data, imports by the CLI, benchmarks): full rights.
    public static func system(_ scope: TenantScope, label: String) -> Actor {
        Actor(scope: scope, role: .owner, userID: nil, label: label)
    }

    /// The clients this actor may see: an agent sees the clients assigned to them only.
    public var access: ClientAccess {
        role == .agent ? .assignedTo(userID) : .all
    }

    /// Refuses (403) an action the role does not allow.
    public func require(_ permission: Permission) throws {
        guard permission.allows(role) else {
            throw ClientBaseError(.forbidden, "the role '\(role.rawValue)' may not \(permission.summary)")
        }
    }
}

/// Which clients an actor may see and change.
public enum ClientAccess: Sendable, Hashable {
    case all
    /// Only clients whose `assigned_user_id` is this user (none when nil).
    case assignedTo(UUID?)

    /// A condition on a clients row, for a WHERE clause: `column` names its
    /// `assigned_user_id` (qualify it when the query joins).
    public func condition(column: String = "assigned_user_id") -> PostgresQuery {
        switch self {
        case .all:
            return "TRUE"
        case .assignedTo(let user):
            return "\(unescaped: column) IS NOT DISTINCT FROM \(user) AND \(user)::uuid IS NOT NULL"
        }
    }
}
