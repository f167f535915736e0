/// Why a webhook was not delivered, classified like `SMTPError`: retry `.transient`, mark
/// `.permanent` failed.
public struct WebhookError: Error, Sendable, CustomStringConvertible, DeliveryFailure {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// A timeout, a connection refused, reset or closed before the response, 408, 429 or 5xx.
        public static let transient = Code("transient")
        /// Any other answer but 2xx (400, 401, 404, 410, a redirect, which is not followed),
        /// or a request this sender refuses to make (bad URL, bad delivery id).
        public static let permanent = Code("permanent")
    }

    public var code: Code
    /// The receiver's HTTP status, when it answered.
    public var statusCode: Int?
    /// Seconds from the receiver's `Retry-After` (429, 503), a hint for the next attempt.
    public var retryAfter: Int?
    public var message: String

    public init(_ code: Code, statusCode: Int? = nil, retryAfter: Int? = nil, _ message: String) {
        self.code = code
        self.statusCode = statusCode
        self.retryAfter = retryAfter
        self.message = message
    }

    public var isTransient: Bool { code == .transient }

    public var description: String {
        var text = "webhook \(code) failure"
        if let statusCode { text += " (HTTP \(statusCode))" }
        return text + ": \(message)"
    }

    /// 408 Request Timeout, 429 Too Many Requests and 5xx are worth another try; nothing else is.
    static func isTransient(status: Int) -> Bool {
        status == 408 || status == 429 || (500..<600).contains(status)
    }
}
