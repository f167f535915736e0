import Crypto
import Foundation

/// The webhook signature: `Clientele-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
/// with `Clientele-Timestamp: <unix seconds>`. Signing the timestamp with the body lets a
/// receiver refuse an old request replayed as it was.
public enum WebhookSignature {
    public static let version = "v1"
    /// How old (or how far in the future) a timestamp may be by default: five minutes.
    public static let defaultTolerance: TimeInterval = 300

    public enum VerificationError: Error, Sendable, Equatable, CustomStringConvertible {
        case malformedTimestamp
        case malformedSignature
        /// The timestamp is further from `now` than the tolerance: a replay or a wrong clock.
        case staleTimestamp
        /// No v1 signature matches the body, the timestamp and the secret.
        case mismatch

        public var description: String {
            switch self {
            case .malformedTimestamp: "the timestamp is not a number of seconds"
            case .malformedSignature: "the signature has no v1=<hex> value"
            case .staleTimestamp: "the timestamp is too old or too far ahead"
            case .mismatch: "the signature does not match"
            }
        }
    }

    /// The header value for `body` sent at `timestamp`: `v1=` and 64 lowercase hex digits.
    public static func sign(body: some DataProtocol, timestamp: Int, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: signedBytes(body, timestamp: "\(timestamp)"), using: key(secret))
        let digits = Array("0123456789abcdef".utf8)
        return version + "=" + String(decoding: code.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }

    /// Checks a request as a receiver does. `signature` may list several values separated by
    /// commas (while a secret is rotated); one valid v1 value suffices. Compares in constant time.
    public static func verify(
        body: some DataProtocol, timestamp: String, signature: String, secret: String,
        tolerance: TimeInterval = defaultTolerance, now: Date = Date()
    ) throws(VerificationError) {
        guard let seconds = Int(timestamp.trimmingCharacters(in: .whitespaces)) else { throw .malformedTimestamp }
        let candidates = signature.split(separator: ",").compactMap { item -> [UInt8]? in
            let parts = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == version else { return nil }
            return hexBytes(parts[1])
        }
        guard !candidates.isEmpty else { throw .malformedSignature }
        guard abs(now.timeIntervalSince1970 - TimeInterval(seconds)) <= tolerance else { throw .staleTimestamp }
        let message = signedBytes(body, timestamp: timestamp.trimmingCharacters(in: .whitespaces))
        let key = key(secret)
        guard candidates.contains(where: { HMAC<SHA256>.isValidAuthenticationCode($0, authenticating: message, using: key) })
        else { throw .mismatch }
    }

    private static func signedBytes(_ body: some DataProtocol, timestamp: String) -> [UInt8] {
        Array(timestamp.utf8) + [UInt8(ascii: ".")] + Array(body)
    }

    private static func key(_ secret: String) -> SymmetricKey {
        SymmetricKey(data: Array(secret.utf8))
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
