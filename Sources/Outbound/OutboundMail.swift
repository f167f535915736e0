import Delivery
import Foundation
import Tenancy

/// The platform's outgoing mail server and sender, from the environment:
/// CLIENTELE_SMTP_URL `smtp://user:password@host:587` (STARTTLS), `smtps://…:465` (TLS), or
/// `smtp://host:25?security=none` (a relay on the loopback); CLIENTELE_MAIL_FROM the sender
/// address (default `no-reply@<SMTP host>`). No CLIENTELE_SMTP_URL: a tenant without its own
/// server (`/v1/mail/settings`) sends no email, and what would be is recorded as failed with
/// that reason.
public struct OutboundMail: Sendable {
    public var configuration: SMTPConfiguration
    public var from: EmailAddress

    public init(configuration: SMTPConfiguration, from: EmailAddress) {
        self.configuration = configuration
        self.from = from
    }

    public static func fromEnvironment(_ environment: [String: String]) throws -> OutboundMail? {
        guard let text = environment["CLIENTELE_SMTP_URL"], !text.isEmpty else { return nil }
        guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty,
              let scheme = url.scheme, ["smtp", "smtps"].contains(scheme)
        else { throw OutboundConfigurationError("CLIENTELE_SMTP_URL must look like smtp://user:password@host:587") }
        var security: SMTPConfiguration.Security = scheme == "smtps" ? .tls : .startTLS
        if let value = url.queryItems?.first(where: { $0.name == "security" })?.value {
            guard let chosen = SMTPConfiguration.Security(rawValue: value) else {
                throw OutboundConfigurationError("CLIENTELE_SMTP_URL: security must be none, startTLS or tls")
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

/// A setting of the environment that cannot be used: one line at startup.
public struct OutboundConfigurationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the server sends with, from the environment: the platform's mail server
/// (CLIENTELE_SMTP_URL, CLIENTELE_MAIL_FROM) and the key that seals tenants' SMTP passwords
/// (CLIENTELE_SECRET_KEY). A setting that is present but unusable is an error at startup.
public struct OutboundSettings: Sendable {
    public var mail: OutboundMail?
    public var secretBox: SecretBox?

    public init(mail: OutboundMail?, secretBox: SecretBox?) {
        self.mail = mail
        self.secretBox = secretBox
    }

    public static func fromEnvironment(_ environment: [String: String]) throws -> OutboundSettings {
        let mail = try OutboundMail.fromEnvironment(environment)
        let box: SecretBox?
        do {
            box = try SecretBox.fromEnvironment(environment)
        } catch {
            throw OutboundConfigurationError("\(error)")
        }
        return OutboundSettings(mail: mail, secretBox: box)
    }
}
