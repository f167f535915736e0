/// Why an email was not sent. A struct with a `Code`, like `PostgresError`: callers retry
/// `.transient` failures with backoff and mark `.permanent` ones failed with `description`.
public struct SMTPError: Error, Sendable, CustomStringConvertible, DeliveryFailure {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// Worth retrying later: a 4xx reply, a refused or reset connection, a timeout, a
        /// connection closed before the server accepted the message.
        public static let transient = Code("transient")
        /// Retrying will not help: a 5xx reply (550 bad mailbox...), a message or configuration
        /// this client refuses to send (a header with a line break, AUTH without TLS...).
        public static let permanent = Code("permanent")
    }

    public var code: Code
    /// What the client was doing when it failed.
    public var stage: SMTPStage
    /// The server's reply code, when the failure is the server's answer.
    public var replyCode: Int?
    /// The server's reply text, or what went wrong on our side.
    public var message: String

    public init(_ code: Code, stage: SMTPStage, replyCode: Int? = nil, _ message: String) {
        self.code = code
        self.stage = stage
        self.replyCode = replyCode
        self.message = message
    }

    public var isTransient: Bool { code == .transient }

    public var description: String {
        var text = "SMTP \(code) failure at \(stage)"
        if let replyCode { text += " (\(replyCode))" }
        return text + ": \(message)"
    }

    /// A reply the client did not want: 4xx is transient, 5xx permanent, anything else is a
    /// server out of step with the protocol, worth another try.
    static func unexpected(_ reply: SMTPReply, at stage: SMTPStage) -> SMTPError {
        SMTPError(reply.code >= 500 && reply.code < 600 ? .permanent : .transient,
                  stage: stage, replyCode: reply.code, reply.text)
    }
}

/// The steps of one SMTP session, in order.
public enum SMTPStage: String, Sendable, CustomStringConvertible {
    /// Building the message from `EmailMessage` (bad address, header with a line break...).
    case message
    case connect
    case greeting
    case hello
    case startTLS
    case authentication
    case mailFrom
    case recipient
    case data
    /// Sending the content and waiting for the reply to the final ".": only a 250 here means sent.
    case messageBody

    public var description: String { rawValue }
}

/// What SMTP and webhook failures share, so a job handler can treat both channels alike.
public protocol DeliveryFailure: Error, Sendable, CustomStringConvertible {
    /// True when a later attempt may succeed; false when the delivery should be marked failed.
    var isTransient: Bool { get }
}
