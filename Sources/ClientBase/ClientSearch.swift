import Foundation
import Postgres

/// Filters, search, sort order and page of a client list. Filters combine with AND.
public struct ClientListQuery: Sendable {
    public static let maximumLimit = 200

    public enum Sort: String, Sendable, CaseIterable {
        /// Creation order: by id (UUIDv7). The default without `q`.
        case created
        /// By folded name (organisation name, or last then first name), then id.
        case name
        /// Most recent last purchase first, never-bought clients last, then id descending.
        case lastPurchase = "last_purchase"
        /// Best match of `q` first, then id. The default with `q`.
        case relevance
    }

    public var kind: Client.Kind?
    public var category: Client.Category?
    /// Clients carrying every one of these tags.
    public var tags: [String] = []
    /// Accent- and case-blind.
    public var city: String?
    /// A prefix: `75` finds every Paris postal code.
    public var postalCodePrefix: String?
    public var assignedUserID: UUID?
    public var consentSurveys: Bool?
    public var consentMarketing: Bool?
    public var firstPurchaseFrom: PostgresDate?
    public var firstPurchaseTo: PostgresDate?
    public var lastPurchaseFrom: PostgresDate?
    public var lastPurchaseTo: PostgresDate?
    /// Only relative non-consumers whose follow-up date has come.
    public var dueForFollowUp: Bool
    /// Only clients whose churn-risk score (churn_scores, 0 without a row) is at least this (1-100).
    public var minimumChurnRisk: Int?
    /// Words of names, legal names, emails or phones; accents and small typos tolerated.
    public var search: String?
    public var sort: Sort
    public var limit: Int
    public var cursor: ClientCursor?

    /// Whether `q` is worth searching: at least 3 letters or digits.
    public static func isSearchable(_ text: String) -> Bool { ClientSearchTerm.isLongEnough(text) }

    public init(category: Client.Category? = nil, dueForFollowUp: Bool = false, limit: Int = 50, sort: Sort = .created) {
        self.category = category
        self.dueForFollowUp = dueForFollowUp
        self.limit = limit
        self.sort = sort
    }
}

public struct ClientPage: Sendable {
    public var items: [Client]
    /// The cursor of the next page; nil on the last one.
    public var nextCursor: String?
}

/// Where a page ends, in the list's sort order: the last row's sort key and id. Opaque to
/// callers (base64url); a cursor of one sort order is refused by another.
public struct ClientCursor: Sendable, Hashable {
    public var sort: ClientListQuery.Sort
    /// The sort key as text: a folded name, a date (or `-infinity`), a similarity; nil for `created`.
    public var key: String?
    public var id: UUID

    public func encoded() -> String {
        let text = [sort.rawValue, key ?? "", id.uuidString.lowercased()].joined(separator: "\n")
        return CursorText.encode(text)
    }

    public static func decode(_ cursor: String) -> ClientCursor? {
        guard let text = CursorText.decode(cursor, maximumLength: 1024) else { return nil }
        let parts = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard parts.count == 3, let sort = ClientListQuery.Sort(rawValue: String(parts[0])),
              let id = UUID(uuidString: String(parts[2]))
        else { return nil }
        let key = String(parts[1])
        switch sort {
        case .created: guard key.isEmpty else { return nil }
        case .name: break
        case .lastPurchase: guard key == "-infinity" || PostgresDate(key) != nil else { return nil }
        case .relevance: guard Float(key) != nil else { return nil }
        }
        return ClientCursor(sort: sort, key: sort == .created ? nil : key, id: id)
    }
}

extension ClientRepository {
    /// One page of the clients the actor may see, in one round trip. Only the filters given
    /// enter the SQL, so each list can use its index (see sql/tenant/0006_client_record.sql).
    public func list(_ query: ClientListQuery, as actor: Actor) async throws -> ClientPage {
        try actor.require(.readClients)
        if let cursor = query.cursor, cursor.sort != query.sort {
            throw ClientBaseError(.invalid, "this cursor belongs to sort=\(cursor.sort.rawValue); pass the same sort as the first page", field: "cursor")
        }
        var clients: [Client] = []
        var keys: [String?] = []
        func read(_ rows: PostgresRows) throws {
            for row in rows {
                clients.append(try Client(row: row))
                keys.append(query.sort == .created ? nil : try row.decode(String?.self, at: row.columnCount - 1))
            }
        }
        if query.sort == .relevance, query.search != nil {
            // Whole-word matches first, from an index in id order; the fuzzy ranking, which
            // must score every candidate, only when they do not fill the page.
            if query.cursor.map({ $0.key == Self.wholeWordKey }) ?? true {
                try read(try await database.tenantTransaction(actor.scope, [Self.listStatement(query, access: actor.access, tier: .wholeWords)])[0])
            }
            if clients.count <= query.limit {
                var rest = query
                rest.limit = query.limit - clients.count
                if query.cursor?.key == Self.wholeWordKey { rest.cursor = nil }
                try read(try await database.tenantTransaction(actor.scope, [
                    Self.similarityThreshold, Self.listStatement(rest, access: actor.access, tier: .fuzzy),
                ]).last!)
            }
        } else {
            var statements = [Self.listStatement(query, access: actor.access)]
            if query.search != nil { statements.insert(Self.similarityThreshold, at: 0) }
            try read(try await database.tenantTransaction(actor.scope, statements).last!)
        }
        var next: String?
        if clients.count > query.limit {
            clients.removeLast()
            let last = clients.count - 1
            next = ClientCursor(sort: query.sort, key: keys[last] ?? (query.sort == .created ? nil : ""), id: clients[last].id).encoded()
        }
        return ClientPage(items: clients, nextCursor: next)
    }

    /// How close (pg_trgm word similarity, 0 to 1) a word must be to `q` to match it.
    static let searchThreshold = 0.5

    /// pg_trgm's default (0.6) misses spellings like Lefèvre / Lefebvre (0.55).
    static let similarityThreshold: PostgresQuery =
        "SELECT set_config('pg_trgm.word_similarity_threshold', \(String(searchThreshold)), true)"

    /// The relevance sort key of a whole-word match: above every similarity (0 to 1).
    static let wholeWordKey = "2"

    /// The two parts of a relevance-sorted search, in order.
    enum RelevanceTier {
        /// Clients holding every word of `q` as a whole word (or, for a phone, a phone that
        /// starts with its digits), in id order.
        case wholeWords
        /// The other matches, by word similarity then id.
        case fuzzy
    }

    static func listStatement(_ query: ClientListQuery, access: ClientAccess, tier: RelevanceTier? = nil) -> PostgresQuery {
        var conditions: [PostgresQuery] = [access.condition()]
        if let kind = query.kind { conditions.append("kind = \(kind)") }
        if let category = query.category { conditions.append("category = \(category)") }
        if !query.tags.isEmpty {
            conditions.append("tags @> \(query.tags)")
            // A tag nobody carries (a typo, `fidele` for `fidèle`) is estimated at half the rarest
            // known tag, so PostgreSQL walks the list's order hoping to fill a page early and reads
            // every client; checked once first, an absent tag ends the statement at once. The
            // redundant `&&` lowers the check's own estimate, so that it reads the tags index
            // instead of scanning the table for a first match (0.2 ms against 340 ms at a million).
            conditions.append("EXISTS (SELECT 1 FROM clients t WHERE t.tags @> \(query.tags) AND t.tags && \(query.tags))")
        }
        if let city = query.city { conditions.append("extensions.fold(city) = extensions.fold(\(city))") }
        if let prefix = query.postalCodePrefix {
            // The rules let only letters, digits, spaces and dashes through: no LIKE wildcards.
            conditions.append("postal_code LIKE \(prefix + "%")")
        }
        if let user = query.assignedUserID { conditions.append("assigned_user_id = \(user)") }
        if let granted = query.consentSurveys { conditions.append(granted ? "consent_surveys" : "NOT consent_surveys") }
        if let granted = query.consentMarketing { conditions.append(granted ? "consent_marketing" : "NOT consent_marketing") }
        if let from = query.firstPurchaseFrom { conditions.append("first_purchase_on >= \(from)") }
        if let to = query.firstPurchaseTo { conditions.append("first_purchase_on <= \(to)") }
        if let from = query.lastPurchaseFrom { conditions.append("last_purchase_on >= \(from)") }
        if let to = query.lastPurchaseTo { conditions.append("last_purchase_on <= \(to)") }
        if query.dueForFollowUp {
            conditions.append("category = 'relative_non_consumer' AND follow_up_on <= current_date")
        }
        if let risk = query.minimumChurnRisk {
            conditions.append("EXISTS (SELECT 1 FROM churn_scores s WHERE s.client_id = clients.id AND s.score >= \(risk))")
        }
        var rank: PostgresQuery?
        if let search = query.search {
            let term = ClientSearchTerm(search)
            let fuzzy = term.nearMatches
            switch tier {
            case .wholeWords?:
                conditions.append(term.wholeWords)
            case .fuzzy?:
                conditions.append("(\(fragment: fuzzy)) AND NOT coalesce(\(fragment: term.wholeWords), false)")
            case nil:
                conditions.append("(\(fragment: term.wholeWords) OR \(fragment: fuzzy))")
            }
            rank = "extensions.word_similarity(\(fragment: term.folded), search_text)"
        }
        let sortKey: PostgresQuery
        let order: PostgresQuery
        switch query.sort {
        case .created:
            sortKey = "NULL::text"
            order = "id"
            if let cursor = query.cursor { conditions.append("id > \(cursor.id)") }
        case .name:
            sortKey = "sort_name"
            order = "sort_name, id"
            if let cursor = query.cursor { conditions.append("(sort_name, id) > (\(cursor.key ?? "") COLLATE \"C\", \(cursor.id))") }
        case .lastPurchase:
            sortKey = "coalesce(last_purchase_on, '-infinity'::date)::text"
            order = "coalesce(last_purchase_on, '-infinity'::date) DESC, id DESC"
            if let cursor = query.cursor {
                conditions.append("(coalesce(last_purchase_on, '-infinity'::date), id) < (\(cursor.key ?? "")::date, \(cursor.id))")
            }
        case .relevance where tier == .wholeWords:
            sortKey = "\(wholeWordKey)::text"
            order = "id"
            if let cursor = query.cursor { conditions.append("id > \(cursor.id)") }
        case .relevance:
            // Validated by the routes: relevance needs q.
            sortKey = "(\(fragment: rank ?? "0::real"))::text"
            order = "\(fragment: rank ?? "0::real") DESC, id"
            if let cursor = query.cursor {
                conditions.append("""
                    (\(fragment: rank ?? "0::real") < \(cursor.key ?? "0")::real
                     OR (\(fragment: rank ?? "0::real") = \(cursor.key ?? "0")::real AND id > \(cursor.id)))
                    """)
            }
        }
        var filter = conditions[0]
        for condition in conditions.dropFirst() { filter = "\(fragment: filter) AND \(fragment: condition)" }
        return """
            SELECT \(fragment: Client.columns), \(fragment: sortKey) FROM clients
            WHERE \(fragment: filter)
            ORDER BY \(fragment: order)
            LIMIT \(query.limit + 1)
            """
    }
}

/// What `q` is compared with: folded (lowercase, no accents) text, or for something that looks
/// like a phone number, its digits in the stored form (`+33 6 12` finds `06 12 34 56 78`).
struct ClientSearchTerm {
    let folded: PostgresQuery
    /// The same, with LIKE's wildcards escaped, for a substring match.
    let foldedPattern: PostgresQuery
    /// The whole-word match (an index of tenant migration 0015): every word of the folded
    /// term among the words of `search_text`; for a phone, a stored phone starting with its digits.
    let wholeWords: PostgresQuery
    /// The other matches: a close spelling (pg_trgm word similarity) or a substring; for a
    /// phone, a substring only (a number that merely looks like another is not a match, and
    /// ranking digits' trigrams took 100 ms at a million clients).
    let nearMatches: PostgresQuery

    init(_ text: String) {
        let phoneLike = text.allSatisfy { $0.isASCIIDigit || " +.-()".contains($0) } && text.contains(where: \.isASCIIDigit)
        if phoneLike {
            let digits = text.hasPrefix("+33") || text.hasPrefix("0033")
                ? "0" + text.filter(\.isASCIIDigit).dropFirst(text.hasPrefix("+") ? 2 : 4).drop { $0 == "0" }
                : text.filter(\.isASCIIDigit)
            folded = "\(digits)"
            foldedPattern = "\(digits)"
            wholeWords = "phone_normalised LIKE \(digits + "%")"
            nearMatches = "search_text LIKE '%' || \(fragment: foldedPattern) || '%'"
        } else {
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            folded = "extensions.fold(\(text))"
            foldedPattern = "extensions.fold(\(escaped))"
            // A term whose letters all fold away (no a-z or 0-9 left) has no words: no match here.
            let words: PostgresQuery = "array_remove(regexp_split_to_array(extensions.fold(\(text)), '[^a-z0-9]+'), '')"
            wholeWords = """
                (cardinality(\(fragment: words)) > 0 AND search_words @> \(fragment: words))
                """
            nearMatches = """
                \(fragment: folded) OPERATOR(extensions.<%) search_text
                OR search_text LIKE '%' || \(fragment: foldedPattern) || '%'
                """
        }
    }

    /// At least 3 letters or digits: shorter terms match too much to be a search.
    static func isLongEnough(_ text: String) -> Bool {
        text.filter { $0.isLetter || $0.isNumber }.count >= 3
    }
}
