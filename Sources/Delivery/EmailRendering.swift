import Foundation

extension EmailMessage {
    /// Headers this type writes itself; an extra header of the same name would make a second copy.
    static let reservedHeaders: Set<String> = [
        "from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "mime-version",
        "content-type", "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post",
    ]

    /// The wire form: headers, then the body as multipart/alternative (text, then HTML) or text
    /// alone. Refuses what would break the message or let caller text inject headers.
    func render(now: Date = Date(), boundary: String = MIMEBoundary.make()) throws(SMTPError) -> RenderedEmail {
        func invalid(_ message: String) -> SMTPError { SMTPError(.permanent, stage: .message, message) }

        guard !to.isEmpty else { throw invalid("the message has no recipient") }
        for mailbox in [from] + to + (replyTo.map { [$0] } ?? []) {
            guard EmailAddressSyntax.isValid(mailbox.address) else { throw invalid("invalid email address \"\(mailbox.address)\"") }
            if let name = mailbox.name, name.contains(where: \.isNewline) {
                throw invalid("the display name of \(mailbox.address) contains a line break")
            }
        }
        let sender = envelopeSender ?? from.address
        guard EmailAddressSyntax.isValid(sender) else { throw invalid("invalid envelope sender \"\(sender)\"") }
        guard !subject.contains(where: \.isNewline) else { throw invalid("the subject contains a line break") }

        let id = try messageIDValue()
        var lines: [String] = [
            "Date: " + MIMEEncoding.rfc5322Date(date ?? now),
            "From: " + MIMEEncoding.mailbox(from),
            "To: " + to.map(MIMEEncoding.mailbox).joined(separator: ",\r\n "),
        ]
        if let replyTo { lines.append("Reply-To: " + MIMEEncoding.mailbox(replyTo)) }
        lines.append("Subject: " + MIMEEncoding.unstructured(subject, after: "Subject"))
        lines.append("Message-ID: <\(id)>")
        if let listUnsubscribe {
            guard let url = URL(string: listUnsubscribe), url.scheme?.lowercased() == "https", url.host != nil,
                  MIMEEncoding.isPlainASCII(listUnsubscribe), !listUnsubscribe.contains(where: { "<> ".contains($0) })
            else { throw invalid("List-Unsubscribe must be an https URL, got \"\(listUnsubscribe)\"") }
            lines.append("List-Unsubscribe: <\(listUnsubscribe)>")
            lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        }
        for header in headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy({ $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: ":") })
            else { throw invalid("invalid header name \"\(header.name)\"") }
            guard !Self.reservedHeaders.contains(header.name.lowercased())
            else { throw invalid("the \(header.name) header is written from the message's own fields") }
            guard !header.value.contains(where: \.isNewline) else { throw invalid("the \(header.name) header contains a line break") }
            lines.append(header.name + ": " + MIMEEncoding.unstructured(header.value, after: header.name))
        }
        lines.append("MIME-Version: 1.0")

        if let html {
            lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("--\(boundary)")
            lines += part(text, type: "text/plain")
            lines.append("--\(boundary)")
            lines += part(html, type: "text/html")
            lines.append("--\(boundary)--")
        } else {
            lines += part(text, type: "text/plain")
        }
        let content = lines.joined(separator: "\r\n") + "\r\n"
        // Header folding cannot split one long word; the body encodings never exceed 76.
        for line in content.split(separator: "\r\n") where line.utf8.count > 998 {
            throw invalid("a header line is longer than 998 octets: \(line.prefix(40))...")
        }
        return RenderedEmail(messageID: id, envelopeSender: sender, recipients: to.map(\.address), content: content)
    }

    /// The part's headers, a blank line and its encoded text.
    private func part(_ body: String, type: String) -> [String] {
        switch bodyEncoding {
        case .quotedPrintable:
            ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
             MIMEEncoding.quotedPrintable(body)]
        case .base64:
            ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", "",
             MIMEEncoding.base64(body)]
        }
    }

    /// The caller's id (brackets optional) checked as `left@right` of printable ASCII, or a
    /// random one at the sender's domain.
    private func messageIDValue() throws(SMTPError) -> String {
        guard var id = messageID else {
            let domain = from.address.split(separator: "@").last.map(String.init) ?? "localhost"
            return UUID().uuidString.lowercased() + "@" + domain
        }
        if id.hasPrefix("<") && id.hasSuffix(">") { id = String(id.dropFirst().dropLast()) }
        let parts = id.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty }), id.utf8.count <= 900,
              id.utf8.allSatisfy({ $0 >= 33 && $0 <= 126 && !"<>()[]\\,;:\"".utf8.contains($0) })
        else { throw SMTPError(.permanent, stage: .message, "invalid Message-ID \"\(id)\"") }
        return id
    }
}

/// A multipart boundary. "=_" can appear neither in quoted-printable (which writes "=" as "=3D")
/// nor in base64, so it never collides with a part's content.
enum MIMEBoundary {
    static func make() -> String {
        "=_clientele_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }
}

/// A deliberately simple check: ASCII `local@domain`, nothing SMTP or a header could
/// misread (spaces, brackets, line breaks, quotes...).
enum EmailAddressSyntax {
    static func isValid(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, address.utf8.count <= 254,
              parts[0].utf8.count <= 64 else { return false }
        let forbidden = Set("<>()[]\\,;:\"".utf8)
        guard address.utf8.allSatisfy({ $0 > 32 && $0 < 127 && !forbidden.contains($0) }) else { return false }
        let domain = parts[1]
        return !domain.hasPrefix(".") && !domain.hasSuffix(".") && !domain.contains("..")
            && domain.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) })
    }
}
