import Foundation
import NIOCore
import TestSupport
@testable import Delivery

/// The aiosmtpd server of `smtp/smtp_server.py`, in one of its behaviours.
struct SMTPTestServer {
    enum Mode: String, CaseIterable {
        case accept
        case rcpt550 = "rcpt-550", rcpt451 = "rcpt-451", data550 = "data-550", data451 = "data-451"
        case hangData = "hang-data", closeMidData = "close-mid-data", silent
    }

    enum TLS { case none, startTLS, implicit }

    let server: LoopbackServer

    static func start(_ mode: Mode = .accept, tls: TLS = .none, auth: String? = nil, authOnly: String? = nil) async throws -> SMTPTestServer {
        var arguments = ["--mode", mode.rawValue]
        if tls != .none { arguments += ["--cert", try TestCertificate.certificate, "--key", try TestCertificate.key] }
        if tls == .implicit { arguments.append("--implicit-tls") }
        if let auth { arguments += ["--auth", auth] }
        if let authOnly { arguments += ["--auth-only", authOnly] }
        return SMTPTestServer(server: try await LoopbackServer.start(script: "DeliveryTests/smtp/smtp_server.py", arguments: arguments))
    }

    var port: Int { server.port }
    func stop() { server.stop() }

    /// Every message the server accepted (answered 250 to the final ".").
    func received() throws -> [ReceivedMail] {
        try server.records(in: "messages", as: ReceivedMail.self)
    }

    func configuration(
        security: SMTPConfiguration.Security = .none, credentials: SMTPConfiguration.Credentials? = nil,
        trust: TLSTrust? = nil, commandTimeout: TimeAmount = .seconds(10)
    ) throws -> SMTPConfiguration {
        SMTPConfiguration(
            host: "127.0.0.1", port: port, security: security, credentials: credentials, heloName: "clientele.test",
            connectTimeout: .seconds(5), commandTimeout: commandTimeout,
            trust: try trust ?? .pemFile(TestCertificate.certificate))
    }
}

/// A message as the server saved it: the envelope, and the message as Python's email package
/// reads it (headers and parts decoded).
struct ReceivedMail: Decodable {
    var mail_from: String
    var rcpt_tos: [String]
    var tls: Bool
    var login: String?
    var raw: String
    var longest_line: Int
    var content_type: String
    var headers: [[String]]
    var text: String?
    var html: String?

    /// The parts with CRLF read back as "\n", as the caller wrote them.
    var textLines: String? { text?.replacingOccurrences(of: "\r\n", with: "\n") }
    var htmlLines: String? { html?.replacingOccurrences(of: "\r\n", with: "\n") }

    /// Every value of the header, decoded.
    func header(_ name: String) -> [String] {
        headers.filter { $0[0].lowercased() == name.lowercased() }.map { $0[1] }
    }
}

enum SampleMail {
    static let invitationID = "0192f7a0-7c1e-7cc4-9d6e-0b6a4f1c2d3e"

    static func invitation(encoding: EmailMessage.BodyEncoding = .quotedPrintable) -> EmailMessage {
        EmailMessage(
            from: EmailAddress("avis@boulangerie-dupont.fr", name: "Boulangerie Dupont — Café & Pains"),
            to: [EmailAddress("elodie.martin@example.fr", name: "Élodie Martin")],
            subject: "Votre avis compte : comment s'est passée votre dernière visite ? ☕",
            text: text,
            html: html,
            messageID: "invitation-\(invitationID)@clientele.test",
            listUnsubscribe: "https://clientele.test/s/tok_abc123/unsubscribe",
            headers: [(name: "X-Clientele-Invitation", value: invitationID)],
            bodyEncoding: encoding)
    }

    /// French text with a line that starts with a dot (dot-stuffing), a trailing space, an "=",
    /// and a 1,500-character line (over SMTP's 998).
    static let text = """
        Bonjour Élodie,

        Merci pour votre achat du 3 mars. Sur une échelle de 0 à 10, recommanderiez-vous notre boulangerie ?
        .Cette ligne commence par un point.
        Réduction = 10 % sur la prochaine commande.\u{20}
        \(String(repeating: "éàç-", count: 375))
        À bientôt !
        """

    static let html = """
        <!doctype html><html><body><p>Bonjour Élodie,</p>
        <p>Recommanderiez-vous notre boulangerie ? <a href="https://clientele.test/s/tok_abc123?score=10">10</a></p>
        <p>\(String(repeating: "é", count: 1200))</p>
        .<p>Point en début de ligne</p>
        </body></html>
        """
}
