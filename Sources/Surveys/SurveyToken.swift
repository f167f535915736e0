import Crypto
import Foundation

/// The token of an invitation's public page: `s<tenant id>_<32 random bytes, base64url>`.
/// The tenant id in clear lets the page find its tenant without a platform table; the
/// random part makes it unguessable. Only its SHA-256 is stored, so a copy of the database
/// answers nobody's survey. Changing the tenant id changes the hash: a token of tenant A
/// never finds an invitation of tenant B.
public struct SurveyToken: Sendable, Hashable {
    public let text: String
    public let tenantID: Int64

    /// A fresh token for a tenant.
    public static func make(tenantID: Int64) -> SurveyToken {
        let key = SymmetricKey(size: .bits256)
        let random = key.withUnsafeBytes { Data($0) }
        return SurveyToken(text: "s\(tenantID)_" + base64URL(random), tenantID: tenantID)
    }

    private init(text: String, tenantID: Int64) {
        self.text = text
        self.tenantID = tenantID
    }

    /// Reads a token from a URL; nil when it cannot be one of ours.
    public init?(_ text: String) {
        guard text.utf8.count <= 80, text.first == "s", let separator = text.firstIndex(of: "_") else { return nil }
        let digits = text[text.index(after: text.startIndex)..<separator]
        let random = text[text.index(after: separator)...]
        guard (1...19).contains(digits.count), digits.allSatisfy(\.isASCII), let tenantID = Int64(digits), tenantID > 0,
              random.utf8.count == 43,
              random.utf8.allSatisfy({ Self.alphabet.contains($0) })
        else { return nil }
        self.init(text: text, tenantID: tenantID)
    }

    /// What the database keeps: the SHA-256 of the whole token, in hex.
    public var hash: String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private static let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
