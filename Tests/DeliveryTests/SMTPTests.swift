import Foundation
import NIOCore
import Testing
@testable import Delivery

/// Sending against aiosmtpd on the loopback: what a real server receives, and how each of its
/// refusals and failures comes back.
@Suite("SMTP delivery against a real server")
struct SMTPTests {
    @Test("The server receives one message with both parts, the headers decoded, List-Unsubscribe and the caller's Message-ID",
          arguments: [EmailMessage.BodyEncoding.quotedPrintable, .base64])
    func deliversTheMessageAsSent(encoding: EmailMessage.BodyEncoding) async throws {
        let server = try await SMTPTestServer.start()
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration())

        let receipt = try await client.send(SampleMail.invitation(encoding: encoding))

        let mails = try server.received()
        try #require(mails.count == 1)
        let mail = mails[0]
        #expect(receipt.messageID == "invitation-\(SampleMail.invitationID)@clientele.test")
        #expect(receipt.reply.hasPrefix("250 2.0.0 Ok: queued as test-1"))
        #expect(receipt.recipients == ["elodie.martin@example.fr"])
        #expect(mail.mail_from == "avis@boulangerie-dupont.fr")
        #expect(mail.rcpt_tos == ["elodie.martin@example.fr"])
        #expect(mail.header("Subject") == ["Votre avis compte : comment s'est passée votre dernière visite ? ☕"])
        #expect(mail.header("From") == ["Boulangerie Dupont — Café & Pains <avis@boulangerie-dupont.fr>"])
        #expect(mail.header("To") == ["Élodie Martin <elodie.martin@example.fr>"])
        #expect(mail.header("Message-ID") == ["<invitation-\(SampleMail.invitationID)@clientele.test>"])
        #expect(mail.header("List-Unsubscribe") == ["<https://clientele.test/s/tok_abc123/unsubscribe>"])
        #expect(mail.header("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"])
        #expect(mail.header("X-Clientele-Invitation") == [SampleMail.invitationID])
        #expect(mail.header("MIME-Version") == ["1.0"])
        #expect(mail.header("Date").count == 1)
        #expect(mail.content_type == "multipart/alternative")
        #expect(mail.textLines == SampleMail.text)
        #expect(mail.htmlLines == SampleMail.html)
        #expect(mail.longest_line <= 998)
        #expect(!mail.raw.contains("\r\n..Cette"), "the server removes the dot-stuffing")
    }

    @Test("A message without HTML is a single text/plain part")
    func sendsPlainTextAlone() async throws {
        let server = try await SMTPTestServer.start()
        defer { server.stop() }
        var message = SampleMail.invitation()
        message.html = nil
        message.messageID = nil

        let receipt = try await SMTPClient(configuration: server.configuration()).send(message)

        let mails = try server.received()
        try #require(mails.count == 1)
        #expect(mails[0].content_type == "text/plain")
        #expect(mails[0].text?.hasPrefix("Bonjour Élodie,") == true)
        #expect(receipt.messageID.hasSuffix("@boulangerie-dupont.fr"), "a generated id uses the sender's domain")
        #expect(mails[0].header("Message-ID") == ["<\(receipt.messageID)>"])
    }

    @Test("STARTTLS with a self-signed certificate the configuration trusts, then AUTH PLAIN")
    func startTLSAndAuthPlain() async throws {
        let server = try await SMTPTestServer.start(tls: .startTLS, auth: "clientele:s3cret", authOnly: "PLAIN")
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration(
            security: .startTLS, credentials: .init(username: "clientele", password: "s3cret")))

        _ = try await client.send(SampleMail.invitation())

        let mails = try server.received()
        try #require(mails.count == 1)
        #expect(mails[0].tls)
        #expect(mails[0].login == "clientele")
    }

    @Test("AUTH LOGIN when the server offers only that")
    func authLogin() async throws {
        let server = try await SMTPTestServer.start(tls: .startTLS, auth: "clientele:s3cret", authOnly: "LOGIN")
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration(
            security: .startTLS, credentials: .init(username: "clientele", password: "s3cret")))

        _ = try await client.send(SampleMail.invitation())

        #expect(try server.received().map(\.login) == ["clientele"])
    }

    @Test("Implicit TLS from the first byte")
    func implicitTLS() async throws {
        let server = try await SMTPTestServer.start(tls: .implicit)
        defer { server.stop() }

        _ = try await SMTPClient(configuration: server.configuration(security: .tls)).send(SampleMail.invitation())

        #expect(try server.received().map(\.tls) == [true])
    }

    @Test("A wrong password is a permanent failure at authentication, and nothing is sent")
    func wrongPassword() async throws {
        let server = try await SMTPTestServer.start(tls: .startTLS, auth: "clientele:s3cret")
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration(
            security: .startTLS, credentials: .init(username: "clientele", password: "wrong")))

        let error = try await #require(throws: SMTPError.self) { try await client.send(SampleMail.invitation()) }

        #expect(error.code == .permanent)
        #expect(error.stage == .authentication)
        #expect(error.replyCode == 535)
        #expect(try server.received().isEmpty)
    }

    @Test("A certificate the client does not trust fails STARTTLS before any credential or message is sent")
    func untrustedCertificate() async throws {
        let server = try await SMTPTestServer.start(tls: .startTLS, auth: "clientele:s3cret")
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration(
            security: .startTLS, credentials: .init(username: "clientele", password: "s3cret"), trust: .systemDefault))

        let error = try await #require(throws: SMTPError.self) { try await client.send(SampleMail.invitation()) }

        #expect(error.stage == .startTLS)
        #expect(error.isTransient)
        #expect(try server.received().isEmpty)
    }

    @Test("Skipping verification accepts the self-signed certificate")
    func insecureNoVerification() async throws {
        let server = try await SMTPTestServer.start(tls: .startTLS)
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration(security: .startTLS, trust: .insecureNoVerification))

        _ = try await client.send(SampleMail.invitation())

        #expect(try server.received().count == 1)
    }

    @Test("STARTTLS required but not offered is a permanent failure: the message never goes out in clear")
    func startTLSNotOffered() async throws {
        let server = try await SMTPTestServer.start()
        defer { server.stop() }

        let error = try await #require(throws: SMTPError.self) {
            try await SMTPClient(configuration: server.configuration(security: .startTLS)).send(SampleMail.invitation())
        }

        #expect(error.code == .permanent)
        #expect(error.stage == .startTLS)
        #expect(try server.received().isEmpty)
    }

    @Test("Credentials without TLS are refused when the client is made, and never printed")
    func credentialsNeedTLS() throws {
        let configuration = SMTPConfiguration(host: "127.0.0.1", port: 2525, security: .none,
                                              credentials: .init(username: "clientele", password: "hunter2"))
        let error = try #require(throws: SMTPError.self) { try SMTPClient(configuration: configuration) }
        #expect(error.code == .permanent)
        #expect(error.stage == .authentication)
        #expect(!configuration.description.contains("hunter2"), "a configuration never prints its password")
    }
}

@Suite("SMTP commit point")
struct SMTPCommitPointTests {
    @Test("beforeContent runs once, after DATA is accepted; if it throws, the server receives nothing")
    func beforeContent() async throws {
        let server = try await SMTPTestServer.start()
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration())
        struct Refused: Error {}
        let calls = Counter()
        await #expect(throws: Refused.self) {
            _ = try await client.send(SampleMail.invitation()) { calls.add(); throw Refused() }
        }
        #expect(calls.value == 1)
        #expect(try server.received().isEmpty)

        _ = try await client.send(SampleMail.invitation()) { calls.add() }
        #expect(calls.value == 2)
        #expect(try server.received().count == 1)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.withLock { count } }
        func add() { lock.withLock { count += 1 } }
    }
}
