import Crypto
import Foundation
import Postgres

/// The roles a credential can carry inside its business.
public enum AccessRole: String, Sendable, Codable, CaseIterable, PostgresDecodable, PostgresEncodable {
    case owner, admin, manager, agent, viewer
}

/// An API key as shown to a person once, at creation: `ck_<key id>_<secret>`.
public struct IssuedAPIKey: Sendable {
    public var keyID: String
    public var token: String
    public var name: String
    public var role: AccessRole
    public var userID: UUID? = nil
}

/// An API key as listed: never its secret.
public struct APIKeyInfo: Sendable, Codable {
    public var keyID: String
    public var name: String
    public var role: AccessRole
    public var createdAt: Date
    public var revokedAt: Date?
    /// The user the key acts for, if any.
    public var userID: UUID?
}

/// What a valid credential grants: a tenant (from the key, never from the request) and a role.
public struct Credential: Sendable, Hashable {
    public var scope: TenantScope
    public var tenantSlug: String
    public var tenantStatus: Tenant.Status
    public var keyID: String
    public var role: AccessRole
    /// The user this credential acts for: a session's user, or the user a key was made for.
    public var userID: UUID? = nil
    /// A login session (`cs_`), which logout can end; otherwise an API key.
    public var isSession = false

    /// How changes are recorded as made by.
    public var label: String {
        if let userID { return "user:\(userID.lowercaseText)" }
        return "api-key:\(keyID)"
    }
}

/// The parts of a token, and how secrets are made and compared. API keys start `ck_`,
/// sessions `cs_`, invitations `ci_`, password resets `cr_`; all are `<prefix><16 hex id>_<64 hex secret>`.
enum APIKeyToken {
    static let prefix = "ck_"
    static let sessionPrefix = "cs_"
    static let invitationPrefix = "ci_"
    static let resetPrefix = "cr_"

    /// A fresh key: 8 random bytes of public id and 32 of secret, both hex.
    static func generate(prefix: String = prefix) -> (keyID: String, secret: String, token: String) {
        let keyID = randomHex(bytes: 8)
        let secret = randomHex(bytes: 32)
        return (keyID, secret, "\(prefix)\(keyID)_\(secret)")
    }

    static func parse(_ token: String, prefix: String = prefix) -> (keyID: String, secret: String)? {
        guard token.hasPrefix(prefix), token.utf8.count == prefix.utf8.count + 16 + 1 + 64 else { return nil }
        let parts = token.dropFirst(prefix.count).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 16, parts[1].count == 64,
              parts.allSatisfy({ $0.utf8.allSatisfy(isHexDigit) })
        else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// The secret is 256 random bits, so a plain SHA-256 is as strong as a slow hash here.
    static func hash(secret: String) -> String {
        sha256Hex(secret)
    }

    /// Compares two hashes in time that does not depend on where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102)
    }

    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}
