import NIOCore

/// Where and how to submit mail: one per platform, or one per tenant that brings its own server.
public struct SMTPConfiguration: Sendable, CustomStringConvertible {
    public enum Security: String, Sendable {
        /// Plain text all the way: a relay on the loopback or a private network only.
        case none
        /// Plain connection upgraded by STARTTLS before anything else (submission, port 587);
        /// the send fails if the server does not offer it.
        case startTLS
        /// TLS from the first byte ("implicit TLS", port 465).
        case tls
    }

    public struct Credentials: Sendable {
        public var username: String
        public var password: String
        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public var host: String
    public var port: Int
    public var security: Security
    /// Sent with AUTH PLAIN, or AUTH LOGIN when the server offers only that; only over TLS.
    public var credentials: Credentials?
    /// The name this client gives in EHLO: ideally the sending machine's public DNS name.
    public var heloName: String
    public var connectTimeout: TimeAmount
    /// How long each command, and the message itself after the final ".", may wait for its reply.
    public var commandTimeout: TimeAmount
    public var trust: TLSTrust

    /// `port` nil takes the usual one for `security`: 25, 587 or 465.
    public init(
        host: String, port: Int? = nil, security: Security = .startTLS, credentials: Credentials? = nil,
        heloName: String = "localhost", connectTimeout: TimeAmount = .seconds(10),
        commandTimeout: TimeAmount = .seconds(60), trust: TLSTrust = .systemDefault
    ) {
        self.host = host
        self.port = port ?? { switch security { case .none: 25; case .startTLS: 587; case .tls: 465 } }()
        self.security = security
        self.credentials = credentials
        self.heloName = heloName
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.trust = trust
    }

    /// Never shows the password.
    public var description: String {
        "smtp://\(credentials.map { "\($0.username)@" } ?? "")\(host):\(port) security=\(security.rawValue)"
    }
}

/// What the server said when it took the message.
public struct SMTPReceipt: Sendable, Hashable {
    /// The Message-ID the message carried (the caller's, or the one made for it), without brackets.
    public var messageID: String
    public var recipients: [String]
    /// The 250 reply to the final ".", which often names the server's queue id.
    public var reply: String
}
