import Foundation
import Postgres

extension Analytics {
    /// Lorenz curve points: 2 to 101 (every 1/(points−1) of the clients).
    public static let paretoPoints = 2...101

    /// Pareto (seed 001): how concentrated revenue and margin are over the clients who bought
    /// in the period (default: the last 12 months).
    ///
    /// For each measure (revenue, then margin, counting clients whose total is positive),
    /// clients are sorted by their total ascending; with n clients and x_i the i-th total,
    /// - the Lorenz curve L(p) is the share of the total held by the poorest p of the clients,
    ///   linear between clients: L(p) = (Σ_{i ≤ ⌊pn⌋} x_i + (pn − ⌊pn⌋)·x_{⌊pn⌋+1}) / Σ x_i,
    ///   at `points` values of p evenly spaced from 0 to 1;
    /// - `top_20_percent_share` = 1 − L(0.8);
    /// - `clients_share_for_80_percent`: the smallest share of clients, biggest first, whose
    ///   totals reach 80% of the whole;
    /// - `gini` = 2·Σ i·x_i / (n·Σ x_i) − (n + 1)/n;
    /// - `over_warning_share`: clients whose share exceeds the tenant's `pareto_warning_share`
    ///   (dependence on one client is dangerous); `warning` is true when there is one.
    public func pareto(_ period: AnalyticsPeriod, points: Int = 21, as actor: Actor) async throws -> AnalyticsReport {
        guard Self.paretoPoints.contains(points) else {
            throw ClientBaseError(.invalid, "points must be from 2 to 101", field: "points")
        }
        let steps = points - 1
        return try await report("""
            WITH \(fragment: period.lastTwelveMonths), \(fragment: AnalyticsSQL.settings),
            per_client AS (
                SELECT p.buyer_id AS client_id, sum(p.amount) AS revenue, sum(\(unescaped: AnalyticsSQL.margin)) AS margin
                FROM purchases p CROSS JOIN period CROSS JOIN settings s
                WHERE p.purchased_on BETWEEN period.from_on AND period.to_on
                GROUP BY p.buyer_id
            ), measures AS (
                -- Ranked and summed as float8, many times faster than numeric over a million
                -- clients; shares are rounded to 4 decimals, money totals come from per_client.
                SELECT 'revenue' AS measure, client_id, revenue::float8 AS value FROM per_client WHERE revenue > 0
                UNION ALL
                SELECT 'margin', client_id, margin::float8 FROM per_client WHERE margin > 0
            ), ranked AS (
                SELECT measure, client_id, value,
                       row_number() OVER (PARTITION BY measure ORDER BY value, client_id) AS rank_up,
                       sum(value) OVER (PARTITION BY measure ORDER BY value, client_id) AS cum_up
                FROM measures
            ), totals AS (
                SELECT m.measure, count(r.client_id) AS n, coalesce(sum(r.value), 0) AS total,
                       coalesce(sum(r.rank_up * r.value), 0) AS weighted,
                       CASE m.measure WHEN 'revenue' THEN (SELECT sum(revenue) FROM per_client WHERE revenue > 0)
                                      ELSE (SELECT sum(margin) FROM per_client WHERE margin > 0) END AS exact_total
                FROM (VALUES ('revenue'), ('margin')) AS m (measure) LEFT JOIN ranked r USING (measure)
                GROUP BY m.measure
            ), points AS (
                SELECT t.measure, k, k::numeric / \(steps) AS p FROM totals t CROSS JOIN generate_series(0, \(steps)) AS k
                UNION ALL
                SELECT t.measure, -1, 0.8 FROM totals t
            ), lorenz AS (
                SELECT pt.measure, pt.k, pt.p,
                       (coalesce(a.cum_up, 0) + (pt.p * t.n - floor(pt.p * t.n))::float8 * coalesce(b.value, 0)) / nullif(t.total, 0) AS share
                FROM points pt JOIN totals t USING (measure)
                LEFT JOIN ranked a ON a.measure = pt.measure AND a.rank_up = floor(pt.p * t.n)
                LEFT JOIN ranked b ON b.measure = pt.measure AND b.rank_up = floor(pt.p * t.n) + 1
            ), heavy AS (
                SELECT r.measure, json_agg(json_build_object(
                           'client_id', r.client_id, 'name', \(unescaped: AnalyticsSQL.clientName),
                           'amount', round(r.value::numeric, 2)::text, 'share', round((r.value / t.total)::numeric, 4))
                       ORDER BY r.value DESC, r.client_id) AS clients
                FROM ranked r JOIN totals t USING (measure) JOIN clients c ON c.id = r.client_id CROSS JOIN settings s
                WHERE r.value / t.total > s.pareto_warning_share
                GROUP BY r.measure
            ), summary AS (
                SELECT t.measure, json_build_object(
                    'total', round(coalesce(t.exact_total, 0), 2)::text,
                    'clients', t.n,
                    'top_20_percent_share', (SELECT round((1 - l.share)::numeric, 4) FROM lorenz l WHERE l.measure = t.measure AND l.k = -1),
                    'clients_share_for_80_percent', (SELECT round(min(t.n - r.rank_up + 1)::numeric / t.n, 4) FROM ranked r
                                                     WHERE r.measure = t.measure AND t.total - r.cum_up + r.value >= 0.8 * t.total),
                    'largest_client_share', (SELECT round((max(r.value) / t.total)::numeric, 4) FROM ranked r WHERE r.measure = t.measure),
                    'gini', CASE WHEN t.n > 0 THEN round((2 * t.weighted / (t.n * t.total) - (t.n + 1)::float8 / t.n)::numeric, 4) END,
                    'lorenz', (SELECT json_agg(json_build_object('clients_share', round(l.p, 4), 'share', round(coalesce(l.share, 0)::numeric, 4))
                                               ORDER BY l.k)
                               FROM lorenz l WHERE l.measure = t.measure AND l.k >= 0),
                    'over_warning_share', coalesce((SELECT h.clients FROM heavy h WHERE h.measure = t.measure), '[]')
                ) AS report
                FROM totals t
            )
            SELECT json_build_object(
                'from', period.from_on, 'to', period.to_on,
                'warning_share', round(s.pareto_warning_share, 4),
                'warning', EXISTS (SELECT 1 FROM heavy),
                'revenue', (SELECT report FROM summary WHERE measure = 'revenue'),
                'margin', (SELECT report FROM summary WHERE measure = 'margin'))::text
            FROM period CROSS JOIN settings s
            """, as: actor)
    }
}
