import Crypto
import Foundation

/// Lowercase hex of bytes.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// Lowercase hex SHA-256 of a text's UTF-8 bytes.
func sha256Hex(_ text: String) -> String {
    hex(SHA256.hash(data: Data(text.utf8)))
}
