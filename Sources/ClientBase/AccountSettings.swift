import Foundation
import Jobs
import Postgres
import Tenancy

/// The business's own account as its users see it: its display name and the time zone its
/// schedules follow (survey waves, the nightly churn scoring, alert digests). The slug and the
/// status belong to the platform (the admin CLI).
public struct AccountSettings: Sendable, Hashable {
    public var slug: String
    public var name: String
    public var timeZone: String
    public var status: String
    public var createdAt: Date

    static let columns: PostgresQuery = "slug, name, time_zone, status, created_at"

    init(row: PostgresRow) throws {
        slug = try row.decode(at: 0)
        name = try row.decode(at: 1)
        timeZone = try row.decode(at: 2)
        status = try row.decode(at: 3)
        createdAt = try row.decode(at: 4)
    }

    var auditSnapshot: AuditSnapshot {
        ["name": name.auditValue, "time_zone": timeZone.auditValue]
    }
}

/// What a PATCH of the account changes; neither field may be null.
public struct AccountSettingsChanges: Sendable, Hashable, Decodable {
    public var name: String?
    public var timeZone: String?

    public init(name: String? = nil, timeZone: String? = nil) {
        self.name = name
        self.timeZone = timeZone
    }

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder, writable: ["name", "time_zone"], readOnly: ["slug", "status", "created_at"])
        func required(_ change: FieldChange<String>, _ field: String) throws -> String? {
            if case .cleared = change { throw ClientBaseError(.invalid, "field '\(field)' cannot be empty or null", field: field) }
            return change.value
        }
        name = try required(body.text("name"), "name")
        timeZone = try required(body.text("time_zone", maximumLength: 64), "time_zone")
        if let timeZone, TimeZone(identifier: timeZone) == nil {
            throw ClientBaseError(.invalid, "'\(timeZone)' is not a known time zone (use an IANA name like Europe/Paris)",
                                  field: "time_zone")
        }
    }
}

/// Reads and changes the account: every role reads it; owners and admins change it
/// (`.manageUsers`), audited as entity `account`, id `settings`.
public struct AccountRepository: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public func get(as actor: Actor) async throws -> AccountSettings {
        try actor.require(.readClients)
        let rows = try await database.query(
            "SELECT \(fragment: AccountSettings.columns) FROM platform.tenants WHERE id = \(actor.scope.tenantID)")
        guard let row = rows.first else { throw ClientBaseError(.notFound, "no such account") }
        return try AccountSettings(row: row)
    }

    /// The catalogue row and the schedules that follow the account's zone change in one
    /// transaction with the audit entry (written last, as the tenant's role).
    public func update(_ changes: AccountSettingsChanges, as actor: Actor) async throws -> AccountSettings {
        try actor.require(.manageUsers)
        return try await database.withTransaction { session in
            let current = try await session.query("""
                SELECT \(fragment: AccountSettings.columns) FROM platform.tenants WHERE id = \(actor.scope.tenantID) FOR UPDATE
                """)
            guard let row = current.first else { throw ClientBaseError(.notFound, "no such account") }
            let before = try AccountSettings(row: row)
            if let name = changes.name, name != before.name {
                _ = try await session.query("UPDATE platform.tenants SET name = \(name) WHERE id = \(actor.scope.tenantID)")
            }
            if let zone = changes.timeZone, zone != before.timeZone {
                try await JobSchedules.setTenantTimeZone(zone, tenantID: actor.scope.tenantID, in: session)
            }
            let rows = try await session.pipeline([
                "SELECT \(fragment: AccountSettings.columns) FROM platform.tenants WHERE id = \(actor.scope.tenantID)",
                actor.scope.prelude,
            ])
            let after = try AccountSettings(row: rows[0][0])
            if after != before {
                _ = try await session.query(AuditLog.entry(by: actor, action: "update", entity: "account", id: "settings",
                                                           before: before.auditSnapshot, after: after.auditSnapshot))
            }
            return after
        }
    }
}
