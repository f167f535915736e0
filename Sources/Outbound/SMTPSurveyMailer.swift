import Delivery
import Foundation
import Surveys
import Tenancy

/// Survey invitations leave through the tenant's mail server, or the platform's (the
/// `TenantMailRouter` picks). The SMTP client's `beforeContent` hook is the surveys' commit
/// point: once it has run, the invitation is `committing` and a rerun will not send it again
/// (at most once).
public struct SMTPSurveyMailer: SurveyMailer {
    public let router: TenantMailRouter

    public init(router: TenantMailRouter) {
        self.router = router
    }

    public func send(_ email: SurveyEmail, beforeCommit: @escaping @Sendable () async throws -> Void) async throws {
        throw SurveyMailRefusal(transient: false, "this mailer needs the invitation's account")
    }

    public func send(
        _ email: SurveyEmail, scope: TenantScope, beforeCommit: @escaping @Sendable () async throws -> Void
    ) async throws {
        let route: TenantMailRouter.Route
        do {
            route = try await router.route(for: scope)
        } catch let unavailable as MailRouteUnavailable {
            throw SurveyMailRefusal(transient: false, unavailable.reason)
        }
        // The survey settings' sender name first, else the tenant server's own.
        let message = EmailMessage(
            from: EmailAddress(route.from.address, name: email.fromName ?? route.from.name), to: [EmailAddress(email.to)],
            subject: email.subject, text: email.text, html: email.html,
            // The same on every attempt of this email: a resend is recognisable downstream.
            messageID: "invitation-\(email.invitationID)\(email.isReminder ? "-reminder" : "")@clientele",
            listUnsubscribe: email.listUnsubscribe, replyTo: email.replyTo.map { EmailAddress($0) })
        do {
            _ = try await SMTPClient(configuration: route.configuration).send(message, beforeContent: beforeCommit)
        } catch let error as SMTPError {
            // A bad address or header is an SMTPError too (permanent, at the message stage).
            throw SurveyMailRefusal(transient: error.isTransient, error.description)
        }
    }
}
