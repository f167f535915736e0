import Foundation

/// A mailbox: an address and an optional display name (any Unicode, encoded on the wire).
public struct EmailAddress: Sendable, Hashable {
    /// `local@domain`, ASCII only (no SMTPUTF8 here).
    public var address: String
    public var name: String?

    public init(_ address: String, name: String? = nil) {
        self.address = address
        self.name = name
    }
}

/// One email with a plain-text part and an optional HTML part (sent as multipart/alternative).
public struct EmailMessage: Sendable {
    public enum BodyEncoding: Sendable {
        /// Readable on the wire, compact for mostly-ASCII French text.
        case quotedPrintable
        case base64
    }

    public var from: EmailAddress
    public var to: [EmailAddress]
    public var replyTo: EmailAddress?
    /// The SMTP envelope sender (MAIL FROM, where bounces go); `from.address` when nil.
    public var envelopeSender: String?
    public var subject: String
    public var text: String
    public var html: String?
    /// The Message-ID without angle brackets, e.g. `invitation-<uuid>@example.com`. Derive it from
    /// what is being sent so a resend carries the same id; a random one is made when nil.
    public var messageID: String?
    /// An `https:` URL for one-click unsubscribe: sent as `List-Unsubscribe: <url>` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    public var listUnsubscribe: String?
    /// More headers, in order. Names this type writes itself (From, Subject...) are refused.
    public var headers: [(name: String, value: String)]
    /// The Date header; the time of sending when nil.
    public var date: Date?
    public var bodyEncoding: BodyEncoding

    public init(
        from: EmailAddress, to: [EmailAddress], subject: String, text: String, html: String? = nil,
        messageID: String? = nil, listUnsubscribe: String? = nil, replyTo: EmailAddress? = nil,
        envelopeSender: String? = nil, headers: [(name: String, value: String)] = [],
        date: Date? = nil, bodyEncoding: BodyEncoding = .quotedPrintable
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.listUnsubscribe = listUnsubscribe
        self.replyTo = replyTo
        self.envelopeSender = envelopeSender
        self.headers = headers
        self.date = date
        self.bodyEncoding = bodyEncoding
    }
}

/// The message as it goes on the wire, before dot-stuffing.
struct RenderedEmail: Sendable {
    var messageID: String
    var envelopeSender: String
    var recipients: [String]
    /// Header and body, CRLF line endings, every line at most 998 octets.
    var content: String
}
