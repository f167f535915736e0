import Delivery
import Foundation

/// The platform's outgoing mail server and sender, from the environment:
/// CLIENTELE_SMTP_URL `smtp://user:password@host:587` (STARTTLS), `smtps://…:465` (TLS), or
/// `smtp://host:25?security=none` (a relay on the loopback); CLIENTELE_MAIL_FROM the sender
/// address (default `no-reply@<SMTP host>`). No CLIENTELE_SMTP_URL: no email is sent, and what
/// would be is recorded as failed with that reason.
struct OutboundMail: Sendable {
    var configuration: SMTPConfiguration
    var from: EmailAddress

    static func fromEnvironment(_ environment: [String: String]) throws -> OutboundMail? {
        guard let text = environment["CLIENTELE_SMTP_URL"], !text.isEmpty else { return nil }
        guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty,
              let scheme = url.scheme, ["smtp", "smtps"].contains(scheme)
        else { throw ConfigurationError(message: "CLIENTELE_SMTP_URL must look like smtp://user:password@host:587") }
        var security: SMTPConfiguration.Security = scheme == "smtps" ? .tls : .startTLS
        if let value = url.queryItems?.first(where: { $0.name == "security" })?.value {
            guard let chosen = SMTPConfiguration.Security(rawValue: value) else {
                throw ConfigurationError(message: "CLIENTELE_SMTP_URL: security must be none, startTLS or tls")
            }
            security = chosen
        }
        let credentials = url.user.map {
            SMTPConfiguration.Credentials(username: $0.removingPercentEncoding ?? $0,
                                          password: url.password?.removingPercentEncoding ?? "")
        }
        let configuration = SMTPConfiguration(host: host, port: url.port, security: security, credentials: credentials)
        let from = EmailAddress(environment["CLIENTELE_MAIL_FROM"] ?? "no-reply@\(host)")
        return OutboundMail(configuration: configuration, from: from)
    }
}
