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
        let text = [sort.rawValue, key ?? "", id.lowercaseText].joined(separator: "\n")
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
    /// One page of the clients the actor may see. Only the filters given enter the SQL, so each
    /// list can use its index (see sql/tenant/0006_client_record.sql). A list is one round trip;
    /// a search a few (ClientSearch+Relevance.swift).
    public func list(_ query: ClientListQuery, as actor: Actor) async throws -> ClientPage {
        try actor.require(.readClients)
        if let cursor = query.cursor, cursor.sort != query.sort {
            throw ClientBaseError(.invalid, "this cursor belongs to sort=\(cursor.sort.rawValue); pass the same sort as the first page", field: "cursor")
        }
        var page = ListedClients(sort: query.sort)
        if let search = query.search {
            let term = ClientSearchTerm(search)
            if query.sort == .relevance {
                try await searchByRelevance(query, term: term, as: actor, into: &page)
            } else {
                let spellings = term.isPhone ? nil : try await spellings(of: search, as: actor)
                let clause = SearchClause(condition: term.anyMatch(spellings))
                try page.read(try await database.tenantTransaction(actor.scope, [Self.listStatement(query, access: actor.access, search: clause)])[0])
            }
        } else {
            try page.read(try await database.tenantTransaction(actor.scope, [Self.listStatement(query, access: actor.access)])[0])
        }
        return page.page(limit: query.limit)
    }

    static func listStatement(_ query: ClientListQuery, access: ClientAccess, search: SearchClause? = nil) -> PostgresQuery {
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
        if let search { conditions.append(search.condition) }
        let sortKey: PostgresQuery
        let order: PostgresQuery
        switch (query.sort, search?.relevance) {
        case (.created, _), (.relevance, nil):  // relevance without a search is refused by the routes
            sortKey = "NULL::text"
            order = "id"
            if let cursor = query.cursor { conditions.append("id > \(cursor.id)") }
        case (.name, _):
            sortKey = "sort_name"
            order = "sort_name, id"
            if let cursor = query.cursor { conditions.append("(sort_name, id) > (\(cursor.key ?? "") COLLATE \"C\", \(cursor.id))") }
        case (.lastPurchase, _):
            sortKey = "coalesce(last_purchase_on, '-infinity'::date)::text"
            order = "coalesce(last_purchase_on, '-infinity'::date) DESC, id DESC"
            if let cursor = query.cursor {
                conditions.append("(coalesce(last_purchase_on, '-infinity'::date), id) < (\(cursor.key ?? "")::date, \(cursor.id))")
            }
        case (.relevance, .same(let key)?):
            // Every row of this part has the same relevance: id order, from an index.
            sortKey = "\(key)::text"
            order = "id"
            if let cursor = query.cursor { conditions.append("id > \(cursor.id)") }
        case (.relevance, .ranked(let rank)?):
            sortKey = "(\(fragment: rank))::text"
            order = "\(fragment: rank) DESC, id"
            if let cursor = query.cursor {
                conditions.append("""
                    (\(fragment: rank) < \(cursor.key ?? "0")::float8
                     OR (\(fragment: rank) = \(cursor.key ?? "0")::float8 AND id > \(cursor.id)))
                    """)
            }
        }
        let filter = PostgresQuery(joining: conditions, separator: " AND ")
        if case .same? = search?.relevance {
            // The ids first, then their rows: with only `q` to filter, the ids come from an
            // index-only scan of (id) INCLUDE (search_words) (tenant migration 0017), which
            // reads a common name's 14,000 candidates in 3 ms instead of 10 ms in the table.
            return """
                SELECT \(fragment: Client.columns), \(fragment: sortKey) FROM clients
                WHERE id IN (SELECT id FROM clients WHERE \(fragment: filter) ORDER BY id LIMIT \(query.limit + 1))
                ORDER BY id
                """
        }
        return """
            SELECT \(fragment: Client.columns), \(fragment: sortKey) FROM clients
            WHERE \(fragment: filter)
            ORDER BY \(fragment: order)
            LIMIT \(query.limit + 1)
            """
    }
}

/// What a search adds to a list statement.
struct SearchClause {
    var condition: PostgresQuery
    /// How relevance orders it: nil for the other sort orders.
    var relevance: Relevance?

    enum Relevance {
        /// The same for every row (the key of the cursor); rows in id order.
        case same(String)
        /// A float8 expression; rows by it, best first, then id.
        case ranked(PostgresQuery)
    }
}

/// The rows of a page as they are read, part after part, with their sort keys.
struct ListedClients {
    let sort: ClientListQuery.Sort
    var clients: [Client] = []
    var keys: [String?] = []

    init(sort: ClientListQuery.Sort) { self.sort = sort }

    var count: Int { clients.count }

    mutating func read(_ rows: PostgresRows) throws {
        for row in rows {
            clients.append(try Client(row: row))
            keys.append(sort == .created ? nil : try row.decode(String?.self, at: row.columnCount - 1))
        }
    }

    /// The page: `limit` rows, and a cursor when one more was read.
    func page(limit: Int) -> ClientPage {
        var items = clients
        var next: String?
        if items.count > limit {
            items.removeSubrange(limit...)
            let last = limit - 1
            next = ClientCursor(sort: sort, key: keys[last] ?? (sort == .created ? nil : ""), id: items[last].id).encoded()
        }
        return ClientPage(items: items, nextCursor: next)
    }
}

/// What `q` is compared with: the folded (lowercase, no accents) words of names, legal names
/// and emails, or for something that looks like a phone number, its digits in the stored form
/// (`+33 6 12` finds `06 12 34 56 78`).
struct ClientSearchTerm {
    /// The digits of a phone-like term; nil for words.
    let phoneDigits: String?
    /// The whole-word match (an index of tenant migration 0015): every word of the folded
    /// term among the client's `search_words`; for a phone, a stored phone starting with its digits.
    let wholeWords: PostgresQuery

    var isPhone: Bool { phoneDigits != nil }

    init(_ text: String) {
        let phoneLike = text.allSatisfy { $0.isASCIIDigit || " +.-()".contains($0) } && text.contains(where: \.isASCIIDigit)
        if phoneLike {
            let digits = text.hasPrefix("+33") || text.hasPrefix("0033")
                ? "0" + text.filter(\.isASCIIDigit).dropFirst(text.hasPrefix("+") ? 2 : 4).drop { $0 == "0" }
                : text.filter(\.isASCIIDigit)
            phoneDigits = digits
            wholeWords = "phone_normalised LIKE \(digits + "%")"
        } else {
            phoneDigits = nil
            // A term whose letters all fold away (no a-z or 0-9 left) has no words: no match here.
            let words: PostgresQuery = "array_remove(regexp_split_to_array(extensions.fold(\(text)), '[^a-z0-9]+'), '')"
            // Several words may be one name held whole (tenant migration 0021: its words joined by
            // a space): asking for it too changes no match, but lets PostgreSQL see how many hold
            // words that go together. For one word that arm is folded away when the statement is
            // planned. (Not search_phrase(q): inlining it cost 0.15 ms of planning a search.)
            wholeWords = """
                (cardinality(\(fragment: words)) > 0
                 AND ((cardinality(\(fragment: words)) > 1 AND search_words @> ARRAY[array_to_string(\(fragment: words), ' ')])
                      OR search_words @> \(fragment: words)))
                """
        }
    }

    /// What matches beyond whole words: a phone holding the digits anywhere (a trigram index of
    /// tenant migration 0018), or a client holding a close spelling of every word of `q`; nil
    /// when nothing can.
    func nearMatches(_ spellings: SearchSpellings?) -> PostgresQuery? {
        if let digits = phoneDigits { return "phone_normalised LIKE \("%" + digits + "%")" }
        guard let spellings, spellings.canMatch else { return nil }
        return spellings.condition
    }

    /// The second part of a relevance search: near matches that are not whole-word ones.
    func nearOnly(_ nearMatches: PostgresQuery) -> PostgresQuery {
        "\(fragment: nearMatches) AND NOT coalesce(\(fragment: wholeWords), false)"
    }

    /// A phone's near matches, ranked by how much of the number the digits cover. Not by
    /// similarity: a number that merely looks like another is not a match, and ranking digits'
    /// trigrams took 100 ms at a million clients.
    var phoneNearMatches: SearchClause? {
        guard let digits = phoneDigits, let near = nearMatches(nil) else { return nil }
        return SearchClause(condition: nearOnly(near), relevance: .ranked("extensions.word_similarity(\(digits), phone_normalised)::float8"))
    }

    /// Any match, whole words or near ones, for the sort orders other than relevance.
    func anyMatch(_ spellings: SearchSpellings?) -> PostgresQuery {
        guard let near = nearMatches(spellings) else { return wholeWords }
        return "(\(fragment: wholeWords) OR (\(fragment: near)))"
    }

    /// At least 3 letters or digits: shorter terms match too much to be a search.
    static func isLongEnough(_ text: String) -> Bool {
        text.filter { $0.isLetter || $0.isNumber }.count >= 3
    }
}
