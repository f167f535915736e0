import Foundation
import Postgres

extension Analytics {
    /// Acquisition (seed 004): what winning a client cost, by `acquisition_channel`, against
    /// the time their margin takes to pay it back.
    ///
    /// Clients counted: those whose first purchase falls between `from` (default: all time) and
    /// `to` (default today). For each client, `months` = calendar months from the month of the
    /// first purchase to the month of `to`, both counted; `margin` = their margin as buyer up to
    /// `to`. For each channel (null: unknown):
    /// - `cost_per_client` = average `acquisition_cost` of its clients whose cost is known;
    /// - `monthly_margin_per_client` = average of margin / months;
    /// - `payback_months` = cost_per_client / monthly_margin_per_client (null when the margin
    ///   is not positive or no cost is known);
    /// - `paid_back_clients` = clients with a known cost whose margin has reached it.
    public func acquisition(_ period: AnalyticsPeriod, as actor: Actor) async throws -> AnalyticsReport {
        // Over all time nearly every buyer is acquired: summing every buyer's purchases in buyer
        // order, from the (buyer_id, purchased_on) index, is cheaper than joining them to the
        // acquired first (1.6 s against 2.1 s at 5,000,000 purchases). A period's few new
        // clients are cheaper joined (0.2 s against 0.9 s). Buyers who are not acquired drop
        // out at per_client either way.
        let buyers: PostgresQuery = period.from == nil
            ? "purchases p"
            : "acquired a JOIN purchases p ON p.buyer_id = a.id"
        return try await report("""
            WITH \(fragment: period.allTime), \(fragment: AnalyticsSQL.settings),
            acquired AS (
                SELECT c.id, c.acquisition_channel AS channel, c.acquisition_cost AS cost,
                       (extract(year FROM period.to_on) - extract(year FROM c.first_purchase_on)) * 12
                       + extract(month FROM period.to_on) - extract(month FROM c.first_purchase_on) + 1 AS months
                FROM clients c CROSS JOIN period
                WHERE c.first_purchase_on <= period.to_on AND (period.from_on IS NULL OR c.first_purchase_on >= period.from_on)
            ), margins AS (
                SELECT p.buyer_id, sum(\(unescaped: AnalyticsSQL.margin)) AS margin
                FROM \(fragment: buyers) CROSS JOIN period
                WHERE p.purchased_on <= period.to_on
                GROUP BY p.buyer_id
                ORDER BY p.buyer_id
            ), per_client AS (
                SELECT a.channel, a.cost, coalesce(m.margin, 0) AS margin, coalesce(m.margin, 0) / a.months AS monthly
                FROM acquired a LEFT JOIN margins m ON m.buyer_id = a.id
            ), channels AS (
                SELECT channel, count(*) AS clients, count(cost) AS clients_with_cost, sum(cost) AS total_cost,
                       avg(cost) AS cost_per_client, sum(margin) AS margin, avg(monthly) AS monthly,
                       count(*) FILTER (WHERE cost IS NOT NULL AND margin >= cost) AS paid_back
                FROM per_client GROUP BY channel
            )
            SELECT json_build_object(
                'from', period.from_on, 'to', period.to_on,
                'channels', coalesce((SELECT json_agg(json_build_object(
                    'channel', ch.channel, 'clients', ch.clients, 'clients_with_cost', ch.clients_with_cost,
                    'total_cost', round(coalesce(ch.total_cost, 0), 2)::text,
                    'cost_per_client', round(ch.cost_per_client, 2)::text,
                    'margin', round(ch.margin, 2)::text,
                    'monthly_margin_per_client', round(ch.monthly, 2)::text,
                    'payback_months', CASE WHEN ch.monthly > 0 THEN round(ch.cost_per_client / ch.monthly, 1) END,
                    'paid_back_clients', ch.paid_back)
                    ORDER BY ch.clients DESC, ch.channel NULLS LAST) FROM channels ch), '[]'))::text
            FROM period
            """, as: actor)
    }
}
