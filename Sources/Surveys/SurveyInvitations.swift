import ClientBase
import Foundation
import Jobs
import Postgres
import Tenancy

/// Why an invitation was not sent.
public enum SurveySkipReason: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
    /// The client's survey consent is not given.
    case noConsent = "no_consent"
    /// The client was (or will be) surveyed within the tenant's minimum interval.
    case surveyedRecently = "surveyed_recently"
    /// The client has no email address (an email campaign).
    case noEmail = "no_email"
    /// The client has no phone number (a webhook campaign, for SMS).
    case noPhone = "no_phone"
    /// The client withdrew their consent through a survey's unsubscribe link.
    case unsubscribed
}

/// What creating invitations did: how many were scheduled, how many skipped and why.
public struct SurveyInvitationCounts: Sendable, Hashable {
    public var created = 0
    public var skipped: [SurveySkipReason: Int] = [:]
    /// The scheduled invitations, with when their delivery job runs.
    var scheduled: [(id: UUID, sendAt: Date)] = []

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.created == rhs.created && lhs.skipped == rhs.skipped }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(created)
        hasher.combine(skipped)
    }

    mutating func add(_ other: SurveyInvitationCounts) {
        created += other.created
        scheduled += other.scheduled
        for (reason, count) in other.skipped { skipped[reason, default: 0] += count }
    }
}

/// Creating invitations, set-based: the candidates are a statement, the rules are SQL.
enum SurveyInvitations {
    /// The rules every invitation passes, as a reason to skip (null: it may go), for the
    /// client row `c` and a sending time `send_at` (a timestamptz expression), with the
    /// settings row `s` in scope. Unsubscribed first, then no consent, no email, and another
    /// invitation (not skipped or failed) going out within the minimum interval either side.
    static func skipReason(
        at sendAt: PostgresQuery, delivering invitation: UUID? = nil, channel: SurveyCampaign.Channel = .email
    ) -> PostgresQuery {
        // Creating: any invitation not skipped or failed counts, sent or still to go. Delivering:
        // only those gone or going out, not this one.
        let counted: PostgresQuery = invitation == nil
            ? "o.state NOT IN ('skipped', 'failed')"
            : "o.state IN ('sending', 'committing', 'sent', 'answered', 'expired') AND o.id <> \(invitation)"
        return """
        CASE WHEN NOT c.consent_surveys AND c.consent_surveys_source = \(SurveyResponses.unsubscribeSource) THEN 'unsubscribed'
             WHEN NOT c.consent_surveys THEN 'no_consent'
             WHEN \(unescaped: channel == .webhook ? "c.phone IS NULL THEN 'no_phone'" : "c.email IS NULL THEN 'no_email'")
             WHEN EXISTS (SELECT 1 FROM survey_invitations o
                          WHERE o.client_id = c.id AND \(fragment: counted)
                            AND coalesce(o.sent_at, o.send_at) > \(fragment: sendAt) - make_interval(days => s.min_days_between_surveys)
                            AND coalesce(o.sent_at, o.send_at) < \(fragment: sendAt) + make_interval(days => s.min_days_between_surveys))
                  THEN 'surveyed_recently'
        END
        """
    }

    /// The audience as a condition on the client row `c`.
    static func condition(_ audience: SurveyCampaign.Audience) throws -> PostgresQuery {
        var condition: PostgresQuery = """
            (cardinality(\(audience.categories.map(\.rawValue))::text[]) = 0 OR c.category = ANY(\(audience.categories.map(\.rawValue))::text[]))
            AND (cardinality(\(audience.kinds.map(\.rawValue))::text[]) = 0 OR c.kind = ANY(\(audience.kinds.map(\.rawValue))::text[]))
            AND c.tags @> \(audience.tags)::text[]
            """
        if let segment = audience.segment {
            condition = "\(fragment: condition) AND c.id IN (\(fragment: try Analytics.rfmSegmentMembers(segment)))"
        }
        return condition
    }

    /// Creates the campaign's invitations for the candidates (a statement whose first column
    /// is a client id) that match `audience` (nil: no audience filter), on one occasion, to
    /// go at `sendAt`, and enqueues a delivery job for each scheduled one. An invitation that
    /// exists already for (campaign, client, occasion) is left as it is: running this twice
    /// creates nothing more.
    static func create(
        campaign: SurveyCampaign, candidates: PostgresQuery, audience: SurveyCampaign.Audience?, occasion: String,
        purchaseID: UUID? = nil, sendAt: Date, scope: TenantScope, in session: PostgresSession
    ) async throws -> SurveyInvitationCounts {
        let filter: PostgresQuery = try audience.map(condition) ?? "TRUE"
        let chosen = try await session.query("""
            SELECT c.id, \(fragment: skipReason(at: "\(sendAt)::timestamptz", channel: campaign.channel)) AS reason
            FROM clients c CROSS JOIN (\(fragment: SurveySettings.select)) AS s
            WHERE c.id IN (SELECT x.client_id FROM (\(fragment: candidates)) AS x (client_id))
              AND \(fragment: filter)
              AND NOT EXISTS (SELECT 1 FROM survey_invitations i
                              WHERE i.campaign_id = \(campaign.id) AND i.client_id = c.id AND i.occasion = \(occasion))
            ORDER BY c.id
            """)
        guard !chosen.isEmpty else { return SurveyInvitationCounts() }
        var ids: [UUID] = [], clients: [UUID] = [], reasons: [String] = []
        for row in chosen {
            ids.append(UUIDv7.make())
            clients.append(try row.decode(UUID.self, at: 0))
            reasons.append(try row.decode(String?.self, at: 1) ?? "")
        }
        let inserted = try await session.query("""
            INSERT INTO survey_invitations (id, campaign_id, client_id, occasion, purchase_id, state, reason, send_at)
            SELECT x.id, \(campaign.id), x.client_id, \(occasion), \(purchaseID),
                   CASE WHEN x.reason = '' THEN 'scheduled' ELSE 'skipped' END, nullif(x.reason, ''), \(sendAt)
            FROM unnest(\(ids)::uuid[], \(clients)::uuid[], \(reasons)::text[]) AS x (id, client_id, reason)
            ON CONFLICT (campaign_id, client_id, occasion) DO NOTHING
            RETURNING id, state, reason
            """)
        var counts = SurveyInvitationCounts()
        for row in inserted {
            if let reason = try row.decode(SurveySkipReason?.self, at: 2) {
                counts.skipped[reason, default: 0] += 1
            } else {
                counts.created += 1
                counts.scheduled.append((try row.decode(UUID.self, at: 0), sendAt))
            }
        }
        try await SurveyJobs.enqueueDeliveries(counts.scheduled, in: session)
        return counts
    }
}
