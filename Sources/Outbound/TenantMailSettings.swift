import ClientBase
import Foundation
import Postgres
import Tenancy

/// A tenant's own SMTP server (sql/tenant/0014_delivery_channels.sql, one row at most). When
/// set, the tenant's survey emails and alert digests go through it rather than the platform's.
/// The password is kept sealed (`SecretBox`, AES-GCM under CLIENTELE_SECRET_KEY) and never
/// shown: reads say only whether one is stored.
public struct TenantMailSettings: Sendable, Hashable {
    public enum Security: String, Sendable, Hashable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case none, startTLS, tls
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    /// `v1:<base64>`, as `SecretBox.seal` makes it; nil: no password.
    public var sealedPassword: String?
    public var fromAddress: String
    public var fromName: String?
    public var updatedAt: Date

    public var hasPassword: Bool { sealedPassword != nil }

    static let columns: PostgresQuery = "host, port, security, username, password_sealed, from_address, from_name, updated_at"

    init(row: PostgresRow) throws {
        host = try row.decode(at: 0)
        port = try row.decode(at: 1)
        security = try row.decode(at: 2)
        username = try row.decode(at: 3)
        sealedPassword = try row.decode(at: 4)
        fromAddress = try row.decode(at: 5)
        fromName = try row.decode(at: 6)
        updatedAt = try row.decode(at: 7)
    }

    /// The password is never audited; whether there is one is.
    var auditSnapshot: AuditSnapshot {
        ["host": host.auditValue, "port": port.auditValue, "security": .text(security.rawValue),
         "username": AuditValue(username), "has_password": hasPassword.auditValue,
         "from_address": fromAddress.auditValue, "from_name": AuditValue(fromName)]
    }

    static func defaultPort(_ security: Security) -> Int {
        switch security {
        case .none: 25
        case .startTLS: 587
        case .tls: 465
        }
    }
}

/// The body of `PUT /v1/mail/settings`: the whole setting. `host` and `from_address` are
/// required; `security` defaults to `startTLS` and `port` to its usual port. `password`
/// left out keeps the stored one; null clears it.
public struct TenantMailSettingsChange: Sendable, Hashable, Decodable {
    public var host: String
    public var port: Int?
    public var security: TenantMailSettings.Security
    public var username: String?
    public var password: FieldChange<String>
    public var fromAddress: String
    public var fromName: String?

    static let fields = ["host", "port", "security", "username", "password", "from_address", "from_name"]

    public init(host: String, port: Int? = nil, security: TenantMailSettings.Security = .startTLS, username: String? = nil,
                password: FieldChange<String> = .unchanged, fromAddress: String, fromName: String? = nil) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.fromAddress = fromAddress
        self.fromName = fromName
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder, writable: Self.fields, readOnly: ["has_password", "updated_at"])
        guard case .set(let host) = try body.text("host", maximumLength: 253) else {
            throw ClientBaseError(.invalid, "field 'host' is required: the mail server's name or address", field: "host")
        }
        guard case .set(let from) = try body.text("from_address", maximumLength: 254) else {
            throw ClientBaseError(.invalid, "field 'from_address' is required: the sender's address", field: "from_address")
        }
        self.host = host
        fromAddress = from
        switch try body.integer("port") {
        case .set(let port): self.port = port
        default: port = nil
        }
        switch try body.enumeration("security", TenantMailSettings.Security.self) {
        case .set(let security): self.security = security
        default: security = .startTLS
        }
        if case .set(let name) = try body.text("username", maximumLength: 200) { username = name } else { username = nil }
        if case .set(let name) = try body.text("from_name", maximumLength: 200) { fromName = name } else { fromName = nil }
        // The password as given: not trimmed (spaces may belong to it).
        let container = try decoder.container(keyedBy: Key.self)
        let key = Key("password")
        if !container.contains(key) {
            password = .unchanged
        } else if try container.decodeNil(forKey: key) {
            password = .cleared
        } else {
            guard let text = try? container.decode(String.self, forKey: key) else {
                throw ClientBaseError(.invalid, "field 'password' must be a string or null", field: "password")
            }
            guard !text.isEmpty, text.utf8.count <= 500 else {
                throw ClientBaseError(.invalid, "field 'password' must be 1 to 500 bytes (null removes it)", field: "password")
            }
            password = .set(text)
        }
    }

    func validate(keepsPassword: Bool) throws {
        let hostAllowed = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }
        guard hostAllowed, !host.hasPrefix("-"), !host.hasPrefix(".") else {
            throw ClientBaseError(.invalid, "field 'host' must be a host name or an IP address", field: "host")
        }
        if let port, !(1...65535).contains(port) {
            throw ClientBaseError(.invalid, "field 'port' must be from 1 to 65535", field: "port")
        }
        guard MailAddress.isPlausible(fromAddress) else {
            throw ClientBaseError(.invalid, "field 'from_address' must be an email address like avis@example.fr", field: "from_address")
        }
        if let fromName, fromName.contains(where: { $0.isNewline || $0 == "\"" || $0 == "<" || $0 == ">" }) {
            throw ClientBaseError(.invalid, "field 'from_name' may not hold line breaks, quotes or angle brackets", field: "from_name")
        }
        if let username, username.contains(where: { $0.isNewline }) {
            throw ClientBaseError(.invalid, "field 'username' may not hold line breaks", field: "username")
        }
        let willHavePassword: Bool
        switch password {
        case .set: willHavePassword = true
        case .cleared: willHavePassword = false
        case .unchanged: willHavePassword = keepsPassword
        }
        if willHavePassword && username == nil {
            throw ClientBaseError(.invalid, "a password needs a username (or send \"password\": null)", field: "username")
        }
        if username != nil && security == .none {
            throw ClientBaseError(.invalid,
                "credentials are only sent over TLS: security must be startTLS or tls when a username is given", field: "security")
        }
    }
}

/// Reads and changes a tenant's mail server: owners and admins only (`manageMail`); each change
/// audited as entity `mail_settings`, id `settings`, without the password.
public struct TenantMailSettingsStore: Sendable {
    public let database: PostgresClient
    /// Seals passwords; nil when CLIENTELE_SECRET_KEY is not set (then none can be stored).
    public let secretBox: SecretBox?

    public init(database: PostgresClient, secretBox: SecretBox?) {
        self.database = database
        self.secretBox = secretBox
    }

    /// The settings, or nil when the tenant has none (its mail goes through the platform's server).
    public func get(as actor: Actor) async throws -> TenantMailSettings? {
        try actor.require(.manageMail)
        return try await Self.read(actor.scope, database: database)
    }

    public static func read(_ scope: TenantScope, database: PostgresClient) async throws -> TenantMailSettings? {
        let rows = try await database.tenantTransaction(scope, ["SELECT \(fragment: TenantMailSettings.columns) FROM mail_settings"])
        return try rows[0].first.map(TenantMailSettings.init(row:))
    }

    /// Replaces the settings (creates them when there were none).
    public func put(_ change: TenantMailSettingsChange, as actor: Actor) async throws -> TenantMailSettings {
        try actor.require(.manageMail)
        let box = secretBox
        return try await database.withTenantTransaction(actor.scope) { session in
            let current = try await session.query("SELECT \(fragment: TenantMailSettings.columns) FROM mail_settings FOR UPDATE")
            let before = try current.first.map(TenantMailSettings.init(row:))
            try change.validate(keepsPassword: before?.hasPassword ?? false)
            let sealed: String?
            switch change.password {
            case .unchanged: sealed = before?.sealedPassword
            case .cleared: sealed = nil
            case .set(let password):
                guard let box else {
                    throw ClientBaseError(.invalid,
                        "a password cannot be stored: this server has no \(SecretBox.environmentVariable) to encrypt it with",
                        field: "password")
                }
                sealed = try box.seal(password)
            }
            let port = change.port ?? TenantMailSettings.defaultPort(change.security)
            let rows = try await session.query("""
                INSERT INTO mail_settings (host, port, security, username, password_sealed, from_address, from_name)
                VALUES (\(change.host), \(port), \(change.security), \(change.username), \(sealed), \(change.fromAddress), \(change.fromName))
                ON CONFLICT (singleton) DO UPDATE SET host = excluded.host, port = excluded.port, security = excluded.security,
                    username = excluded.username, password_sealed = excluded.password_sealed,
                    from_address = excluded.from_address, from_name = excluded.from_name, updated_at = now()
                RETURNING \(fragment: TenantMailSettings.columns)
                """)
            let settings = try TenantMailSettings(row: rows[0])
            try await session.query(AuditLog.entry(
                by: actor, action: before == nil ? "create" : "update", entity: "mail_settings", id: "settings",
                before: before?.auditSnapshot, after: settings.auditSnapshot))
            return settings
        }
    }

    /// Removes the settings: the platform's server takes over. False when there were none.
    public func delete(as actor: Actor) async throws -> Bool {
        try actor.require(.manageMail)
        return try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query("DELETE FROM mail_settings RETURNING \(fragment: TenantMailSettings.columns)")
            guard let row = rows.first else { return false }
            try await session.query(AuditLog.entry(
                by: actor, action: "delete", entity: "mail_settings", id: "settings",
                before: try TenantMailSettings(row: row).auditSnapshot, after: nil))
            return true
        }
    }
}

/// A plausible email address (one @, a dotted domain, no spaces or brackets): the SMTP
/// client refuses the rest before connecting.
enum MailAddress {
    static func isPlausible(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return address.allSatisfy { $0.isASCII } && !address.contains { $0.isWhitespace || "<>,\"()[];:\\".contains($0) }
    }
}
