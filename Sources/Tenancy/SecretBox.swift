import Crypto
import Foundation

/// Seals small secrets kept in tenant tables (a tenant's SMTP password) with AES-GCM under the
/// platform's key, `CLIENTELE_SECRET_KEY` (32 bytes, base64 or 64 hex digits). A sealed value is
/// `v1:<base64 of nonce, ciphertext and tag>`: a fresh random nonce each time, so sealing the
/// same text twice gives two different values. Opening checks the tag: a value altered, or
/// sealed under another key, is refused.
public struct SecretBox: Sendable {
    public static let environmentVariable = "CLIENTELE_SECRET_KEY"
    private static let prefix = "v1:"

    /// The key's bytes (SymmetricKey is not Sendable; one is made for each use).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// `key` must be 32 bytes (AES-256).
    public init(key bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw SecretBoxError.badKey }
        keyBytes = bytes
    }

    /// The key as configured: 64 hex digits, or base64 (standard or URL-safe) of 32 bytes.
    public init(keyText: String) throws {
        let text = keyText.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let bytes = Self.hex(text) {
            try self.init(key: bytes)
            return
        }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), data.count == 32 else { throw SecretBoxError.badKey }
        try self.init(key: Array(data))
    }

    /// The box of `CLIENTELE_SECRET_KEY`; nil when it is not set (then no secret can be stored).
    public static func fromEnvironment(_ environment: [String: String]) throws -> SecretBox? {
        guard let text = environment[environmentVariable], !text.isEmpty else { return nil }
        return try SecretBox(keyText: text)
    }

    public func seal(_ secret: String) throws -> String {
        let box = try AES.GCM.seal(Array(secret.utf8), using: key)
        guard let combined = box.combined else { throw SecretBoxError.cannotOpen }
        return Self.prefix + combined.base64EncodedString()
    }

    public func open(_ sealed: String) throws -> String {
        guard sealed.hasPrefix(Self.prefix), let data = Data(base64Encoded: String(sealed.dropFirst(Self.prefix.count))) else {
            throw SecretBoxError.cannotOpen
        }
        do {
            let bytes = try AES.GCM.open(try AES.GCM.SealedBox(combined: data), using: key)
            guard let text = String(data: bytes, encoding: .utf8) else { throw SecretBoxError.cannotOpen }
            return text
        } catch {
            throw SecretBoxError.cannotOpen
        }
    }

    private static func hex(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return bytes
    }
}

public enum SecretBoxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configured key is not 32 bytes in hex or base64.
    case badKey
    /// A sealed value that is malformed, altered, or sealed under another key.
    case cannotOpen

    public var description: String {
        switch self {
        case .badKey: "\(SecretBox.environmentVariable) must be 32 bytes, as 64 hex digits or in base64 (openssl rand -base64 32)"
        case .cannotOpen: "a stored secret cannot be opened with this \(SecretBox.environmentVariable) (altered, or sealed under another key)"
        }
    }
}
