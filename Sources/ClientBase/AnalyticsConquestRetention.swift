import Foundation
import Postgres

extension Analytics {
    /// Conquest against retention (seed 004: keeping a client costs 3 to 5 times less than
    /// winning one): revenue and effort from new against existing clients over the period
    /// (default: the last 12 months).
    ///
    /// - `new`: clients who bought in the period and whose first purchase falls in it;
    ///   `existing`: the other clients who bought in the period; `not_buying`: clients contacted
    ///   in the period who did not buy in it (prospects and lapsed clients).
    /// - Effort is the number of contacts (interactions) in the period. For each group:
    ///   clients, revenue, margin, contacts, `revenue_share`, `contact_share`,
    ///   `contacts_per_client`, `revenue_per_contact`.
    /// - Retention: of the clients who bought in the previous period of the same length (in
    ///   calendar terms: the year before a year, the month before a month), `retention_rate` =
    ///   the share who bought again in this one.
    public func conquestRetention(_ period: AnalyticsPeriod, as actor: Actor) async throws -> AnalyticsReport {
        try await report("""
            WITH \(fragment: period.lastTwelveMonths), \(fragment: AnalyticsSQL.settings),
            previous AS NOT MATERIALIZED (
                SELECT (from_on - age((to_on + 1)::timestamp, from_on::timestamp))::date AS from_on, from_on - 1 AS to_on FROM period
            ), buyers AS (
                -- Both periods in one pass over the purchases, in buyer order: a streaming aggregate.
                -- (Each period hashed on its own, and then joined, took 2.6 s; this 1.5 s.)
                SELECT p.buyer_id AS client_id,
                       sum(p.amount) FILTER (WHERE p.purchased_on >= period.from_on) AS revenue,
                       sum(\(unescaped: AnalyticsSQL.margin)) FILTER (WHERE p.purchased_on >= period.from_on) AS margin,
                       bool_or(p.purchased_on >= period.from_on) AS buys, bool_or(p.purchased_on < period.from_on) AS bought_before
                FROM purchases p CROSS JOIN period CROSS JOIN previous
                WHERE p.purchased_on BETWEEN previous.from_on AND period.to_on
                GROUP BY p.buyer_id ORDER BY p.buyer_id
            ), contacts AS (
                SELECT i.client_id, count(*) AS contacts
                FROM interactions i CROSS JOIN period WHERE \(unescaped: AnalyticsSQL.interactionInPeriod)
                GROUP BY i.client_id
            ), known_before AS (
                -- Clients whose first purchase came before the period, from the index alone (tenant
                -- migration 0019), where the first-purchase date of every client used to be hashed.
                SELECT c.id FROM clients c CROSS JOIN period WHERE c.first_purchase_on < period.from_on
            ), classified AS (
                SELECT CASE WHEN b.client_id IS NULL THEN 'not_buying' WHEN o.id IS NULL THEN 'new' ELSE 'existing' END AS segment,
                       coalesce(b.revenue, 0) AS revenue, coalesce(b.margin, 0) AS margin, coalesce(k.contacts, 0) AS contacts
                FROM (SELECT * FROM buyers WHERE buys) AS b
                FULL JOIN contacts k ON k.client_id = b.client_id
                LEFT JOIN known_before o ON o.id = b.client_id
            ), groups AS (
                SELECT g.segment, g.position, count(x.segment) AS clients, coalesce(sum(x.revenue), 0) AS revenue,
                       coalesce(sum(x.margin), 0) AS margin, coalesce(sum(x.contacts), 0) AS contacts
                FROM (VALUES ('new', 1), ('existing', 2), ('not_buying', 3)) AS g (segment, position)
                LEFT JOIN classified x ON x.segment = g.segment
                GROUP BY g.segment, g.position
            ), retention AS (
                SELECT count(*) FILTER (WHERE bought_before) AS previous_clients,
                       count(*) FILTER (WHERE bought_before AND buys) AS retained
                FROM buyers
            )
            SELECT json_build_object(
                'from', period.from_on, 'to', period.to_on,
                'previous_from', previous.from_on, 'previous_to', previous.to_on,
                'groups', (SELECT json_agg(json_build_object(
                    'segment', g.segment, 'clients', g.clients, 'revenue', round(g.revenue, 2)::text,
                    'margin', round(g.margin, 2)::text, 'contacts', g.contacts,
                    'revenue_share', round(g.revenue / nullif((SELECT sum(revenue) FROM groups), 0), 4),
                    'contact_share', round(g.contacts::numeric / nullif((SELECT sum(contacts) FROM groups), 0), 4),
                    'contacts_per_client', round(g.contacts::numeric / nullif(g.clients, 0), 2),
                    'revenue_per_contact', round(g.revenue / nullif(g.contacts, 0), 2)::text)
                    ORDER BY g.position) FROM groups g),
                'previous_period_clients', r.previous_clients,
                'retained_clients', r.retained,
                'retention_rate', round(r.retained::numeric / nullif(r.previous_clients, 0), 4))::text
            FROM period CROSS JOIN previous CROSS JOIN retention r
            """, as: actor)
    }
}
