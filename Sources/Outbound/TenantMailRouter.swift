import Delivery
import Foundation
import Postgres
import Tenancy

/// Picks the mail server of a tenant's email: its own (`/v1/mail/settings`) when it has one,
/// else the platform's (CLIENTELE_SMTP_URL). Read at each send, so a change applies to the next
/// email; a tenant's settings are read in that tenant's transaction only, so one tenant's server
/// never carries another's mail.
public struct TenantMailRouter: Sendable {
    /// Where one email goes: the server, and the sender address that goes with it.
    public struct Route: Sendable {
        public var configuration: SMTPConfiguration
        public var from: EmailAddress
        /// True: the tenant's own server; false: the platform's.
        public var isTenantServer: Bool
    }

    public let database: PostgresClient
    public let platform: OutboundMail?
    public let secretBox: SecretBox?
    /// Which certificates a tenant's server may present (the system's by default).
    public let tenantTrust: TLSTrust

    public init(database: PostgresClient, platform: OutboundMail?, secretBox: SecretBox?, tenantTrust: TLSTrust = .systemDefault) {
        self.database = database
        self.platform = platform
        self.secretBox = secretBox
        self.tenantTrust = tenantTrust
    }

    public func route(for scope: TenantScope) async throws -> Route {
        if let settings = try await TenantMailSettingsStore.read(scope, database: database) {
            return try route(settings)
        }
        guard let platform else {
            throw MailRouteUnavailable(
                "no mail server is configured: neither the account's (/v1/mail/settings) nor the platform's (CLIENTELE_SMTP_URL)")
        }
        return Route(configuration: platform.configuration, from: platform.from, isTenantServer: false)
    }

    /// The route of an active tenant given by its id (an alert digest knows only the id).
    public func route(tenantID: Int64) async throws -> Route {
        guard let scope = try await TenantScope.active(tenantID: tenantID, client: database) else {
            throw MailRouteUnavailable("the account \(tenantID) is not active")
        }
        return try await route(for: scope)
    }

    func route(_ settings: TenantMailSettings) throws -> Route {
        var credentials: SMTPConfiguration.Credentials?
        if let username = settings.username {
            var password = ""
            if let sealed = settings.sealedPassword {
                guard let secretBox else {
                    throw MailRouteUnavailable(
                        "the account's SMTP password cannot be read: this server has no \(SecretBox.environmentVariable)")
                }
                do {
                    password = try secretBox.open(sealed)
                } catch {
                    throw MailRouteUnavailable("the account's SMTP password cannot be read: \(error)")
                }
            }
            credentials = SMTPConfiguration.Credentials(username: username, password: password)
        }
        let security: SMTPConfiguration.Security = switch settings.security {
        case .none: .none
        case .startTLS: .startTLS
        case .tls: .tls
        }
        let configuration = SMTPConfiguration(
            host: settings.host, port: settings.port, security: security, credentials: credentials,
            heloName: platform?.configuration.heloName ?? "localhost", trust: tenantTrust)
        return Route(configuration: configuration, from: EmailAddress(settings.fromAddress, name: settings.fromName),
                     isTenantServer: true)
    }
}

/// No server can carry this email (none configured, or its password cannot be read): a
/// permanent failure, recorded with this reason.
public struct MailRouteUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
