import ClientBase
import Delivery
import Foundation
import Jobs
import Outbound
import Postgres
import Surveys
import Tenancy

/// Invitation and password reset emails leave through the platform's mail server. Each attempt
/// carries a fresh token, so each gets its own Message-ID (made by the renderer). No mail server
/// configured, a 5xx or a bad address: a permanent refusal, the job is discarded with the
/// reason; anything else is retried.
struct SMTPAccountMailer: AccountMailer {
    let mail: OutboundMail?

    func send(_ email: AccountEmail) async throws {
        guard let mail else {
            throw AccountMailRefusal(transient: false, "no mail server is configured (CLIENTELE_SMTP_URL): the \(email.kind.rawValue) email to \(email.to) was not sent")
        }
        let message = EmailMessage(
            from: EmailAddress(mail.from.address, name: "Clientele"), to: [EmailAddress(email.to)],
            subject: email.subject, text: email.text, html: email.html,
            headers: [(name: "X-Clientele-Email", value: email.kind.rawValue)])
        do {
            _ = try await SMTPClient(configuration: mail.configuration).send(message)
        } catch let error as SMTPError {
            throw AccountMailRefusal(transient: error.isTransient, error.description)
        }
    }
}

extension SMTPAccountMailer {
    /// The account email jobs' handlers, sending through the platform's mail server; links
    /// start with the same public URL as the survey links.
    static func jobHandlers(database: PostgresClient, mail: OutboundMail?, links: SurveyLinks) -> [String: JobHandler] {
        AccountMailJobs.handlers(database: database, mailer: SMTPAccountMailer(mail: mail), links: AccountLinks(baseURL: links.baseURL))
    }
}
