import ClientBase
import Foundation
import Postgres
import Tenancy

/// Delivers invitations and reminders at most once, even when a job runs twice.
///
/// The rule, for each email (the invitation, then its one reminder):
/// 1. In a committed transaction, the message goes from `scheduled` (or `sending`) to
///    `sending`, with a new attempt number and a new token; the rules are checked again
///    (consent, email, surveyed recently) and a message that may not go is `skipped`.
/// 2. The mailer calls the commit hook right before the final "." of SMTP DATA: it moves
///    `sending` to `committing`, only for this attempt's number. If another attempt holds it,
///    the hook throws and the mailer stops before the ".".
/// 3. Accepted: `committing` becomes `sent`, with the job's completion.
///
/// A campaign whose `channel` is `webhook` goes the same way, POSTed to the tenant's signed
/// webhook (the churn settings' `webhook_url` and `webhook_secret`): `committing` just before
/// the request is written. A receiver that answered 408, 429 or 5xx did not take it, so the
/// invitation goes back to `sending` and the job retries; a timeout or a connection lost after
/// the request was written is an unknown outcome, like SMTP's.
///
/// A run that finds `sending` sends again: the server never got the final ".", so nothing was
/// delivered. A run that finds `committing` cannot know whether the server took the message
/// and marks it failed ("outcome unknown"): at most once, never twice. A permanent refusal
/// marks it failed with the reason; a transient one before the commit point is retried.
public struct SurveyDelivery: Sendable {
    public static let outcomeUnknown = "outcome unknown"
    public static let noWebhookURL = "no webhook URL is configured (webhook_url in /v1/churn/settings)"
    public static let noWebhookSender = "this server sends no webhooks"

    public let database: PostgresClient
    public let mailer: any SurveyMailer
    public let links: SurveyLinks
    /// Posts the invitations of webhook campaigns; nil: they fail with `noWebhookSender`.
    public let webhooks: (any SurveyWebhookPoster)?

    public init(database: PostgresClient, mailer: any SurveyMailer, links: SurveyLinks, webhooks: (any SurveyWebhookPoster)? = nil) {
        self.database = database
        self.mailer = mailer
        self.links = links
        self.webhooks = webhooks
    }

    /// How a run's last writes commit: with the job's completion (the job runner's
    /// `completeInTenantTransaction`), or in a transaction of their own.
    public typealias Finish = @Sendable ((PostgresSession) async throws -> Void) async throws -> Void

    public enum Outcome: Sendable, Hashable {
        case sent
        case skipped(SurveySkipReason)
        case failed(String)
        /// Nothing to do: the message is already past this point (sent, answered, ...).
        case unchanged
    }

    /// The invitation email of `survey.deliver`.
    public func deliver(_ invitationID: UUID, scope: TenantScope, finish: Finish? = nil) async throws -> Outcome {
        let finish = finish ?? plainFinish(scope)
        let prepared: Prepared = try await database.withTenantTransaction(scope) { session in
            let rows = try await session.query("""
                SELECT i.state, c.email, \(fragment: SurveyCampaign.columns), \(fragment: SurveySettings.columns)
                FROM survey_invitations i
                JOIN survey_campaigns sc ON sc.id = i.campaign_id
                JOIN clients c ON c.id = i.client_id
                CROSS JOIN survey_settings ss
                WHERE i.id = \(invitationID)
                FOR NO KEY UPDATE OF i, c
                """)
            guard let row = rows.first else { return .done(.unchanged) }
            let state = try row.decode(String.self, at: 0)
            let campaign = try SurveyCampaign(row: row, offset: 2)
            let settings = try SurveySettings(row: row, offset: 2 + SurveyCampaign.columnCount)
            switch state {
            case "committing":
                try await session.query(Self.fail(invitationID, Self.outcomeUnknown, columns: .invitation))
                return .done(.failed(Self.outcomeUnknown))
            case "scheduled", "sending":
                break
            default:
                return .done(.unchanged)
            }
            if !campaign.active {
                try await session.query(Self.fail(invitationID, "campaign deactivated", columns: .invitation))
                return .done(.failed("campaign deactivated"))
            }
            let reasons = try await session.query("""
                SELECT \(fragment: SurveyInvitations.skipReason(at: "now()", delivering: invitationID, channel: campaign.channel))
                FROM clients c CROSS JOIN (\(fragment: SurveySettings.select)) AS s
                WHERE c.id = (SELECT client_id FROM survey_invitations WHERE id = \(invitationID))
                """)
            if let reason = try reasons.first?.decode(SurveySkipReason?.self, at: 0) {
                try await session.query("""
                    UPDATE survey_invitations SET state = 'skipped', reason = \(reason), updated_at = now() WHERE id = \(invitationID)
                    """)
                return .done(.skipped(reason))
            }
            var hook: Webhook?
            if campaign.channel == .webhook {
                switch try await webhook(in: session) {
                case .success(let found): hook = found
                case .failure(let reason):
                    try await session.query(Self.fail(invitationID, reason.message, columns: .invitation))
                    return .done(.failed(reason.message))
                }
            }
            let token = SurveyToken.make(tenantID: scope.tenantID)
            let marked = try await session.pipeline([
                """
                UPDATE survey_invitations SET state = 'sending', reason = NULL, send_attempt = send_attempt + 1,
                    expires_at = now() + make_interval(days => \(campaign.lifetimeDays)::int), updated_at = now()
                WHERE id = \(invitationID)
                RETURNING send_attempt
                """,
                // Tokens of attempts that never reached the commit point were never delivered.
                "DELETE FROM survey_tokens WHERE invitation_id = \(invitationID)",
                "INSERT INTO survey_tokens (token_hash, invitation_id) VALUES (\(token.hash), \(invitationID))",
            ])
            let email = SurveyEmailContent.email(
                invitationID: invitationID, to: try row.decode(String?.self, at: 1) ?? "", campaign: campaign,
                settings: settings, token: token, links: links, isReminder: false)
            let message: Message = if let hook {
                .webhook(try await webhookInvitation(email, campaign: campaign, in: session), hook)
            } else {
                .email(email)
            }
            return .send(attempt: try marked[0][0].decode(Int.self, at: 0), message, reminderAfterDays: campaign.reminderAfterDays)
        }
        guard case .send(let attempt, let email, let reminderAfterDays) = prepared else {
            if case .done(let outcome) = prepared { return outcome }
            return .unchanged
        }
        return try await send(email, attempt: attempt, columns: .invitation, scope: scope, finish: finish) { session in
            if let days = reminderAfterDays {
                try await SurveyJobs.enqueueReminder(invitationID, at: Date().addingTimeInterval(Double(days) * 86_400), in: session)
            }
        }
    }

    /// The one reminder of `survey.remind`: only for an invitation sent, not answered and
    /// not expired, to a client whose consent still holds.
    public func remind(_ invitationID: UUID, scope: TenantScope, finish: Finish? = nil) async throws -> Outcome {
        let finish = finish ?? plainFinish(scope)
        let prepared: Prepared = try await database.withTenantTransaction(scope) { session in
            let rows = try await session.query("""
                SELECT i.state, i.reminder_state, i.expires_at > now(), c.email, c.consent_surveys, c.consent_surveys_source,
                       \(fragment: SurveyCampaign.columns), \(fragment: SurveySettings.columns)
                FROM survey_invitations i
                JOIN survey_campaigns sc ON sc.id = i.campaign_id
                JOIN clients c ON c.id = i.client_id
                CROSS JOIN survey_settings ss
                WHERE i.id = \(invitationID)
                FOR NO KEY UPDATE OF i
                """)
            guard let row = rows.first, try row.decode(String.self, at: 0) == "sent",
                  try row.decode(Bool?.self, at: 2) == true
            else { return .done(.unchanged) }
            let campaign = try SurveyCampaign(row: row, offset: 6)
            let settings = try SurveySettings(row: row, offset: 6 + SurveyCampaign.columnCount)
            switch try row.decode(String?.self, at: 1) {
            case "committing":
                try await session.query(Self.fail(invitationID, Self.outcomeUnknown, columns: .reminder))
                return .done(.failed(Self.outcomeUnknown))
            case nil, "sending":
                break
            default:
                return .done(.unchanged)
            }
            let email = try row.decode(String?.self, at: 3)
            let consent = try row.decode(Bool.self, at: 4), source = try row.decode(String?.self, at: 5)
            let recipient = campaign.channel == .webhook ? try await Self.recipient(invitationID, in: session) : nil
            let missing: SurveySkipReason? = campaign.channel == .webhook
                ? (recipient?.phone == nil ? .noPhone : nil)
                : (email == nil ? .noEmail : nil)
            let reason: SurveySkipReason? = !consent
                ? (source == SurveyResponses.unsubscribeSource ? .unsubscribed : .noConsent)
                : missing
            if let reason {
                try await session.query("""
                    UPDATE survey_invitations SET reminder_state = 'skipped', reminder_reason = \(reason.rawValue), updated_at = now()
                    WHERE id = \(invitationID)
                    """)
                return .done(.skipped(reason))
            }
            var hook: Webhook?
            if campaign.channel == .webhook {
                switch try await webhook(in: session) {
                case .success(let found): hook = found
                case .failure(let reason):
                    try await session.query(Self.fail(invitationID, reason.message, columns: .reminder))
                    return .done(.failed(reason.message))
                }
            }
            let token = SurveyToken.make(tenantID: scope.tenantID)
            let marked = try await session.pipeline([
                """
                UPDATE survey_invitations SET reminder_state = 'sending', reminder_reason = NULL,
                    reminder_attempt = reminder_attempt + 1, updated_at = now()
                WHERE id = \(invitationID)
                RETURNING reminder_attempt
                """,
                "INSERT INTO survey_tokens (token_hash, invitation_id) VALUES (\(token.hash), \(invitationID))",
            ])
            let content = SurveyEmailContent.email(
                invitationID: invitationID, to: email ?? "", campaign: campaign, settings: settings, token: token,
                links: links, isReminder: true)
            let message: Message = if let hook {
                .webhook(try await webhookInvitation(content, campaign: campaign, in: session), hook)
            } else {
                .email(content)
            }
            return .send(attempt: try marked[0][0].decode(Int.self, at: 0), message, reminderAfterDays: nil)
        }
        guard case .send(let attempt, let email, _) = prepared else {
            if case .done(let outcome) = prepared { return outcome }
            return .unchanged
        }
        return try await send(email, attempt: attempt, columns: .reminder, scope: scope, finish: finish) { _ in }
    }

    // MARK: The send and its commit point

    private enum Prepared: Sendable {
        case done(Outcome)
        case send(attempt: Int, Message, reminderAfterDays: Int?)
    }

    /// Where a webhook invitation goes, from the churn settings (the same webhook as alerts).
    struct Webhook: Sendable {
        var url: String
        var secret: String
    }

    private enum Message: Sendable {
        case email(SurveyEmail)
        case webhook(SurveyWebhookInvitation, Webhook)

        var invitationID: UUID {
            switch self {
            case .email(let email): email.invitationID
            case .webhook(let invitation, _): invitation.invitationID
            }
        }
    }

    private struct Unavailable: Error {
        var message: String
    }

    private func webhook(in session: PostgresSession) async throws -> Result<Webhook, Unavailable> {
        guard webhooks != nil else { return .failure(Unavailable(message: Self.noWebhookSender)) }
        let rows = try await session.query("SELECT webhook_url, webhook_secret FROM churn_settings LIMIT 1")
        guard let row = rows.first, let url = try row.decode(String?.self, at: 0) else {
            return .failure(Unavailable(message: Self.noWebhookURL))
        }
        return .success(Webhook(url: url, secret: try row.decode(String.self, at: 1)))
    }

    /// The invitation's client as a webhook shows them, with the invitation's expiry.
    private struct Recipient: Sendable {
        var clientID: UUID
        var name: String
        var phone: String?
        var email: String?
        var expiresAt: Date
    }

    private static func recipient(_ invitationID: UUID, in session: PostgresSession) async throws -> Recipient {
        let row = try await session.query("""
            SELECT c.id, coalesce(c.organisation_name, nullif(btrim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), ''), 'client'),
                   c.phone, c.email, coalesce(i.expires_at, now())
            FROM survey_invitations i JOIN clients c ON c.id = i.client_id
            WHERE i.id = \(invitationID)
            """)[0]
        return Recipient(clientID: try row.decode(at: 0), name: try row.decode(at: 1), phone: try row.decode(at: 2),
                         email: try row.decode(at: 3), expiresAt: try row.decode(at: 4))
    }

    private func webhookInvitation(
        _ email: SurveyEmail, campaign: SurveyCampaign, in session: PostgresSession
    ) async throws -> SurveyWebhookInvitation {
        let recipient = try await Self.recipient(email.invitationID, in: session)
        return SurveyWebhookInvitation(
            event: email.isReminder ? "survey.reminder" : "survey.invitation", invitationID: email.invitationID,
            campaignID: campaign.id, campaignName: campaign.name, clientID: recipient.clientID, clientName: recipient.name,
            phone: recipient.phone, email: recipient.email, surveyURL: email.surveyURL, unsubscribeURL: email.listUnsubscribe,
            language: email.language, question: campaign.question(email.language), senderName: email.fromName,
            expiresAt: recipient.expiresAt)
    }

    /// The columns of one message's state: the invitation's, or its reminder's (our SQL text).
    struct Columns: Sendable {
        var state: String
        var attempt: String
        var reason: String
        var sentAt: String

        static let invitation = Columns(state: "state", attempt: "send_attempt", reason: "reason", sentAt: "sent_at")
        static let reminder = Columns(
            state: "reminder_state", attempt: "reminder_attempt", reason: "reminder_reason", sentAt: "reminded_at")
    }

    private func send(
        _ message: Message, attempt: Int, columns: Columns, scope: TenantScope, finish: Finish,
        onSent: @escaping @Sendable (PostgresSession) async throws -> Void
    ) async throws -> Outcome {
        let id = message.invitationID, database = self.database
        let commit: @Sendable () async throws -> Void = {
            let rows = try await database.tenantTransaction(scope, ["""
                UPDATE survey_invitations SET \(unescaped: columns.state) = 'committing', updated_at = now()
                WHERE id = \(id) AND \(unescaped: columns.state) = 'sending' AND \(unescaped: columns.attempt) = \(attempt)
                RETURNING id
                """])
            guard !rows[0].isEmpty else { throw SurveyDeliveryTakenOver() }
        }
        do {
            switch message {
            case .email(let email):
                try await mailer.send(email, scope: scope, beforeCommit: commit)
            case .webhook(let invitation, let hook):
                guard let webhooks else { throw SurveyMailRefusal(transient: false, Self.noWebhookSender) }
                // The same id on every attempt: the receiver deduplicates on it.
                let kind = invitation.event == "survey.reminder" ? "reminder" : "invitation"
                let deliveryID = "survey-\(kind)-\(id.lowercaseText)"
                try await webhooks.post(invitation, to: hook.url, secret: hook.secret, deliveryID: deliveryID, beforeCommit: commit)
            }
        } catch let failure as any SurveyMailFailure where !failure.isTransient {
            let reason = String(String(describing: failure).prefix(500))
            try await finish { session in
                try await session.query("""
                    UPDATE survey_invitations SET \(unescaped: columns.state) = 'failed', \(unescaped: columns.reason) = \(reason),
                        updated_at = now()
                    WHERE id = \(id) AND \(unescaped: columns.attempt) = \(attempt)
                      AND \(unescaped: columns.state) IN ('sending', 'committing')
                    """)
            }
            return .failed(reason)
        } catch {
            // Transient, or not classified: before the commit point, the next run sends again;
            // past it, nobody can tell whether the server took it.
            let rows = try await database.tenantTransaction(scope, [
                "SELECT \(unescaped: columns.state) FROM survey_invitations WHERE id = \(id) AND \(unescaped: columns.attempt) = \(attempt)",
            ])
            guard try rows[0].first?.decode(String?.self, at: 0) == "committing" else { throw error }
            if let failure = error as? any SurveyMailFailure, failure.isTransient, failure.deliveredNothing {
                // The receiver answered that it did not take it: nothing was delivered, the job retries.
                _ = try await database.tenantTransaction(scope, ["""
                    UPDATE survey_invitations SET \(unescaped: columns.state) = 'sending', updated_at = now()
                    WHERE id = \(id) AND \(unescaped: columns.attempt) = \(attempt) AND \(unescaped: columns.state) = 'committing'
                    """])
                throw error
            }
            try await finish { session in
                try await session.query(Self.fail(id, Self.outcomeUnknown, columns: columns))
            }
            return .failed(Self.outcomeUnknown)
        }
        try await finish { session in
            let rows = try await session.query("""
                UPDATE survey_invitations SET \(unescaped: columns.state) = 'sent', \(unescaped: columns.sentAt) = now(),
                    updated_at = now()
                WHERE id = \(id) AND \(unescaped: columns.attempt) = \(attempt) AND \(unescaped: columns.state) = 'committing'
                RETURNING id
                """)
            if !rows.isEmpty { try await onSent(session) }
        }
        return .sent
    }

    static func fail(_ id: UUID, _ reason: String, columns: Columns) -> PostgresQuery {
        """
        UPDATE survey_invitations SET \(unescaped: columns.state) = 'failed', \(unescaped: columns.reason) = \(reason),
            updated_at = now()
        WHERE id = \(id)
        """
    }

    private func plainFinish(_ scope: TenantScope) -> Finish {
        let database = self.database
        return { body in
            try await database.withTenantTransaction(scope) { session in try await body(session) }
        }
    }
}
