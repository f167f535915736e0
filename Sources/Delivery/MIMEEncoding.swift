import Foundation

/// The encodings an email needs on a 7-bit wire: quoted-printable and base64 bodies (RFC 2045),
/// encoded words for non-ASCII header text (RFC 2047), header folding and the Date format (RFC 5322).
enum MIMEEncoding {
    /// Text with every line break made CRLF, whatever the caller used.
    static func crlfLines(_ text: String) -> [Substring] {
        text.replacingOccurrences(of: "\r\n", with: "\n")
            .replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Quoted-printable with lines of at most 76 characters: hard breaks stay CRLF, long lines get
    /// soft breaks ("=" CRLF), an "=XX" escape is never cut, trailing spaces are escaped.
    static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        let lines = crlfLines(text)
        for (index, line) in lines.enumerated() {
            let bytes = Array(line.utf8)
            var column = 0
            for (position, byte) in bytes.enumerated() {
                let isLast = position == bytes.count - 1
                var piece: [UInt8]
                if (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !isLast) {
                    piece = [byte]
                } else {
                    piece = [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                }
                // Keep room for the soft break "=" unless this is the line's last piece.
                let limit = isLast ? 76 : 75
                if column + piece.count > limit {
                    out += [UInt8(ascii: "="), 13, 10]
                    column = 0
                }
                out += piece
                column += piece.count
            }
            if index < lines.count - 1 { out += [13, 10] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Base64 in lines of 76 characters.
    static func base64(_ text: String) -> String {
        let normalized = crlfLines(text).joined(separator: "\r\n")
        return Data(normalized.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    }

    static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 32 && $0 <= 126 }
    }

    /// `=?UTF-8?B?...?=` words of at most 75 characters, each holding whole characters, separated
    /// by folding white space (which decoders drop between encoded words).
    static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            // 45 bytes make 60 base64 characters: 12 for "=?UTF-8?B?" and "?=" leaves 75.
            if !chunk.isEmpty && chunk.count + bytes.count > 45 {
                words.append(word(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append(word(chunk)) }
        return words.joined(separator: "\r\n ")
    }

    private static func word(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?="
    }

    /// Header text that needs no structure: printable ASCII as it is, folded at spaces past 78
    /// columns; anything else as encoded words.
    static func unstructured(_ text: String, after name: String) -> String {
        guard isPlainASCII(text) else { return encodedWords(text) }
        return fold(text, firstColumn: name.count + 2)
    }

    /// Folds printable ASCII at spaces so lines stay near 78 columns. A word longer than a line
    /// stays whole: the renderer checks the 998 limit afterwards.
    static func fold(_ text: String, firstColumn: Int) -> String {
        var out = ""
        var column = firstColumn
        for (index, word) in text.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            if index > 0 {
                if column + 1 + word.count > 78 && column > 1 {
                    out += "\r\n"
                    column = 0
                }
                out += " "
                column += 1
            }
            out += word
            column += word.count
        }
        return out
    }

    /// A display name and address: `"Name" <a@b>`, `=?UTF-8?B?...?= <a@b>`, or `a@b` alone.
    static func mailbox(_ mailbox: EmailAddress) -> String {
        guard let name = mailbox.name, !name.isEmpty else { return "<\(mailbox.address)>" }
        if isPlainASCII(name) {
            let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(quoted)\" <\(mailbox.address)>"
        }
        return encodedWords(name) + " <\(mailbox.address)>"
    }

    /// RFC 5322 date in UTC, e.g. `Tue, 03 Mar 2026 09:05:00 +0000`, without locale or formatter.
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[weekday]), \(two(day)) \(months[month - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }
}
