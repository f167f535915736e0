import ClientBase
import Foundation
import Jobs
import Postgres
import Tenancy

/// What one scoring run changed.
public struct ChurnRun: Sendable, Hashable {
    /// Score rows written (new or changed score or reasons).
    public var changedScores: Int
    /// History rows written (the score itself changed).
    public var changedHistory: Int
    /// Alerts raised by this run (scores that crossed the threshold), in id order.
    public var raisedAlerts: [UUID]
}

/// Scores clients for churn risk, set-based: one statement computes every reason of every
/// client in scope, sums the weights (capped at 100), writes only the scores that changed, a
/// history row where the score moved, and an alert where it crossed the threshold, with its
/// `churn.notify` job. The whole
/// tenant and one client run the same statement; only the client filter differs, so both agree.
///
/// Only actual clients are scored (`category = 'actual_client'`, not erased): a prospect has
/// nothing to leave and a former client has left. A client that stops being one goes back to 0.
public enum ChurnScorer {
    /// The actor scoring runs record their alerts as.
    public static let auditActor = "system:churn"

    /// Scores the client (or, nil, every client) inside the caller's tenant transaction.
    public static func score(client: UUID?, in session: PostgresSession) async throws -> ChurnRun {
        let settings = try await ChurnSettingsStore.read(in: session)
        // A tenant of a million clients takes seconds, over the 30 s an API statement gets; and
        // its per-client groupings (a million groups) spill to disk under the default work_mem
        // (measured: 15 s instead of 24 s for a night with nothing new). Local to this transaction.
        if client == nil {
            try await session.query("SELECT set_config('statement_timeout', '600000', true), set_config('work_mem', \(Self.wholeTenantWorkMem), true)")
        } else {
            try await session.query("SELECT set_config('statement_timeout', '600000', true)")
        }
        let rows = try await session.query(statement(client: client, settings: settings))
        let row = rows[0]
        if client == nil {
            try await session.query("UPDATE churn_settings SET last_scored_at = now()")
        }
        if try row.decode(Int.self, at: 4) > 0 {
            try await session.query("SELECT pg_notify(\(JobQueue.channel), '')")
        }
        return ChurnRun(changedScores: try row.decode(at: 0), changedHistory: try row.decode(at: 1),
                        raisedAlerts: try row.decode([UUID].self, at: 2))
    }

    /// The memory each sort or hash of a whole-tenant run may use before spilling.
    static let wholeTenantWorkMem = "256MB"

    /// `column = client`, or TRUE for every client.
    static func only(_ column: String, _ client: UUID?) -> PostgresQuery {
        guard let client else { return "TRUE" }
        return "\(unescaped: column) = \(client)"
    }

    /// Each present reason as (client_id, code, points, facts); only reasons of weight > 0.
    static func reasons(client: UUID?, settings: ChurnSettings) -> PostgresQuery {
        var branches: [PostgresQuery] = []
        let weight = settings.weight
        if weight(.detractorAnswer) > 0 {
            // The latest NPS or CSAT answer of the window, if it is a detractor's or low.
            branches.append("""
                SELECT a.client_id, 'detractor_answer', \(weight(.detractorAnswer))::int,
                       jsonb_build_object('measure', a.measure, 'answer', a.score, 'answered_at', a.answered_at)
                FROM (SELECT DISTINCT ON (v.client_id) v.client_id, v.measure, v.score, v.answered_at
                      FROM churn_survey_answers v
                      WHERE v.measure IN ('nps', 'csat') AND v.answered_at > now() - make_interval(days => \(settings.surveyWindowDays)::int)
                        AND \(fragment: only("v.client_id", client))
                      ORDER BY v.client_id, v.answered_at DESC) a
                WHERE (a.measure = 'nps' AND a.score <= \(settings.npsDetractorMax)::int)
                   OR (a.measure = 'csat' AND a.score <= \(settings.csatLowMax)::int)
                """)
        }
        if weight(.openComplaint) > 0 {
            branches.append("""
                SELECT k.client_id, 'open_complaint', \(weight(.openComplaint))::int,
                       jsonb_build_object('open_complaints', count(*), 'oldest_opened_on', min(k.opened_on))
                FROM complaints k
                WHERE k.status IN ('open', 'in_progress', 'disputed') AND k.opened_on <= current_date - \(settings.complaintOpenDays)::int
                  AND \(fragment: only("k.client_id", client))
                GROUP BY k.client_id
                """)
        }
        if weight(.paymentIncident) > 0 {
            // A late payment carries no incident date: it happened when paid (or was due).
            branches.append("""
                SELECT m.client_id, 'payment_incident', \(weight(.paymentIncident))::int,
                       jsonb_build_object('incidents', count(*),
                                          'last_incident', (array_agg(m.incident ORDER BY m.happened_on DESC, m.id DESC))[1],
                                          'last_incident_on', max(m.happened_on))
                FROM (SELECT p.client_id, p.id, p.incident, coalesce(p.incident_on, p.paid_on, p.due_on) AS happened_on
                      FROM payments p WHERE p.incident <> 'none' AND \(fragment: only("p.client_id", client))) m
                WHERE m.happened_on > current_date - \(settings.paymentIncidentDays)::int AND m.happened_on <= current_date
                GROUP BY m.client_id
                """)
        }
        let overdue = weight(.overdueRepeatBuyer), falling = weight(.fallingSpend)
        if overdue > 0 || falling > 0 {
            // One pass over the purchases in (buyer, date) order (an index-only scan of
            // purchases_buyer_figures): the gap since the previous purchase day, the median gap,
            // the spend of the last 12 months and of the 12 before.
            branches.append("""
                SELECT b.buyer_id, r.code, r.points, r.facts
                FROM (SELECT g.buyer_id, max(g.purchased_on) AS last_on,
                             count(*) FILTER (WHERE g.gap IS DISTINCT FROM 0) AS purchase_days,
                             percentile_disc(0.5) WITHIN GROUP (ORDER BY g.gap) FILTER (WHERE g.gap > 0) AS median_gap,
                             coalesce(sum(g.amount) FILTER (WHERE g.purchased_on > (current_date - interval '12 months')::date), 0) AS last_12,
                             coalesce(sum(g.amount) FILTER (WHERE g.purchased_on <= (current_date - interval '12 months')::date
                                                            AND g.purchased_on > (current_date - interval '24 months')::date), 0) AS previous_12
                      FROM (SELECT p.buyer_id, p.purchased_on, p.amount,
                                   p.purchased_on - lag(p.purchased_on) OVER (PARTITION BY p.buyer_id ORDER BY p.purchased_on) AS gap
                            FROM purchases p WHERE p.purchased_on <= current_date AND \(fragment: only("p.buyer_id", client))) g
                      GROUP BY g.buyer_id) b
                CROSS JOIN LATERAL (
                    SELECT 'overdue_repeat_buyer' AS code, \(overdue)::int AS points,
                           jsonb_build_object('last_purchase_on', b.last_on, 'usual_interval_days', b.median_gap,
                                              'days_since_last_purchase', current_date - b.last_on) AS facts
                    WHERE \(overdue)::int > 0 AND b.purchase_days >= \(settings.overdueMinPurchases)::int
                      AND current_date - b.last_on > b.median_gap * \(settings.overdueFactor)
                    UNION ALL
                    SELECT 'falling_spend', \(falling)::int,
                           jsonb_build_object('last_12_months', to_char(b.last_12, 'FM999999999990.00'),
                                              'previous_12_months', to_char(b.previous_12, 'FM999999999990.00'))
                    WHERE \(falling)::int > 0 AND b.previous_12 > 0 AND b.last_12 <= b.previous_12 * (1 - \(settings.fallingSpendDrop))
                ) r
                """)
        }
        if weight(.noContact) > 0 {
            branches.append("""
                SELECT c.id, 'no_contact', \(weight(.noContact))::int, jsonb_build_object('last_contact_at', i.last_at)
                FROM clients c
                LEFT JOIN (SELECT x.client_id, max(x.occurred_at) AS last_at FROM interactions x
                           WHERE \(fragment: only("x.client_id", client)) GROUP BY x.client_id) i ON i.client_id = c.id
                WHERE c.category = 'actual_client' AND c.erased_at IS NULL AND \(fragment: only("c.id", client))
                  AND c.created_at < now() - make_interval(days => \(settings.noContactDays)::int)
                  AND (i.last_at IS NULL OR i.last_at < now() - make_interval(days => \(settings.noContactDays)::int))
                """)
        }
        guard !branches.isEmpty else {
            return "SELECT NULL::uuid, NULL::text, 0, NULL::jsonb WHERE false"
        }
        return PostgresQuery(joining: branches, separator: "\nUNION ALL\n")
    }

    /// The scoring statement: reasons, scores, changed rows, history, alerts and their audit
    /// entries; returns (scores written, history rows written, raised alert ids).
    static func statement(client: UUID?, settings: ChurnSettings) -> PostgresQuery {
        let threshold = settings.alertThreshold
        return """
            WITH reasons (client_id, code, points, facts) AS (
                \(fragment: reasons(client: client, settings: settings))
            ),
            fresh AS (
                SELECT r.client_id, least(100, sum(r.points))::smallint AS score,
                       jsonb_agg(jsonb_build_object('code', r.code, 'points', r.points) || r.facts ORDER BY r.points DESC, r.code) AS reasons
                FROM reasons r JOIN clients c ON c.id = r.client_id
                WHERE c.category = 'actual_client' AND c.erased_at IS NULL
                GROUP BY r.client_id
            ),
            changed AS (
                SELECT coalesce(f.client_id, s.client_id) AS client_id, coalesce(f.score, 0)::smallint AS score,
                       coalesce(f.reasons, '[]'::jsonb) AS reasons, coalesce(s.score, 0) AS old_score
                FROM fresh f
                FULL JOIN (SELECT client_id, score, reasons FROM churn_scores WHERE \(fragment: only("client_id", client))) s
                       ON s.client_id = f.client_id
                WHERE s.client_id IS NULL OR s.score <> coalesce(f.score, 0) OR s.reasons <> coalesce(f.reasons, '[]'::jsonb)
            ),
            saved AS (
                INSERT INTO churn_scores AS cs (client_id, score, reasons, changed_at)
                SELECT client_id, score, reasons, now() FROM changed
                ON CONFLICT (client_id) DO UPDATE SET score = EXCLUDED.score, reasons = EXCLUDED.reasons, changed_at = EXCLUDED.changed_at
                RETURNING 1
            ),
            history AS (
                INSERT INTO churn_score_history (client_id, score, reasons)
                SELECT client_id, score, reasons FROM changed WHERE score <> old_score
                RETURNING 1
            ),
            raised AS (
                INSERT INTO churn_alerts (id, client_id, score, reasons, assigned_user_id)
                SELECT churn_uuid7(), ch.client_id, ch.score, ch.reasons, c.assigned_user_id
                FROM changed ch JOIN clients c ON c.id = ch.client_id
                WHERE ch.old_score < \(threshold)::int AND ch.score >= \(threshold)::int
                ON CONFLICT (client_id) WHERE state IN ('open', 'acknowledged') DO NOTHING
                RETURNING id, client_id, score, assigned_user_id
            ),
            audited AS (
                INSERT INTO audit_log (actor, action, entity, entity_id, changes)
                SELECT \(auditActor), 'create', 'churn_alert', r.id::text, jsonb_build_object(
                    'client_id', jsonb_build_object('before', NULL, 'after', r.client_id),
                    'score', jsonb_build_object('before', NULL, 'after', r.score),
                    'state', jsonb_build_object('before', NULL, 'after', 'open'),
                    'assigned_user_id', jsonb_build_object('before', NULL, 'after', r.assigned_user_id))
                FROM raised r
                RETURNING 1
            ),
            -- Each new alert's notification job, in this transaction and in one call (a first night
            -- raises tens of thousands); workers are woken once, after.
            notified AS (
                SELECT platform_api.enqueue_jobs(coalesce(jsonb_agg(jsonb_build_object(
                           'kind', \(ChurnJobs.notify), 'payload', jsonb_build_object('alert_id', r.id), 'max_attempts', 10,
                           'unique_key', \(ChurnJobs.notify + ":") || r.id::text)), '[]'), false) AS jobs
                FROM raised r
            )
            SELECT (SELECT count(*) FROM saved)::int, (SELECT count(*) FROM history)::int,
                   coalesce((SELECT array_agg(id ORDER BY id) FROM raised), '{}'::uuid[]),
                   (SELECT count(*) FROM audited)::int, (SELECT jobs FROM notified)::int
            """
    }
}
