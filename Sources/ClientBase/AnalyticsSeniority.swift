import Foundation
import Postgres

extension Analytics {
    /// Seniority (ancienneté, seed 004): clients by year of first purchase (`first_purchase_on`,
    /// kept by purchases, or set by hand for clients older than their records) and how each
    /// cohort keeps buying, then the loyalty tiers at `to`.
    ///
    /// - A cohort is the clients whose first purchase fell in one calendar year (first purchases
    ///   from `from` when given, up to `to`, default today).
    /// - For each year from the cohort's year to the year of `to`: `active_clients` = cohort
    ///   clients who bought (as buyer) that year; `retention` = active clients / cohort clients.
    /// - Tiers at `to`, by full years since the first purchase: `new` (under 1 year),
    ///   `established` (1 to N − 1), `inner_circle` (N and more), N = the tenant's
    ///   `loyalty_years`; `joining_inner_circle_within_a_year` = clients at N − 1 full years.
    public func seniority(_ period: AnalyticsPeriod, as actor: Actor) async throws -> AnalyticsReport {
        try await report("""
            WITH \(fragment: period.allTime), \(fragment: AnalyticsSQL.settings),
            cohort_clients AS (
                SELECT c.id, extract(year FROM c.first_purchase_on)::int AS cohort,
                       extract(year FROM age(period.to_on, c.first_purchase_on))::int AS years
                FROM clients c CROSS JOIN period
                WHERE c.first_purchase_on <= period.to_on AND (period.from_on IS NULL OR c.first_purchase_on >= period.from_on)
            ), active AS (
                SELECT p.buyer_id, extract(year FROM p.purchased_on)::int AS year
                FROM purchases p CROSS JOIN period
                WHERE p.purchased_on <= period.to_on
                  AND (period.from_on IS NULL OR p.purchased_on >= date_trunc('year', period.from_on))
                GROUP BY 1, 2
            ), sizes AS (
                SELECT cohort, count(*) AS clients FROM cohort_clients GROUP BY cohort
            ), retained AS (
                SELECT cc.cohort, a.year, count(*) AS active
                FROM cohort_clients cc JOIN active a ON a.buyer_id = cc.id AND a.year >= cc.cohort
                GROUP BY 1, 2
            ), cohorts AS (
                SELECT s.cohort, s.clients, json_agg(json_build_object(
                           'year', y, 'years_after', y - s.cohort, 'active_clients', coalesce(r.active, 0),
                           'retention', round(coalesce(r.active, 0)::numeric / s.clients, 4)) ORDER BY y) AS retention
                FROM sizes s CROSS JOIN period
                CROSS JOIN generate_series(s.cohort, extract(year FROM period.to_on)::int) AS y
                LEFT JOIN retained r ON r.cohort = s.cohort AND r.year = y
                GROUP BY s.cohort, s.clients
            ), tiered AS (
                SELECT CASE WHEN cc.years < 1 THEN 'new' WHEN cc.years < st.loyalty_years THEN 'established'
                            ELSE 'inner_circle' END AS tier,
                       cc.years = st.loyalty_years - 1 AS joining
                FROM cohort_clients cc CROSS JOIN settings st
            ), tiers AS (
                SELECT t.tier, t.position, count(x.tier) AS clients, count(*) FILTER (WHERE x.joining) AS joining
                FROM (VALUES ('new', 1), ('established', 2), ('inner_circle', 3)) AS t (tier, position)
                LEFT JOIN tiered x ON x.tier = t.tier
                GROUP BY t.tier, t.position
            )
            SELECT json_build_object(
                'from', period.from_on, 'to', period.to_on, 'loyalty_years', st.loyalty_years,
                'clients', (SELECT count(*) FROM cohort_clients),
                'cohorts', coalesce((SELECT json_agg(json_build_object('year', c.cohort, 'clients', c.clients, 'retention', c.retention)
                                                     ORDER BY c.cohort) FROM cohorts c), '[]'),
                'tiers', (SELECT json_agg(json_build_object(
                              'tier', t.tier, 'clients', t.clients,
                              'share', round(t.clients::numeric / nullif((SELECT count(*) FROM cohort_clients), 0), 4))
                              ORDER BY t.position) FROM tiers t),
                'joining_inner_circle_within_a_year', (SELECT count(*) FROM tiered WHERE joining))::text
            FROM period CROSS JOIN settings st
            """, as: actor)
    }
}
