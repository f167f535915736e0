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
            events AS (
                SELECT p.buyer_id AS client_id, p.amount AS revenue, \(unescaped: AnalyticsSQL.margin) AS margin,
                       0 AS complaints, 0 AS disputes, 0 AS minutes, 0 AS late, 0 AS failed, 0 AS contacts
                FROM purchases p CROSS JOIN period
                WHERE p.purchased_on BETWEEN period.from_on AND period.to_on
                UNION ALL
                SELECT m.client_id, 0, 0, 1, (m.status = 'disputed')::int, m.handling_minutes, 0, 0, 0
                FROM complaints m CROSS JOIN period WHERE m.opened_on BETWEEN period.from_on AND period.to_on
                UNION ALL
                SELECT y.client_id, 0, 0, 0, 0, 0, 1, 0, 0
                FROM payments y CROSS JOIN period WHERE y.incident = 'late' AND y.due_on BETWEEN period.from_on AND period.to_on
                UNION ALL
                SELECT y.client_id, 0, 0, 0, 0, 0, 0, 1, 0
                FROM payments y CROSS JOIN period
                WHERE y.incident IN ('rejected', 'litigation') AND y.incident_on BETWEEN period.from_on AND period.to_on
                UNION ALL
                SELECT i.client_id, 0, 0, 0, 0, 0, 0, 0, 1
                FROM interactions i CROSS JOIN period WHERE \(unescaped: AnalyticsSQL.interactionInPeriod)
            ), per_client AS (
                SELECT client_id, sum(revenue) AS revenue, sum(margin) AS margin, sum(complaints) AS complaints,
                       sum(disputes) AS disputes, sum(minutes) AS minutes, sum(late) AS late, sum(failed) AS failed,
                       sum(contacts) AS contacts
                FROM events GROUP BY client_id
            ), costed AS (
                SELECT pc.*, round(pc.complaints * s.cost_per_complaint + pc.disputes * s.cost_per_dispute
                           + pc.minutes / 60.0 * s.cost_per_handling_hour + pc.late * s.cost_per_late_payment
                           + pc.failed * s.cost_per_failed_payment + pc.contacts * s.cost_per_contact, 2) AS cost
                FROM per_client pc CROSS JOIN settings s
            ), negative AS (
                SELECT * FROM costed WHERE margin - cost < 0 ORDER BY margin - cost, client_id LIMIT \(limit)
            )
            SELECT json_build_object(
                'from', period.from_on, 'to', period.to_on,
                'clients_served', (SELECT count(*) FROM costed),
                'revenue', (SELECT round(coalesce(sum(revenue), 0), 2)::text FROM costed),
                'margin', (SELECT round(coalesce(sum(margin), 0), 2)::text FROM costed),
                'cost_to_serve', (SELECT round(coalesce(sum(cost), 0), 2)::text FROM costed),
                'net_contribution', (SELECT round(coalesce(sum(margin - cost), 0), 2)::text FROM costed),
                'negative_clients', (SELECT count(*) FROM costed WHERE margin - cost < 0),
                'negative_contribution', (SELECT round(coalesce(sum(margin - cost), 0), 2)::text FROM costed WHERE margin - cost < 0),
                'clients', coalesce((SELECT json_agg(json_build_object(
                    'client_id', n.client_id, 'name', \(unescaped: AnalyticsSQL.clientName),
                    'revenue', round(n.revenue, 2)::text, 'margin', round(n.margin, 2)::text,
                    'complaints', n.complaints, 'disputes', n.disputes, 'handling_minutes', n.minutes,
                    'late_payments', n.late, 'failed_payments', n.failed, 'contacts', n.contacts,
                    'cost_to_serve', n.cost::text, 'net_contribution', round(n.margin - n.cost, 2)::text)
                    ORDER BY n.margin - n.cost, n.client_id)
                    FROM negative n JOIN clients c ON c.id = n.client_id), '[]'))::text
            FROM period
            """, as: actor)
    }
}
