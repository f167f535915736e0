import ClientBase
import Foundation
import Postgres
import Tenancy

/// What a campaign's results cover.
public struct SurveyResultsQuery: Sendable {
    public enum Period: String, Sendable, CaseIterable { case month, week }
    public static let maximumLimit = 200

    public var from: PostgresDate?
    public var to: PostgresDate?
    public var period: Period = .month
    /// Comments per page, newest first; `after` is the last comment's answer id.
    public var limit = 50
    public var after: UUID?

    public init(from: PostgresDate? = nil, to: PostgresDate? = nil, period: Period = .month, limit: Int = 50, after: UUID? = nil) {
        self.from = from
        self.to = to
        self.period = period
        self.limit = limit
        self.after = after
    }
}

/// A campaign's results, written by PostgreSQL as one JSON object: per period and in total,
/// invitations sent, how many of them were answered, the response rate (answered / sent), the
/// answers received and the score on the campaign's measure:
/// - NPS: % promoters (9-10) − % detractors (0-6), from −100 to 100, one decimal;
/// - CSAT: % of answers at 4 or 5, one decimal;
/// - CES: the mean answer (1-7), two decimals.
/// `distribution` counts the answers by score. Then a page of comments, newest first.
public struct SurveyResults: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// Returns the JSON text, and the next comments cursor (an answer id) if there are more.
    public func results(of campaignID: UUID, _ query: SurveyResultsQuery, as actor: Actor) async throws -> (json: String, next: UUID?) {
        try actor.require(.manageSurveys)
        if let from = query.from, let to = query.to, from > to {
            throw ClientBaseError(.invalid, "from (\(from)) is after to (\(to))", field: "from")
        }
        let unit = query.period.rawValue
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            WITH campaign AS (
                SELECT id, measure FROM survey_campaigns WHERE id = \(campaignID)
            ), bounds AS (
                SELECT coalesce(\(query.from)::date, (coalesce(\(query.to)::date, current_date) - interval '1 year')::date + 1) AS from_on,
                       coalesce(\(query.to)::date, current_date) AS to_on
            ), periods AS (
                SELECT generate_series(date_trunc(\(unit), b.from_on::timestamp), date_trunc(\(unit), b.to_on::timestamp), ('1 ' || \(unit))::interval)::date AS start
                FROM bounds b
            ), sent AS (
                SELECT date_trunc(\(unit), i.sent_at AT TIME ZONE 'UTC')::date AS start, count(*) AS sent,
                       count(*) FILTER (WHERE i.state = 'answered') AS answered
                FROM survey_invitations i CROSS JOIN bounds b
                WHERE i.campaign_id = \(campaignID) AND i.sent_at IS NOT NULL
                  AND (i.sent_at AT TIME ZONE 'UTC')::date BETWEEN b.from_on AND b.to_on
                GROUP BY 1
            ), answers AS (
                SELECT date_trunc(\(unit), a.answered_at AT TIME ZONE 'UTC')::date AS start, a.score
                FROM survey_answers a CROSS JOIN bounds b
                WHERE a.campaign_id = \(campaignID) AND (a.answered_at AT TIME ZONE 'UTC')::date BETWEEN b.from_on AND b.to_on
            ), scored AS (
                SELECT x.start, count(*) AS responses,
                       CASE (SELECT measure FROM campaign)
                           WHEN 'nps' THEN round(100.0 * (count(*) FILTER (WHERE x.score >= 9) - count(*) FILTER (WHERE x.score <= 6))
                                                 / nullif(count(*), 0), 1)
                           WHEN 'csat' THEN round(100.0 * count(*) FILTER (WHERE x.score >= 4) / nullif(count(*), 0), 1)
                           ELSE round(avg(x.score), 2) END AS score,
                       (SELECT json_object_agg(d.score, d.n ORDER BY d.score)
                        FROM (SELECT y.score, count(*) AS n FROM answers y
                              WHERE y.start = x.start OR x.start IS NULL GROUP BY y.score) d) AS distribution
                FROM answers x GROUP BY GROUPING SETS ((x.start), ())
            ), comments AS (
                SELECT a.id, a.client_id, a.answered_at, a.score, a.comment
                FROM survey_answers a CROSS JOIN bounds b
                WHERE a.campaign_id = \(campaignID) AND a.comment IS NOT NULL
                  AND (a.answered_at AT TIME ZONE 'UTC')::date BETWEEN b.from_on AND b.to_on
                  AND (\(query.after)::uuid IS NULL OR a.id < \(query.after))
                ORDER BY a.id DESC LIMIT \(query.limit + 1)
            )
            SELECT json_build_object(
                'campaign_id', c.id, 'measure', c.measure, 'period', \(unit)::text,
                'from', (SELECT from_on FROM bounds), 'to', (SELECT to_on FROM bounds),
                'totals', json_build_object(
                    'sent', coalesce((SELECT sum(sent) FROM sent), 0),
                    'answered', coalesce((SELECT sum(answered) FROM sent), 0),
                    'response_rate', (SELECT round(sum(answered)::numeric / nullif(sum(sent), 0), 4) FROM sent),
                    'responses', coalesce((SELECT responses FROM scored WHERE start IS NULL), 0),
                    'score', (SELECT score FROM scored WHERE start IS NULL),
                    'distribution', coalesce((SELECT distribution FROM scored WHERE start IS NULL), '{}'::json)),
                'periods', (SELECT json_agg(json_build_object(
                        'start', p.start,
                        'sent', coalesce(s.sent, 0), 'answered', coalesce(s.answered, 0),
                        'response_rate', round(s.answered::numeric / nullif(s.sent, 0), 4),
                        'responses', coalesce(r.responses, 0), 'score', r.score,
                        'distribution', coalesce(r.distribution, '{}'::json)) ORDER BY p.start)
                    FROM periods p LEFT JOIN sent s ON s.start = p.start LEFT JOIN scored r ON r.start = p.start),
                'comments', coalesce((SELECT json_agg(json_build_object(
                        'answer_id', m.id, 'client_id', m.client_id,
                        'answered_at', to_char(m.answered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                        'score', m.score, 'comment', m.comment) ORDER BY m.id DESC)
                    FROM (SELECT * FROM comments ORDER BY id DESC LIMIT \(query.limit)) m), '[]'::json)
            )::text,
            CASE WHEN (SELECT count(*) FROM comments) > \(query.limit)
                 THEN (SELECT l.id FROM (SELECT id FROM comments ORDER BY id DESC LIMIT \(query.limit)) l ORDER BY l.id LIMIT 1) END
            FROM campaign c
            """,
        ])
        guard let row = rows[0].first else { throw SurveyCampaignRepository.missing(campaignID) }
        return (try row.decode(String.self, at: 0), try row.decode(UUID?.self, at: 1))
    }
}

/// One answer as the client's record shows it.
public struct SurveyAnswer: Sendable, Hashable {
    public var id: UUID
    public var invitationID: UUID
    public var campaignID: UUID
    public var campaignName: String
    public var measure: SurveyCampaign.Measure
    public var score: Int
    public var comment: String?
    /// A JSON array, as stored.
    public var extraAnswersJSON: String
    public var language: SurveyLanguage
    public var answeredAt: Date
}

/// A client's survey answers, newest first.
public struct SurveyAnswers: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// An agent reaches the answers of the clients assigned to them; another client is 404.
    public func of(client clientID: UUID, limit: Int, before cursor: UUID?, as actor: Actor) async throws -> RecordPage<SurveyAnswer> {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT 1 FROM clients c WHERE c.id = \(clientID) AND \(fragment: actor.access.condition(column: "c.assigned_user_id"))",
            """
            SELECT a.id, a.invitation_id, a.campaign_id, sc.name, a.measure, a.score, a.comment, a.extra_answers::text,
                   a.language, a.answered_at
            FROM survey_answers a JOIN survey_campaigns sc ON sc.id = a.campaign_id
            WHERE a.client_id = \(clientID) AND (\(cursor)::uuid IS NULL OR a.id < \(cursor))
            ORDER BY a.id DESC LIMIT \(limit + 1)
            """,
        ])
        guard !rows[0].isEmpty else { throw ClientBaseError(.notFound, "no client with id \(clientID.auditID)") }
        let answers = try rows[1].map { row in
            SurveyAnswer(
                id: try row.decode(at: 0), invitationID: try row.decode(at: 1), campaignID: try row.decode(at: 2),
                campaignName: try row.decode(at: 3), measure: try row.decode(at: 4), score: try row.decode(at: 5),
                comment: try row.decode(at: 6), extraAnswersJSON: try row.decode(at: 7), language: try row.decode(at: 8),
                answeredAt: try row.decode(at: 9))
        }
        return RecordPage(answers, limit: limit, id: \.id)
    }
}
