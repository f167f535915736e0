import Foundation

/// The opaque text of every list cursor: our own plain text in URL-safe base64 without
/// padding, so callers pass it back as it came and never build one.
public enum CursorText {
    public static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The plain text, or nil for a cursor longer than `maximumLength` or not base64url.
    public static func decode(_ cursor: String, maximumLength: Int) -> String? {
        guard cursor.count <= maximumLength else { return nil }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
