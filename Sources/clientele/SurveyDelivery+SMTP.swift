import Delivery
import Foundation
import Surveys

/// Survey invitations leave through the platform's mail server. The SMTP client's
/// `beforeContent` hook is the surveys' commit point: once it has run, the invitation is
/// `committing` and a rerun will not send it again (at most once).
struct SMTPSurveyMailer: SurveyMailer {
    let mail: OutboundMail?

    func send(_ email: SurveyEmail, beforeCommit: @escaping @Sendable () async throws -> Void) async throws {
        guard let mail else {
            throw SurveyMailRefusal(transient: false, "no mail server is configured (CLIENTELE_SMTP_URL)")
        }
        let message = EmailMessage(
            from: EmailAddress(mail.from.address, name: email.fromName), to: [EmailAddress(email.to)],
            subject: email.subject, text: email.text, html: email.html,
            // The same on every attempt of this email: a resend is recognisable downstream.
            messageID: "invitation-\(email.invitationID)\(email.isReminder ? "-reminder" : "")@clientele",
            listUnsubscribe: email.listUnsubscribe, replyTo: email.replyTo.map { EmailAddress($0) })
        do {
            _ = try await SMTPClient(configuration: mail.configuration).send(message, beforeContent: beforeCommit)
        } catch let error as SMTPError {
            // A bad address or header is an SMTPError too (permanent, at the message stage).
            throw SurveyMailRefusal(transient: error.isTransient, error.description)
        }
    }
}
