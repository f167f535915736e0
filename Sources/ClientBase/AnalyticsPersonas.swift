import Foundation
import Postgres

extension Analytics {
    public static let personaCounts = 1...10

    /// Personas (seed 003): a few portraits of typical clients drawn from those who bought in the
    /// period (default: the last 12 months), as buyers. Deterministic grouping, no sampling:
    ///
    /// each buyer falls in one group by kind × age band × category × spend band, where the age
    /// band is the individual's age at `to` (`under_25`, `25_34`, `35_49`, `50_64`, `65_plus`,
    /// `unknown`; `organisation` for businesses and public bodies) and the spend band their
    /// tercile of revenue in the period (`ntile(3)`: `low`, `medium`, `high`). The `count`
    /// largest groups (most clients, then most revenue) are the personas, each with its share
    /// of clients and of revenue, average spend and purchases, and its most frequent
    /// motivation and need (ties: alphabetical order; null when none is recorded).
    public func personas(_ period: AnalyticsPeriod, count: Int, as actor: Actor) async throws -> AnalyticsReport {
        guard Self.personaCounts.contains(count) else {
            throw ClientBaseError(.invalid, "count must be from 1 to 10", field: "count")
        }
        return try await report("""
            WITH \(fragment: period.lastTwelveMonths),
            buyers AS (
                SELECT p.buyer_id AS client_id, sum(p.amount) AS revenue, count(*) AS purchases
                FROM purchases p CROSS JOIN period
                WHERE p.purchased_on BETWEEN period.from_on AND period.to_on
                GROUP BY p.buyer_id
            ), banded AS (
                SELECT b.*, c.kind, c.category, c.motivations, c.needs,
                       CASE WHEN c.kind <> 'individual' THEN 'organisation'
                            WHEN c.birth_date IS NULL THEN 'unknown'
                            ELSE CASE WHEN extract(year FROM age(period.to_on, c.birth_date)) < 25 THEN 'under_25'
                                      WHEN extract(year FROM age(period.to_on, c.birth_date)) < 35 THEN '25_34'
                                      WHEN extract(year FROM age(period.to_on, c.birth_date)) < 50 THEN '35_49'
                                      WHEN extract(year FROM age(period.to_on, c.birth_date)) < 65 THEN '50_64'
                                      ELSE '65_plus' END END AS age_band,
                       (ARRAY['low', 'medium', 'high'])[ntile(3) OVER (ORDER BY b.revenue, b.client_id)] AS spend_band
                FROM buyers b JOIN clients c ON c.id = b.client_id CROSS JOIN period
            ), groups AS (
                SELECT kind, age_band, category, spend_band, count(*) AS clients, sum(revenue) AS revenue,
                       avg(revenue) AS average_spend, avg(purchases) AS average_purchases
                FROM banded GROUP BY kind, age_band, category, spend_band
                ORDER BY count(*) DESC, sum(revenue) DESC, kind, age_band, category, spend_band
                LIMIT \(count)
            ), motivations AS (
                SELECT DISTINCT ON (b.kind, b.age_band, b.category, b.spend_band) b.kind, b.age_band, b.category, b.spend_band, v AS value
                FROM (SELECT * FROM banded WHERE cardinality(motivations) > 0) AS b
                JOIN groups USING (kind, age_band, category, spend_band) CROSS JOIN unnest(b.motivations) AS v
                GROUP BY b.kind, b.age_band, b.category, b.spend_band, v
                ORDER BY b.kind, b.age_band, b.category, b.spend_band, count(*) DESC, v
            ), needs AS (
                SELECT DISTINCT ON (b.kind, b.age_band, b.category, b.spend_band) b.kind, b.age_band, b.category, b.spend_band, v AS value
                FROM (SELECT * FROM banded WHERE cardinality(needs) > 0) AS b
                JOIN groups USING (kind, age_band, category, spend_band) CROSS JOIN unnest(b.needs) AS v
                GROUP BY b.kind, b.age_band, b.category, b.spend_band, v
                ORDER BY b.kind, b.age_band, b.category, b.spend_band, count(*) DESC, v
            ), totals AS (
                SELECT count(*) AS clients, sum(revenue) AS revenue FROM buyers
            )
            SELECT json_build_object(
                'from', period.from_on, 'to', period.to_on, 'clients', t.clients,
                'covered_share', round((SELECT sum(clients) FROM groups) / nullif(t.clients, 0), 4),
                'personas', coalesce((SELECT json_agg(json_build_object(
                    'name', g.kind || ', ' || g.age_band || ', ' || g.category || ', ' || g.spend_band || ' spend',
                    'kind', g.kind, 'age_band', g.age_band, 'category', g.category, 'spend_band', g.spend_band,
                    'clients', g.clients, 'share', round(g.clients::numeric / t.clients, 4),
                    'revenue', round(g.revenue, 2)::text, 'revenue_share', round(g.revenue / nullif(t.revenue, 0), 4),
                    'average_spend', round(g.average_spend, 2)::text, 'average_purchases', round(g.average_purchases, 2),
                    'dominant_motivation', mo.value, 'dominant_need', ne.value)
                    ORDER BY g.clients DESC, g.revenue DESC, g.kind, g.age_band, g.category, g.spend_band)
                    FROM groups g
                    LEFT JOIN motivations mo USING (kind, age_band, category, spend_band)
                    LEFT JOIN needs ne USING (kind, age_band, category, spend_band)), '[]'))::text
            FROM period CROSS JOIN totals t
            """, as: actor, hashAggregates: false)
    }
}
