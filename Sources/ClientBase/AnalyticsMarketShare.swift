import Foundation
import Postgres

extension Analytics {
    /// Market share (DOMAIN.md section 3) for each market estimate: our revenue in the
    /// estimate's market and period against effective demand (what the market buys, ours and
    /// competitors') and against potential demand (that plus relative non-consumers).
    ///
    /// Our revenue = Σ amount of purchases whose `market_zone` is the estimate's zone, whose
    /// `product_line` is the estimate's line (any line when the estimate has none), bought
    /// within the estimate's period; our clients = their distinct buyers.
    /// - `share_of_effective_demand` = our revenue / effective demand;
    /// - `share_of_potential_demand` = our revenue / potential demand;
    /// - with consumer counts: `share_of_effective_consumers` = our clients / effective consumers,
    ///   `share_of_potential_consumers` = our clients / potential consumers.
    ///
    /// Estimates listed: those matching `zone` and `line` when given, whose period overlaps
    /// `from`–`to` when given; newest period first, at most `limit`.
    public func marketShare(
        zone: String?, line: String?, from: PostgresDate?, to: PostgresDate?, limit: Int, as actor: Actor
    ) async throws -> AnalyticsReport {
        if let from, let to, from > to {
            throw ClientBaseError(.invalid, "from (\(from)) is after to (\(to))", field: "from")
        }
        let zone = zone.map(MarketEstimate.label), line = line.map(MarketEstimate.label)
        return try await report("""
            WITH estimates AS (
                SELECT e.* FROM market_estimates e
                WHERE (\(zone)::text IS NULL OR e.market_zone = \(zone))
                  AND (\(line)::text IS NULL OR e.product_line = \(line))
                  AND (\(from)::date IS NULL OR e.period_end >= \(from))
                  AND (\(to)::date IS NULL OR e.period_start <= \(to))
                ORDER BY e.period_start DESC, e.market_zone, e.product_line NULLS FIRST, e.id
                LIMIT \(limit)
            ), ours AS (
                SELECT e.*, o.revenue, o.clients
                FROM estimates e CROSS JOIN LATERAL (
                    SELECT coalesce(sum(p.amount), 0) AS revenue, count(DISTINCT p.buyer_id) AS clients
                    FROM purchases p
                    WHERE p.market_zone = e.market_zone AND p.purchased_on BETWEEN e.period_start AND e.period_end
                      AND (e.product_line IS NULL OR p.product_line = e.product_line)
                ) AS o
            )
            SELECT json_build_object('items', coalesce(json_agg(json_build_object(
                'estimate_id', o.id, 'market_zone', o.market_zone, 'product_line', o.product_line,
                'period_start', o.period_start, 'period_end', o.period_end,
                'effective_demand', o.effective_demand::text, 'potential_demand', o.potential_demand::text,
                'effective_consumers', o.effective_consumers, 'potential_consumers', o.potential_consumers,
                'our_revenue', round(o.revenue, 2)::text, 'our_clients', o.clients,
                'share_of_effective_demand', round(o.revenue / o.effective_demand, 4),
                'share_of_potential_demand', round(o.revenue / nullif(o.potential_demand, 0), 4),
                'share_of_effective_consumers', round(o.clients::numeric / o.effective_consumers, 4),
                'share_of_potential_consumers', round(o.clients::numeric / nullif(o.potential_consumers, 0), 4))
                ORDER BY o.period_start DESC, o.market_zone, o.product_line NULLS FIRST, o.id), '[]'))::text
            FROM ours o
            """, as: actor)
    }
}
