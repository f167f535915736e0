import Foundation
import Postgres

extension Analytics {
    /// Visits or offers to share out: 0 to 1,000,000.
    public static let effortUnits = 0...1_000_000

    /// Commercial effort (seed 004): where visits and offers should go, in proportion to each
    /// client's loyalty and potential, over the clients who bought in the period (default: the
    /// last 12 months), as buyers.
    ///
    /// For a client with y full years since the first purchase at `to` and N the tenant's
    /// `loyalty_years`: loyalty = 1 + min(y, N) / N (1 for a new client, 2 in the inner circle);
    /// potential = their revenue in the period; weight = loyalty × potential; a client's share
    /// of the effort = weight / Σ weights. Tiers (`new`, `established`, `inner_circle`, as in
    /// seniority) add up their clients' shares; `visits` and `offers`, when given, are shared
    /// out to the tiers in whole numbers by largest remainder. `clients` lists the clients with
    /// the largest shares, at most `limit`.
    public func commercialEffort(
        _ period: AnalyticsPeriod, visits: Int?, offers: Int?, limit: Int, as actor: Actor
    ) async throws -> AnalyticsReport {
        for (name, value) in [("visits", visits), ("offers", offers)] {
            if let value, !Self.effortUnits.contains(value) {
                throw ClientBaseError(.invalid, "\(name) must be a whole number from 0 to 1000000", field: name)
            }
        }
        return try await report("""
            WITH \(fragment: period.lastTwelveMonths), \(fragment: AnalyticsSQL.settings),
            buyers AS (
                SELECT p.buyer_id AS client_id, sum(p.amount) AS potential
                FROM purchases p CROSS JOIN period
                WHERE p.purchased_on BETWEEN period.from_on AND period.to_on
                GROUP BY p.buyer_id
            ), weighted AS (
                SELECT b.client_id, b.potential, y.years,
                       1 + least(y.years, st.loyalty_years)::numeric / st.loyalty_years AS loyalty,
                       (1 + least(y.years, st.loyalty_years)::numeric / st.loyalty_years) * b.potential AS weight,
                       CASE WHEN y.years < 1 THEN 'new' WHEN y.years < st.loyalty_years THEN 'established'
                            ELSE 'inner_circle' END AS tier
                -- Every buyer has a first purchase; (first_purchase_on, id) come from the index alone.
                FROM buyers b LEFT JOIN clients c ON c.id = b.client_id AND c.first_purchase_on IS NOT NULL
                CROSS JOIN period CROSS JOIN settings st
                CROSS JOIN LATERAL (SELECT greatest(0, coalesce(extract(year FROM age(period.to_on, c.first_purchase_on))::int, 0))
                                    AS years) AS y
            ), total AS (
                SELECT sum(weight) AS weight FROM weighted
            ), tiers AS (
                SELECT t.tier, t.position, count(w.client_id) AS clients, coalesce(sum(w.potential), 0) AS potential,
                       coalesce(sum(w.weight), 0) / nullif((SELECT weight FROM total), 0) AS share
                FROM (VALUES ('new', 1), ('established', 2), ('inner_circle', 3)) AS t (tier, position)
                LEFT JOIN weighted w ON w.tier = t.tier
                GROUP BY t.tier, t.position
            ), allocated AS (
                SELECT tiers.*,
                       floor(coalesce(share, 0) * \(visits)) + CASE WHEN row_number() OVER (
                           ORDER BY coalesce(share, 0) * \(visits) - floor(coalesce(share, 0) * \(visits)) DESC, position)
                           <= \(visits) - sum(floor(coalesce(share, 0) * \(visits))) OVER () THEN 1 ELSE 0 END AS visits,
                       floor(coalesce(share, 0) * \(offers)) + CASE WHEN row_number() OVER (
                           ORDER BY coalesce(share, 0) * \(offers) - floor(coalesce(share, 0) * \(offers)) DESC, position)
                           <= \(offers) - sum(floor(coalesce(share, 0) * \(offers))) OVER () THEN 1 ELSE 0 END AS offers
                FROM tiers
            ), top AS (
                SELECT * FROM weighted ORDER BY weight DESC, client_id LIMIT \(limit)
            )
            SELECT json_build_object(
                'from', period.from_on, 'to', period.to_on, 'loyalty_years', st.loyalty_years,
                'visits', \(visits)::int, 'offers', \(offers)::int,
                'tiers', (SELECT json_agg(json_build_object(
                    'tier', a.tier, 'clients', a.clients, 'potential', round(a.potential, 2)::text,
                    'share', round(coalesce(a.share, 0), 4),
                    'visits', CASE WHEN (SELECT weight FROM total) > 0 THEN a.visits::int END,
                    'offers', CASE WHEN (SELECT weight FROM total) > 0 THEN a.offers::int END) ORDER BY a.position)
                    FROM allocated a),
                'clients', coalesce((SELECT json_agg(json_build_object(
                    'client_id', w.client_id, 'name', \(unescaped: AnalyticsSQL.clientName), 'tier', w.tier,
                    'seniority_years', w.years, 'loyalty', round(w.loyalty, 4), 'potential', round(w.potential, 2)::text,
                    'share', round(w.weight / (SELECT weight FROM total), 4))
                    ORDER BY w.weight DESC, w.client_id) FROM top w JOIN clients c ON c.id = w.client_id), '[]'))::text
            FROM period CROSS JOIN settings st
            """, as: actor, hashAggregates: false)
    }
}
