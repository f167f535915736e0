import Delivery
import Foundation
import Outbound
import TestSupport

/// The tests' loopback SMTP server (DeliveryTests/smtp/smtp_server.py): accepting everything by
/// default, or in one of its failing modes. What it received is read back as JSON records.
struct MailSink {
    struct Message: Decodable {
        var mail_from: String
        var rcpt_tos: [String]
        var tls: Bool
        var login: String?
        var headers: [[String]]
        var text: String?
        var html: String?

        func header(_ name: String) -> [String] {
            headers.filter { $0[0].lowercased() == name.lowercased() }.map { $0[1] }
        }

        var subject: String { header("subject").first ?? "" }
    }

    let server: LoopbackServer

    static func start(mode: String = "accept", arguments: [String] = []) async throws -> MailSink {
        MailSink(server: try await LoopbackServer.start(
            script: "DeliveryTests/smtp/smtp_server.py", arguments: ["--mode", mode] + arguments))
    }

    var port: Int { server.port }
    func stop() { server.stop() }
    func received() throws -> [Message] { try server.records(in: "messages", as: Message.self) }

    func waitForMail(count: Int) async throws -> [Message] {
        for _ in 0..<300 {
            let mails = try received()
            if mails.count >= count { return mails }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("expected \(count) emails, got \(try received().count)")
    }

    var configuration: SMTPConfiguration {
        SMTPConfiguration(host: "127.0.0.1", port: port, security: .none, heloName: "clientele.test")
    }

    /// The platform's server, as CLIENTELE_SMTP_URL would give it.
    var platform: OutboundMail {
        OutboundMail(configuration: configuration, from: EmailAddress("no-reply@platform.test"))
    }

    /// A mailer of account emails sending to it, as the executable's SMTP adapter sends to the
    /// platform's server.
    var mailer: SMTPMailer { SMTPMailer(configuration: configuration) }
}
