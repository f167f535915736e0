import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one email per SMTP session (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT) over
/// NIO: nothing blocks a thread of the cooperative pool. Sessions are not kept open between
/// sends: job handlers send one message each, and a fresh session cannot be out of step.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let tlsContext: NIOSSLContext?
    private let logger: Logger

    /// Throws when the configuration cannot work: a TLS trust file that does not load, or
    /// credentials without TLS (they would cross the network in clear).
    public init(
        configuration: SMTPConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "clientele.delivery.smtp")
    ) throws {
        if configuration.credentials != nil && configuration.security == .none {
            throw SMTPError(.permanent, stage: .authentication,
                            "credentials are only sent over TLS: set security to startTLS or tls")
        }
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        do {
            tlsContext = configuration.security == .none ? nil : try configuration.trust.makeContext()
        } catch {
            throw SMTPError(.permanent, stage: .connect, "TLS configuration: \(error)")
        }
    }

    /// Sends the message. Returns only when the server answered 250 to the final "."; otherwise
    /// throws an `SMTPError` (or `CancellationError`), and then the message may be retried: a
    /// transient failure after the final "." is the one case where the server may have kept it,
    /// which its unchanged Message-ID lets the recipient's side recognise.
    ///
    /// `beforeContent` runs once the server is ready for the message (354 to DATA), before a byte
    /// of it is sent: the caller records there that the outcome may be unknown from now on (a
    /// failure before it means nothing was delivered; throwing from it ends the session with
    /// nothing delivered).
    public func send(
        _ message: EmailMessage, beforeContent: (@Sendable () async throws -> Void)? = nil
    ) async throws -> SMTPReceipt {
        let rendered = try message.render()
        let channel = try await connect()
        let session = SMTPSession(channel: channel, configuration: configuration, tlsContext: tlsContext, logger: logger)
        return try await withTaskCancellationHandler {
            do {
                let receipt = try await session.run(rendered, beforeContent: beforeContent)
                try? await channel.close()
                return receipt
            } catch {
                try? await channel.close()
                if Task.isCancelled { throw CancellationError() }
                throw error
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    private func connect() async throws -> any Channel {
        let tlsContext = configuration.security == .tls ? self.tlsContext : nil
        let serverName = TLSTrust.serverName(for: configuration.host)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(configuration.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                    }
                    try pipeline.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    try pipeline.addHandler(SMTPClientHandler())
                }
            }
        do {
            return try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw SMTPError(.transient, stage: .connect, "cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
    }
}

/// One session's steps, each failing with the stage it reached.
private struct SMTPSession {
    let channel: any Channel
    let configuration: SMTPConfiguration
    let tlsContext: NIOSSLContext?
    let logger: Logger

    func run(_ message: RenderedEmail, beforeContent: (@Sendable () async throws -> Void)?) async throws -> SMTPReceipt {
        try await expect([220], to: nil, at: .greeting)
        var hello = try await sayHello()
        if configuration.security == .startTLS {
            guard hello.extensions.contains(where: { $0.uppercased() == "STARTTLS" }) else {
                throw SMTPError(.permanent, stage: .startTLS, "the server does not offer STARTTLS")
            }
            try await expect([220], to: "STARTTLS", at: .startTLS)
            try await startTLS()
            hello = try await sayHello()
        }
        if let credentials = configuration.credentials {
            try await authenticate(credentials, offered: hello.extensions)
        }
        try await expect([250], to: "MAIL FROM:<\(message.envelopeSender)>", at: .mailFrom)
        for recipient in message.recipients {
            try await expect([250, 251], to: "RCPT TO:<\(recipient)>", at: .recipient)
        }
        try await expect([354], to: "DATA", at: .data)
        try await beforeContent?()
        let accepted = try await expect([250], sending: SMTPClient.dotStuffed(message.content), at: .messageBody)
        logger.debug("SMTP message accepted", metadata: ["message_id": "\(message.messageID)", "reply": "\(accepted.text)"])
        // The message is the server's now: a failed QUIT changes nothing.
        _ = try? await exchange(ByteBuffer(string: "QUIT\r\n"), timeout: .seconds(2))
        return SMTPReceipt(messageID: message.messageID, recipients: message.recipients, reply: accepted.text)
    }

    /// EHLO, or HELO for a server that refuses EHLO with a 5xx (it then offers no extension).
    private func sayHello() async throws -> SMTPReply {
        let reply = try await exchange(command("EHLO \(configuration.heloName)"), at: .hello)
        if reply.code == 250 { return reply }
        if reply.code >= 500 {
            let fallback = try await expect([250], to: "HELO \(configuration.heloName)", at: .hello)
            return SMTPReply(code: fallback.code, lines: [fallback.lines.first ?? ""])
        }
        throw SMTPError.unexpected(reply, at: .hello)
    }

    private func startTLS() async throws {
        guard let tlsContext else { throw SMTPError(.permanent, stage: .startTLS, "no TLS context") }
        let serverName = TLSTrust.serverName(for: configuration.host)
        let channel = self.channel
        let handshake = channel.eventLoop.makePromise(of: Void.self)
        let timeout = configuration.commandTimeout
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            handshake.fail(SMTPTransportError.timedOut(timeout))
        }
        defer { timer.cancel() }
        do {
            // First in the pipeline: from here on every byte in and out is encrypted.
            try await channel.eventLoop.submit {
                let pipeline = channel.pipeline.syncOperations
                let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName)
                try pipeline.addHandler(handler, position: .first)
                try pipeline.addHandler(TLSHandshakeWaiter(done: handshake), position: .after(handler))
            }.get()
            try await handshake.futureResult.get()
        } catch {
            handshake.fail(error)
            channel.close(promise: nil)
            throw SMTPError(.transient, stage: .startTLS, "TLS handshake failed: \(error)")
        }
    }

    /// AUTH PLAIN when offered, else AUTH LOGIN; the secrets never reach the logs.
    private func authenticate(_ credentials: SMTPConfiguration.Credentials, offered extensions: [String]) async throws {
        let mechanisms = Set(extensions.filter { $0.uppercased().hasPrefix("AUTH ") || $0.uppercased().hasPrefix("AUTH=") }
            .flatMap { $0.dropFirst(5).uppercased().split(separator: " ").map(String.init) })
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        if mechanisms.contains("PLAIN") {
            try await expect([235], to: "AUTH PLAIN " + base64("\0\(credentials.username)\0\(credentials.password)"),
                             at: .authentication, secret: true)
        } else if mechanisms.contains("LOGIN") {
            try await expect([334], to: "AUTH LOGIN", at: .authentication)
            try await expect([334], to: base64(credentials.username), at: .authentication, secret: true)
            try await expect([235], to: base64(credentials.password), at: .authentication, secret: true)
        } else {
            let offered = mechanisms.isEmpty ? "none" : mechanisms.sorted().joined(separator: " ")
            throw SMTPError(.permanent, stage: .authentication,
                            "the server offers no AUTH PLAIN or LOGIN (offers: \(offered))")
        }
    }

    @discardableResult
    private func expect(_ codes: Set<Int>, to line: String?, at stage: SMTPStage, secret: Bool = false) async throws -> SMTPReply {
        if let line, !secret { logger.trace("SMTP >", metadata: ["line": "\(line)"]) }
        return try await expect(codes, sending: line.map(command), at: stage)
    }

    @discardableResult
    private func expect(_ codes: Set<Int>, sending bytes: ByteBuffer?, at stage: SMTPStage) async throws -> SMTPReply {
        let reply = try await exchange(bytes, at: stage)
        guard codes.contains(reply.code) else { throw SMTPError.unexpected(reply, at: stage) }
        return reply
    }

    private func exchange(_ bytes: ByteBuffer?, at stage: SMTPStage) async throws -> SMTPReply {
        do {
            return try await exchange(bytes, timeout: configuration.commandTimeout)
        } catch let error as SMTPTransportError {
            switch error {
            case .timedOut(let timeout):
                throw SMTPError(.transient, stage: stage, "no reply within \(timeout.nanoseconds / 1_000_000) ms")
            case .closed:
                throw SMTPError(.transient, stage: stage, "the server closed the connection")
            case .failed(let cause):
                throw SMTPError(.transient, stage: stage, "connection failed: \(cause)")
            }
        }
    }

    private func exchange(_ bytes: ByteBuffer?, timeout: TimeAmount) async throws -> SMTPReply {
        let reply = channel.eventLoop.makePromise(of: SMTPReply.self)
        // A write that never reaches the handler (the channel already closed) fails the reply too.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            reply.fail(error as? ChannelError == .ioOnClosedChannel ? SMTPTransportError.closed : SMTPTransportError.failed(error))
        }
        channel.writeAndFlush(SMTPExchange(command: bytes, timeout: timeout, reply: reply), promise: written)
        return try await reply.futureResult.get()
    }

    private func command(_ line: String) -> ByteBuffer {
        ByteBuffer(string: line + "\r\n")
    }
}

extension SMTPClient {
    /// The content with a second "." before every line that starts with one, then the final ".".
    static func dotStuffed(_ content: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(content.utf8.count + 64)
        for line in content.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix(".") { buffer.writeString(".") }
            buffer.writeSubstring(line)
            buffer.writeString("\r\n")
        }
        buffer.writeString(".\r\n")
        return buffer
    }
}
