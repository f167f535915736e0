import Foundation
import Postgres

extension Analytics {
    /// Difficult clients (capacité à chicaner, seed 004): what serving each client cost over the
    /// period (default: the last 12 months) against their margin.
    ///
    /// For each client with a purchase (as buyer), complaint, payment incident or contact in the
    /// period, with the tenant's cost settings:
    /// cost_to_serve = complaints × cost_per_complaint + disputed complaints × cost_per_dispute
    ///   + handling hours × cost_per_handling_hour + late payments × cost_per_late_payment
    ///   + rejected payments and litigations × cost_per_failed_payment + contacts × cost_per_contact;
    /// net_contribution = margin − cost_to_serve.
    /// Complaints count by `opened_on`, late payments by `due_on`, rejections and litigations by
    /// `incident_on`, contacts (interactions) by `occurred_at` (UTC days).
    /// `clients` lists those whose net contribution is negative, worst first, at most `limit`.
    public func difficultClients(_ period: AnalyticsPeriod, limit: Int, as actor: Actor) async throws -> AnalyticsReport {
        try await report("""
            WITH \(fragment: period.lastTwelveMonths), \(fragment: AnalyticsSQL.settings),
            bought AS (
                -- Purchases apart, summed in buyer order (a streaming aggregate); hashed with the
                -- other events, their numeric sums cost 1.5 s, against 0.5 s here.
                SELECT p.buyer_id AS client_id, sum(p.amount) AS revenue, sum(\(unescaped: AnalyticsSQL.margin)) AS margin
                FROM purchases p CROSS JOIN period
                WHERE p.purchased_on BETWEEN period.from_on AND period.to_on
                GROUP BY p.buyer_id ORDER BY p.buyer_id
            ), events AS (
                -- What an event is not counts as NULL, which an aggregate skips.
                SELECT m.client_id, 1 AS complaints, (m.status = 'disputed')::int AS disputes, m.handling_minutes AS minutes,
                       NULL::int AS late, NULL::int AS failed, NULL::int AS contacts
                FROM complaints m CROSS JOIN period WHERE m.opened_on BETWEEN period.from_on AND period.to_on
                UNION ALL
                SELECT y.client_id, NULL, NULL, NULL, 1, NULL, NULL
                FROM payments y CROSS JOIN period WHERE y.incident = 'late' AND y.due_on BETWEEN period.from_on AND period.to_on
                UNION ALL
                SELECT y.client_id, NULL, NULL, NULL, NULL, 1, NULL
                FROM payments y CROSS JOIN period
                WHERE y.incident IN ('rejected', 'litigation') AND y.incident_on BETWEEN period.from_on AND period.to_on
                UNION ALL
                SELECT i.client_id, NULL, NULL, NULL, NULL, NULL, 1
                FROM interactions i CROSS JOIN period WHERE \(unescaped: AnalyticsSQL.interactionInPeriod)
            ), served AS (
                -- The cost is worked out here, for the clients with events only: the others cost 0.
                SELECT e.*, round(e.complaints * (SELECT cost_per_complaint FROM settings)
                           + e.disputes * (SELECT cost_per_dispute FROM settings)
                           + e.minutes / 60.0 * (SELECT cost_per_handling_hour FROM settings)
                           + e.late * (SELECT cost_per_late_payment FROM settings)
                           + e.failed * (SELECT cost_per_failed_payment FROM settings)
                           + e.contacts * (SELECT cost_per_contact FROM settings), 2) AS cost
                FROM (SELECT client_id, count(complaints) AS complaints, coalesce(sum(disputes), 0) AS disputes,
                             coalesce(sum(minutes), 0) AS minutes, count(late) AS late, count(failed) AS failed,
                             count(contacts) AS contacts
                      FROM events GROUP BY client_id) AS e
            ), costed AS (
                SELECT coalesce(b.client_id, e.client_id) AS client_id, coalesce(b.revenue, 0) AS revenue,
                       coalesce(b.margin, 0) AS margin, coalesce(e.complaints, 0) AS complaints,
                       coalesce(e.disputes, 0) AS disputes, coalesce(e.minutes, 0) AS minutes, coalesce(e.late, 0) AS late,
                       coalesce(e.failed, 0) AS failed, coalesce(e.contacts, 0) AS contacts,
                       coalesce(e.cost, 0.00) AS cost, coalesce(b.margin, 0) - coalesce(e.cost, 0) AS net
                FROM bought b FULL JOIN served e ON e.client_id = b.client_id
            ), totals AS (
                SELECT count(*) AS clients, sum(revenue) AS revenue, sum(margin) AS margin, sum(cost) AS cost,
                       sum(net) AS net, count(*) FILTER (WHERE net < 0) AS negative_clients,
                       sum(net) FILTER (WHERE net < 0) AS negative_net
                FROM costed
            ), negative AS (
                SELECT * FROM costed WHERE net < 0 ORDER BY net, client_id LIMIT \(limit)
            )
            SELECT json_build_object(
                'from', period.from_on, 'to', period.to_on,
                'clients_served', t.clients,
                'revenue', round(coalesce(t.revenue, 0), 2)::text,
                'margin', round(coalesce(t.margin, 0), 2)::text,
                'cost_to_serve', round(coalesce(t.cost, 0), 2)::text,
                'net_contribution', round(coalesce(t.net, 0), 2)::text,
                'negative_clients', t.negative_clients,
                'negative_contribution', round(coalesce(t.negative_net, 0), 2)::text,
                'clients', coalesce((SELECT json_agg(json_build_object(
                    'client_id', n.client_id, 'name', \(unescaped: AnalyticsSQL.clientName),
                    'revenue', round(n.revenue, 2)::text, 'margin', round(n.margin, 2)::text,
                    'complaints', n.complaints, 'disputes', n.disputes, 'handling_minutes', n.minutes,
                    'late_payments', n.late, 'failed_payments', n.failed, 'contacts', n.contacts,
                    'cost_to_serve', n.cost::text, 'net_contribution', round(n.net, 2)::text)
                    ORDER BY n.net, n.client_id)
                    FROM negative n JOIN clients c ON c.id = n.client_id), '[]'))::text
            FROM period CROSS JOIN totals t
            """, as: actor)
    }
}
