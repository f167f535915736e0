import Foundation
import Postgres

/// A person of a business who logs in.
public struct User: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        /// Invited, no password yet.
        case invited
        case active
        /// Kept for the record, cannot log in; their sessions and keys stop.
        case disabled
    }

    public var id: UUID
    public var tenantID: Int64
    public var email: String
    public var name: String?
    public var role: AccessRole
    public var status: Status
    public var createdAt: Date
    public var lastLoginAt: Date?

    static let columns: PostgresQuery = "id, tenant_id, email, name, role, status, created_at, last_login_at"
    /// The same, for queries that join `platform.users u` to other tables.
    static let columnsOfU: PostgresQuery = "u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.created_at, u.last_login_at"

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        tenantID = try row.decode(at: 1)
        email = try row.decode(at: 2)
        name = try row.decode(at: 3)
        role = try row.decode(at: 4)
        status = try row.decode(at: 5)
        createdAt = try row.decode(at: 6)
        lastLoginAt = try row.decode(at: 7)
    }

    /// Lowercased and trimmed, with one `@` and a dot in the domain; else a clear error.
    public static func normalise(email: String) throws -> String {
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
              !parts[1].hasSuffix("."), email.utf8.count <= 254, !email.contains(where: \.isWhitespace)
        else {
            throw TenancyError(.invalidEmail, "'\(email.prefix(80))' is not an email address")
        }
        return email
    }
}

/// Builds the statement that records a change in the tenant's audit log (the domain layer
/// above owns its format). Snapshots map field names to values; nil means no record.
public typealias AuditRecorder = @Sendable (
    _ entity: String, _ id: String, _ before: [String: String]?, _ after: [String: String]?
) -> PostgresQuery

extension User {
    var auditFields: [String: String] {
        var fields = ["email": email, "role": role.rawValue, "status": status.rawValue]
        fields["name"] = name
        return fields
    }
}

/// An invitation as given to the inviter once: the token goes to the invited person.
public struct Invitation: Sendable {
    public var user: User
    public var token: String
    public var expiresAt: Date
}

/// A login session as given to the user once.
public struct Session: Sendable {
    public var token: String
    public var expiresAt: Date
    public var user: User
}

extension AccessRole {
    /// Owner 4 … viewer 0: a role may only grant or manage roles at or below its own, and only
    /// an owner manages owners.
    public var rank: Int {
        switch self {
        case .owner: 4
        case .admin: 3
        case .manager: 2
        case .agent: 1
        case .viewer: 0
        }
    }

    /// Whether someone of this role may give `role` to a user or a key, or manage a holder of it.
    public func mayManage(_ role: AccessRole) -> Bool {
        self == .owner || (self == .admin && role != .owner)
    }
}
