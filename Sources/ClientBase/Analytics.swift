import Foundation
import Postgres
import Tenancy

/// The owner's questions (DOMAIN.md section 3). Each report is one SQL statement computed in
/// PostgreSQL over the whole tenant (set-based: one pass over purchases grouped by client,
/// window functions), which returns the report as one JSON document: millions of rows never
/// travel to Swift. Every report needs `.runAnalytics` (owner, admin, manager).
///
/// Shared rules: revenue is a purchase's `amount`, credited to its buyer; margin is its
/// `margin`, or `amount × margin_rate_when_unknown` (a tenant setting) when unknown. Money is a
/// string with two decimals, shares are numbers with at most 4 decimals.
public struct Analytics: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// Runs a report's statement (which returns one row holding one JSON text).
    ///
    /// `hashAggregates: false` keeps the planner from hashing, for reports whose per-buyer sums
    /// over a year it hashes (0.8 s for 477,000 numeric sums and counts, at a million clients)
    /// where the `(buyer_id, purchased_on)` index would stream them in buyer order (0.4 s); its
    /// estimates see no difference. The setting is local to the report's transaction.
    func report(_ query: PostgresQuery, as actor: Actor, hashAggregates: Bool = true) async throws -> AnalyticsReport {
        try actor.require(.runAnalytics)
        let settings: [PostgresQuery] = hashAggregates ? [] : ["SET LOCAL enable_hashagg = off"]
        // Long work: at most half the pool's connections run reports and imports at once.
        let rows = try await database.withLongWork { try await database.tenantTransaction(actor.scope, settings + [query]) }
        guard let row = rows.last?.first else { throw PostgresError(.decoding, "an analytics report returned no row") }
        return AnalyticsReport(json: try row.decode(String.self, at: 0))
    }
}

/// A report as PostgreSQL wrote it: a JSON object, sent to the caller as it is.
public struct AnalyticsReport: Sendable, Hashable {
    public var json: String
}

/// The period of purchases a report reads, inclusive. `to` defaults to today (UTC) and `from`
/// to the day after `to` one year earlier (the last 12 months), unless a report says otherwise.
public struct AnalyticsPeriod: Sendable, Hashable {
    public var from: PostgresDate?
    public var to: PostgresDate

    public init(from: PostgresDate? = nil, to: PostgresDate? = nil) throws {
        self.from = from
        self.to = to ?? Timestamps.today()
        if let from, from > self.to {
            throw ClientBaseError(.invalid, "from (\(from)) is after to (\(self.to))", field: "from")
        }
    }

    // Both are NOT MATERIALIZED: inlined where they are read, the bounds fold into constants and
    // PostgreSQL estimates the purchases of the period from its statistics (a materialized
    // `period` made it guess a third of the table and pick nested loops of index probes).

    /// `period (from_on, to_on)`: the last 12 months when `from` is not given.
    var lastTwelveMonths: PostgresQuery {
        """
        period AS NOT MATERIALIZED (SELECT coalesce(\(from)::date, (\(to)::date - interval '1 year')::date + 1) AS from_on, \(to)::date AS to_on)
        """
    }

    /// `period (from_on, to_on)`: from_on is null (all time) when `from` is not given.
    var allTime: PostgresQuery {
        "period AS NOT MATERIALIZED (SELECT \(from)::date AS from_on, \(to)::date AS to_on)"
    }
}

/// SQL pieces every report uses (our own text, no user input).
enum AnalyticsSQL {
    /// The tenant's settings row, as `settings`.
    static let settings: PostgresQuery = "settings AS (SELECT * FROM analytics_settings LIMIT 1)"

    /// The margin of purchase `p`, estimated from its amount when unknown (needs `settings`). The
    /// rate is a scalar subquery, read once; joining `settings` cost a nested-loop step per purchase.
    static let margin = "coalesce(p.margin, round(p.amount * (SELECT margin_rate_when_unknown FROM settings), 2))"

    /// A client's display name from `clients c`.
    static let clientName = """
        CASE WHEN c.kind = 'individual' THEN nullif(btrim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), '')
             ELSE c.organisation_name END
        """

    /// Interactions of the period: `occurred_at` within its UTC days.
    static let interactionInPeriod = """
        i.occurred_at >= (period.from_on::timestamp AT TIME ZONE 'UTC')
        AND i.occurred_at < ((period.to_on + 1)::timestamp AT TIME ZONE 'UTC')
        """
}

/// A limit of listed clients: 1 to 500, 50 by default.
public enum AnalyticsLimit {
    public static let `default` = 50
    public static let maximum = 500
}
