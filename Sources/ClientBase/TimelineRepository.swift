import Foundation
import Postgres
import Tenancy

/// A client's timeline: every event of the records around them, newest first, in one SQL
/// statement. Each source reads its own index backwards from the cursor and stops after one
/// page (`ORDER BY ... LIMIT n+1`), then `UNION ALL` merges the sources and keeps one page; so a
/// page costs the same for a client with ten purchases or a hundred thousand.
public struct TimelineRepository: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public func timeline(of clientID: UUID, _ query: TimelineQuery, as actor: Actor) async throws -> TimelinePage {
        try actor.require(.readClients)
        let sources = TimelineSources(client: clientID, query: query, actor: actor)
        let exists: PostgresQuery =
            "SELECT 1 FROM clients c WHERE c.id = \(clientID) AND \(fragment: actor.access.condition(column: "c.assigned_user_id"))"
        // The best plan is the same for every client: the generic one, planned once for a
        // prepared statement. Left to choose, PostgreSQL kept planning the prepared union for
        // each client (1.3 ms, more than running it) when most clients it had seen were light.
        var statements: [PostgresQuery] = ["SET LOCAL plan_cache_mode = force_generic_plan", exists.prepared()]
        let keys = sources.keys
        if !keys.isEmpty {
            // The sources give only the keys of their events; the page's events are then
            // described one by one. Describing every source's page before the merge built ten
            // times the JSON kept for the busiest client. (`OFFSET 0` keeps `t` a subquery, so
            // that each event's `d` is found once, not once per column read from it.)
            let page: PostgresQuery = """
                SELECT t.type, (extract(epoch FROM t.at) * 1000000)::bigint, coalesce(t.uid::text, t.bid::text), t.d[1], t.d[2]
                FROM (SELECT u.*, CASE \(fragment: PostgresQuery(joining: sources.details, separator: " ")) END AS d
                      FROM (SELECT * FROM (\(fragment: PostgresQuery(joining: keys, separator: " UNION ALL "))) AS k
                            ORDER BY k.at DESC, k.rank DESC, k.uid DESC, k.bid DESC
                            LIMIT \(query.limit + 1)) AS u
                      OFFSET 0) AS t
                ORDER BY t.at DESC, t.rank DESC, t.uid DESC, t.bid DESC
                """
            // Prepared, since planning the union of ten sources cost more than running it (2.6 of
            // 4.5 ms); but only in its most common shape, a client's first page of everything:
            // each cursor position and each choice of types is another text, and one prepared
            // union holds about half a megabyte of its backend's memory.
            let firstPageOfAll = query.cursor == nil && query.types.count == TimelineItem.Kind.allCases.count
            statements.append(firstPageOfAll ? page.prepared() : page)
        }
        let rows = try await database.tenantTransaction(actor.scope, statements)
        guard !rows[1].isEmpty else { throw ClientBaseError(.notFound, "no client with id \(clientID.auditID)") }
        guard rows.count > 2 else { return TimelinePage(items: [], nextCursor: nil) }
        var items = try rows[2].map { row in
            let microseconds = try row.decode(Int64.self, at: 1)
            guard let type = TimelineItem.Kind(rawValue: try row.decode(String.self, at: 0)) else {
                throw PostgresError(.decoding, "a timeline row has an unknown type")
            }
            return TimelineItem(
                type: type, at: Date(timeIntervalSince1970: Double(microseconds) / 1_000_000), id: try row.decode(at: 2),
                summary: try row.decode(at: 3), dataJSON: try row.decode(at: 4), microseconds: microseconds)
        }
        var next: String?
        if items.count > query.limit {
            items.removeLast()
            next = items.last.map { TimelineCursor($0).encoded }
        }
        return TimelinePage(items: items, nextCursor: next)
    }
}

/// The SQL of each source of a timeline: `keys`, one branch per source, each yielding rank,
/// type, at, uid (a UUID id) or bid (a bigint id); and `details`, one `CASE` branch per table.
private struct TimelineSources {
    let client: UUID
    let query: TimelineQuery
    let actor: Actor

    var keys: [PostgresQuery] {
        var keys: [PostgresQuery] = []
        let wanted = query.types
        if wanted.contains(.purchase) { keys.append(purchases) }
        if wanted.contains(.paymentPaid) {
            keys.append(key(.paymentPaid, "FROM payments m WHERE m.client_id = \(client) AND m.paid_on IS NOT NULL",
                            column: "m.paid_on", id: "m.id", isDate: true))
        }
        if wanted.contains(.paymentIncident) {
            keys.append(key(.paymentIncident, "FROM payments m WHERE m.client_id = \(client) AND m.incident_on IS NOT NULL",
                            column: "m.incident_on", id: "m.id", isDate: true))
        }
        if wanted.contains(.paymentDue) {
            keys.append(key(.paymentDue, "FROM payments m WHERE m.client_id = \(client)", column: "m.due_on", id: "m.id", isDate: true))
        }
        if wanted.contains(.interaction) {
            keys.append(key(.interaction, "FROM interactions i WHERE i.client_id = \(client)",
                            column: "i.occurred_at", id: "i.id", isDate: false))
        }
        if wanted.contains(.complaintResolved) {
            keys.append(key(.complaintResolved, "FROM complaints k WHERE k.client_id = \(client) AND k.resolved_on IS NOT NULL",
                            column: "k.resolved_on", id: "k.id", isDate: true))
        }
        if wanted.contains(.complaintOpened) {
            keys.append(key(.complaintOpened, "FROM complaints k WHERE k.client_id = \(client)",
                            column: "k.opened_on", id: "k.id", isDate: true))
        }
        if wanted.contains(.relationship) {
            keys += relationships
        }
        if wanted.contains(.categoryChange) {
            keys.append(key(.categoryChange, "FROM category_changes cc WHERE cc.client_id = \(client)",
                            column: "cc.changed_at", id: "cc.id", isDate: false, numberID: true))
        }
        if wanted.contains(.surveyAnswer) {
            keys.append(key(.surveyAnswer, "FROM survey_answers sa WHERE sa.client_id = \(client)",
                            column: "sa.answered_at", id: "sa.id", isDate: false))
        }
        return keys
    }

    var details: [PostgresQuery] {
        let name = Self.otherClientName
        let sides: PostgresQuery = """
            FROM relationships r JOIN clients o
              ON o.id = CASE WHEN r.from_client_id = \(client) THEN r.to_client_id ELSE r.from_client_id END
            WHERE r.id = u.uid
            """
        return [
            detail(.purchase, purchase, "FROM purchases p WHERE p.id = u.uid"),
            detail([.paymentPaid, .paymentIncident, .paymentDue], payment(summary: """
                CASE u.type WHEN \(TimelineItem.Kind.paymentPaid.rawValue) THEN \(unescaped: Self.paymentPaidSummary)
                            WHEN \(TimelineItem.Kind.paymentIncident.rawValue) THEN \(unescaped: Self.paymentIncidentSummary)
                            ELSE \(unescaped: Self.paymentDueSummary) END
                """), "FROM payments m WHERE m.id = u.uid"),
            detail(.interaction, Self.interaction, "FROM interactions i WHERE i.id = u.uid"),
            detail([.complaintResolved, .complaintOpened], complaint(summary: """
                CASE u.type WHEN \(TimelineItem.Kind.complaintResolved.rawValue) THEN 'Complaint ' || k.status || ' (' || k.category || ')'
                            ELSE 'Complaint opened (' || k.category || ')' END
                """), "FROM complaints k WHERE k.id = u.uid"),
            // No relationship joins a client to itself (relationships_not_self): the client is
            // on one side, and the other side is the other client.
            detail(.relationship, """
                CASE WHEN r.from_client_id = \(client) THEN
                    CASE r.type WHEN 'buys_for' THEN 'Buys for ' WHEN 'prescribes_to' THEN 'Prescribes to '
                                WHEN 'referred' THEN 'Referred ' WHEN 'member_of' THEN 'Member of ' ELSE 'Influences ' END
                        || \(unescaped: name) || coalesce(' (' || r.buying_role || ')', '')
                ELSE
                    \(unescaped: name) || CASE r.type WHEN 'buys_for' THEN ' buys for this client'
                        WHEN 'prescribes_to' THEN ' prescribes to this client' WHEN 'referred' THEN ' referred this client'
                        WHEN 'member_of' THEN ' is a member' || coalesce(' (' || r.buying_role || ')', '')
                        ELSE ' influences this client' END
                END AS summary,
                jsonb_build_object('type', r.type, 'from_client_id', r.from_client_id, 'to_client_id', r.to_client_id,
                                   'other_client_id', o.id, 'other_client_name', \(unescaped: name), 'function', r.function,
                                   'buying_role', r.buying_role, 'since', r.since, 'until', r.until, 'note', r.note) AS data
                """, sides),
            detail(.categoryChange, Self.categoryChange, "FROM category_changes cc WHERE cc.id = u.bid"),
            detail(.surveyAnswer, Self.surveyAnswer,
                   "FROM survey_answers sa JOIN survey_campaigns sc ON sc.id = sa.campaign_id WHERE sa.id = u.uid"),
        ]
    }

    /// One source's keys: its rows after the cursor, newest first, one page at most. `from`
    /// ends with a WHERE clause naming the client, so its index is read from the cursor backwards.
    func key(
        _ type: TimelineItem.Kind, _ from: PostgresQuery, column: String, id: String, isDate: Bool, numberID: Bool = false
    ) -> PostgresQuery {
        let at = isDate ? "(\(column)::timestamp AT TIME ZONE 'UTC')" : column
        return """
            (SELECT \(type.rank) AS rank, \(type.rawValue) AS type, \(unescaped: at) AS at,
                    \(unescaped: numberID ? "NULL::uuid" : id) AS uid, \(unescaped: numberID ? id : "NULL::bigint") AS bid
             \(fragment: from) AND \(fragment: bound(type, column: column, id: id, isDate: isDate, numberID: numberID))
             ORDER BY \(unescaped: column) DESC, \(unescaped: id) DESC LIMIT \(query.limit + 1))
            """
    }

    /// A branch of the `CASE` of an event `u`: the summary and data (as text) of an event of
    /// one of `types`, found by `from` from `u.uid` or `u.bid`. Only the branch of each event's
    /// type runs. Types of one table share a branch: each branch is a subplan that every run
    /// sets up, which costs a light client's timeline more than its rows.
    func detail(_ types: [TimelineItem.Kind], _ select: PostgresQuery, _ from: PostgresQuery) -> PostgresQuery {
        """
        WHEN u.type = ANY(\(types.map(\.rawValue))) \
        THEN (SELECT ARRAY[x.summary, x.data::text] FROM (SELECT \(fragment: select) \(fragment: from)) AS x)
        """
    }

    func detail(_ type: TimelineItem.Kind, _ select: PostgresQuery, _ from: PostgresQuery) -> PostgresQuery {
        detail([type], select, from)
    }
    /// The rows of this source that come after the cursor in (at, rank, id) descending order,
    /// written on the source's own indexed columns. A date's instant is its midnight UTC.
    func bound(_ type: TimelineItem.Kind, column: String, id: String, isDate: Bool, numberID: Bool) -> PostgresQuery {
        guard let cursor = query.cursor else { return "TRUE" }
        if type == cursor.type {
            let cursorID: PostgresQuery = numberID ? "\(Int64(cursor.id) ?? 0)" : "\(UUID(uuidString: cursor.id) ?? UUID())"
            if isDate {
                // An instant past midnight has no item of this date at it: the whole day is before.
                return cursor.isMidnight
                    ? "(\(unescaped: column), \(unescaped: id)) < (\(cursor.day), \(fragment: cursorID))"
                    : "\(unescaped: column) <= \(cursor.day)"
            }
            return "(\(unescaped: column), \(unescaped: id)) < (\(cursor.timestampText)::timestamptz, \(fragment: cursorID))"
        }
        // At the cursor's instant, a type of lower rank comes after it; a higher one came before.
        let includesInstant = type.rank < cursor.type.rank
        if isDate {
            return includesInstant ? "\(unescaped: column) <= \(cursor.day)" : "\(unescaped: column) < \(cursor.dayRoundedUp)"
        }
        return includesInstant
            ? "\(unescaped: column) <= \(cursor.timestampText)::timestamptz"
            : "\(unescaped: column) < \(cursor.timestampText)::timestamptz"
    }

    // MARK: Purchases: as buyer, as payer, as consumer

    /// Three indexes (buyer, payer, consumer), merged without repeating a purchase in which
    /// the client has two parts; an agent also needs to see the buyer, whose purchase it is.
    var purchases: PostgresQuery {
        let buyer = key(.purchase, "FROM purchases p WHERE p.buyer_id = \(client)",
                        column: "p.purchased_on", id: "p.id", isDate: true)
        let payer = key(.purchase, """
            FROM purchases p WHERE p.payer_id = \(client)
              AND \(fragment: actor.sees(clientIn: "p.buyer_id"))
            """, column: "p.purchased_on", id: "p.id", isDate: true)
        let consumer = key(.purchase, """
            FROM purchase_consumers pc JOIN purchases p ON p.id = pc.purchase_id
            WHERE pc.client_id = \(client) AND \(fragment: actor.sees(clientIn: "p.buyer_id"))
            """, column: "pc.purchased_on", id: "pc.purchase_id", isDate: true)
        return """
            (SELECT * FROM (\(fragment: buyer) UNION \(fragment: payer) UNION \(fragment: consumer)) AS u
             ORDER BY u.at DESC, u.uid DESC LIMIT \(query.limit + 1))
            """
    }

    var purchase: PostgresQuery {
        let role: PostgresQuery = """
            CASE WHEN p.buyer_id = \(client) THEN 'buyer' WHEN p.payer_id = \(client) THEN 'payer' ELSE 'consumer' END
            """
        return """
            format('Purchase of %s € as %s', p.amount, \(fragment: role)) || coalesce(' (' || p.channel || ')', '') AS summary,
            jsonb_build_object('role', \(fragment: role), 'buyer_id', p.buyer_id, 'payer_id', coalesce(p.payer_id, p.buyer_id),
                               'purchased_on', p.purchased_on, 'amount', p.amount::text, 'margin', p.margin::text,
                               'channel', p.channel, 'purchase_type', p.purchase_type) AS data
            """
    }

    // MARK: Payments, complaints, interactions, category changes

    static let paymentDueSummary = "'Payment of ' || m.amount || ' € due' || CASE WHEN m.paid_on IS NULL THEN ' (unpaid)' ELSE '' END"
    static let paymentPaidSummary = """
        'Payment of ' || m.amount || ' € paid' || coalesce(' by ' || m.means, '')
            || CASE WHEN m.incident = 'late' THEN ', ' || (m.paid_on - m.due_on) || ' days late' ELSE '' END
        """
    static let paymentIncidentSummary = """
        'Payment of ' || m.amount || ' € ' || CASE m.incident WHEN 'rejected' THEN 'rejected' ELSE 'in litigation' END
        """

    func payment(summary: PostgresQuery) -> PostgresQuery {
        """
        \(fragment: summary) AS summary,
        jsonb_build_object('amount', m.amount::text, 'due_on', m.due_on, 'paid_on', m.paid_on, 'means', m.means,
                           'incident', m.incident, 'incident_on', m.incident_on, 'incident_note', m.incident_note,
                           'purchase_id', m.purchase_id) AS data
        """
    }

    func complaint(summary: PostgresQuery) -> PostgresQuery {
        """
        \(fragment: summary) AS summary,
        jsonb_build_object('category', k.category, 'status', k.status, 'opened_on', k.opened_on, 'resolved_on', k.resolved_on,
                           'purchase_id', k.purchase_id, 'handling_minutes', k.handling_minutes,
                           'description', k.description) AS data
        """
    }

    static let interaction: PostgresQuery = """
        i.channel || coalesce(' ' || i.direction, '') || ': ' || i.subject AS summary,
        jsonb_build_object('occurred_at', to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                           'channel', i.channel, 'direction', i.direction, 'subject', i.subject, 'outcome', i.outcome,
                           'next_step', i.next_step, 'next_step_on', i.next_step_on, 'author', i.author) AS data
        """

    static let categoryChange: PostgresQuery = """
        'Category ' || coalesce(cc.from_category || ' → ', '') || cc.to_category AS summary,
        jsonb_build_object('from_category', cc.from_category, 'to_category', cc.to_category, 'reason', cc.reason,
                           'author', cc.author) AS data
        """

    /// A survey answer (the Surveys module's tables): the score on the campaign's scale.
    static let surveyAnswer: PostgresQuery = """
        upper(sa.measure) || ' answer ' || sa.score || ' (' || sc.name || ')' AS summary,
        jsonb_build_object('campaign_id', sa.campaign_id, 'campaign_name', sc.name, 'measure', sa.measure,
                           'score', sa.score, 'comment', sa.comment, 'invitation_id', sa.invitation_id) AS data
        """

    // MARK: Relationships, from either side

    /// A related client's display name, from `clients o`.
    static let otherClientName = "coalesce(o.organisation_name, nullif(concat_ws(' ', o.first_name, o.last_name), ''), 'a client')"

    /// Each side names the other client, who must be one the actor sees.
    var relationships: [PostgresQuery] {
        let visible = actor.access.condition(column: "o.assigned_user_id")
        return [
            key(.relationship, """
                FROM relationships r JOIN clients o ON o.id = r.to_client_id
                WHERE r.from_client_id = \(client) AND \(fragment: visible)
                """, column: "r.created_at", id: "r.id", isDate: false),
            key(.relationship, """
                FROM relationships r JOIN clients o ON o.id = r.from_client_id
                WHERE r.to_client_id = \(client) AND \(fragment: visible)
                """, column: "r.created_at", id: "r.id", isDate: false),
        ]
    }
}
