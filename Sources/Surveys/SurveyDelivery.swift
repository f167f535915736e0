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
/// A run that finds `sending` sends again: the server never got the final ".", so nothing was
/// delivered. A run that finds `committing` cannot know whether the server took the message
/// and marks it failed ("outcome unknown"): at most once, never twice. A permanent refusal
/// marks it failed with the reason; a transient one before the commit point is retried.
public struct SurveyDelivery: Sendable {
    public static let outcomeUnknown = "outcome unknown"

    public let database: PostgresClient
    public let mailer: any SurveyMailer
    public let links: SurveyLinks

    public init(database: PostgresClient, mailer: any SurveyMailer, links: SurveyLinks) {
        self.database = database
        self.mailer = mailer
        self.links = links
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
            let settings = try SurveySettings(row: row, offset: 21)
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
                SELECT \(fragment: SurveyInvitations.skipReason(at: "now()", delivering: invitationID))
                FROM clients c CROSS JOIN (\(fragment: SurveySettings.select)) AS s
                WHERE c.id = (SELECT client_id FROM survey_invitations WHERE id = \(invitationID))
                """)
            if let reason = try reasons.first?.decode(SurveySkipReason?.self, at: 0) {
                try await session.query("""
                    UPDATE survey_invitations SET state = 'skipped', reason = \(reason), updated_at = now() WHERE id = \(invitationID)
                    """)
                return .done(.skipped(reason))
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
            let email = try row.decode(String?.self, at: 1) ?? ""
            return .send(attempt: try marked[0][0].decode(Int.self, at: 0), SurveyEmailContent.email(
                invitationID: invitationID, to: email, campaign: campaign, settings: settings, token: token,
                links: links, isReminder: false), reminderAfterDays: campaign.reminderAfterDays)
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
            let settings = try SurveySettings(row: row, offset: 25)
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
            let reason: SurveySkipReason? = !consent
                ? (source == SurveyResponses.unsubscribeSource ? .unsubscribed : .noConsent)
                : (email == nil ? .noEmail : nil)
            if let reason {
                try await session.query("""
                    UPDATE survey_invitations SET reminder_state = 'skipped', reminder_reason = \(reason.rawValue), updated_at = now()
                    WHERE id = \(invitationID)
                    """)
                return .done(.skipped(reason))
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
            return .send(attempt: try marked[0][0].decode(Int.self, at: 0), SurveyEmailContent.email(
                invitationID: invitationID, to: email ?? "", campaign: campaign, settings: settings, token: token,
                links: links, isReminder: true), reminderAfterDays: nil)
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
        case send(attempt: Int, SurveyEmail, reminderAfterDays: Int?)
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
        _ email: SurveyEmail, attempt: Int, columns: Columns, scope: TenantScope, finish: Finish,
        onSent: @escaping @Sendable (PostgresSession) async throws -> Void
    ) async throws -> Outcome {
        let id = email.invitationID, database = self.database
        do {
            try await mailer.send(email, beforeCommit: {
                let rows = try await database.tenantTransaction(scope, ["""
                    UPDATE survey_invitations SET \(unescaped: columns.state) = 'committing', updated_at = now()
                    WHERE id = \(id) AND \(unescaped: columns.state) = 'sending' AND \(unescaped: columns.attempt) = \(attempt)
                    RETURNING id
                    """])
                guard !rows[0].isEmpty else { throw SurveyDeliveryTakenOver() }
            })
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
