import Postgres

/// A search in relevance order (`sort=relevance`, the default with `q`), in parts, best first:
/// 1. whole words: clients holding every word of `q` (for a phone, a phone starting with its
///    digits), in id order, from an index;
/// 2. the rest, when the page is not full: for one word, the clients holding one of its close
///    spellings, a spelling at a time, best first, each in id order (every client of one
///    spelling is as relevant as the next); for several words, the clients holding a spelling
///    of each, ranked; for a phone, the phones holding its digits, ranked.
/// A cursor carries the part's relevance, so the next page resumes in the right part.
extension ClientRepository {
    /// The relevance of every whole-word match: above every similarity (0 to 1).
    static let wholeWordKey = "2"

    /// How close (pg_trgm word similarity, 0 to 1) a lexicon word must be to a word of `q`.
    /// pg_trgm's default (0.6) misses spellings like Lefèvre / Lefebvre (0.55).
    static let searchThreshold = 0.5

    /// The settings of the spelling lookup, for the rest of its transaction: the threshold, and
    /// the lookup's generic plan (its words come from `unnest`, which no custom plan sees into;
    /// planning it again each time was 0.1 ms of every search's first page).
    static let similarityThreshold: PostgresQuery = ("""
        SELECT set_config('pg_trgm.word_similarity_threshold', \(String(searchThreshold)), true),
               set_config('plan_cache_mode', 'force_generic_plan', true)
        """ as PostgresQuery).prepared()

    /// The close spellings of the words of `q` (one round trip).
    func spellings(of text: String, as actor: Actor) async throws -> SearchSpellings {
        try SearchSpellings(rows: try await database.tenantTransaction(actor.scope, [Self.similarityThreshold, SearchSpellings.lookup(text)])[1])
    }

    func searchByRelevance(_ query: ClientListQuery, term: ClientSearchTerm, as actor: Actor, into page: inout ListedClients) async throws {
        let text = query.search ?? ""
        let cursorKey = query.cursor.map { $0.key ?? "" }
        var spellings: SearchSpellings?
        if cursorKey == nil || cursorKey == Self.wholeWordKey {
            // The spellings travel with the first part: the second usually needs them.
            var statements = [Self.listStatement(query, access: actor.access, search: SearchClause(condition: term.wholeWords, relevance: .same(Self.wholeWordKey)))]
            if !term.isPhone { statements += [Self.similarityThreshold, SearchSpellings.lookup(text)] }
            let rows = try await database.tenantTransaction(actor.scope, statements)
            try page.read(rows[0])
            if !term.isPhone { spellings = try SearchSpellings(rows: rows[2]) }
        }
        guard page.count <= query.limit else { return }
        var rest = query
        if cursorKey == Self.wholeWordKey { rest.cursor = nil }

        if let clause = term.phoneNearMatches {
            rest.limit = query.limit - page.count
            try page.read(try await database.tenantTransaction(actor.scope, [Self.listStatement(rest, access: actor.access, search: clause)])[0])
            return
        }
        if spellings == nil { spellings = try await self.spellings(of: text, as: actor) }
        guard let spellings, spellings.canMatch else { return }

        if spellings.words.count > 1 {
            rest.limit = query.limit - page.count
            let clause = SearchClause(condition: term.nearOnly(spellings.condition), relevance: .ranked(spellings.rank))
            try page.read(try await database.tenantTransaction(actor.scope, [Self.listStatement(rest, access: actor.access, search: clause)])[0])
            return
        }
        // One word: a spelling's clients are those that hold no better one (nor the word itself).
        var better = [spellings.words[0].word]
        let resumeAt = rest.cursor.flatMap { Double($0.key ?? "") }
        for level in spellings.levels {
            defer { better += level.words }
            var part = rest
            if let resumeAt {
                if level.similarity > resumeAt { continue }  // read by earlier pages
                if level.similarity < resumeAt { part.cursor = nil }
            }
            part.limit = query.limit - page.count
            let clause = SearchClause(
                condition: "search_words && \(level.words) AND NOT search_words && \(better)",
                relevance: .same(String(level.similarity)))
            try page.read(try await database.tenantTransaction(actor.scope, [Self.listStatement(part, access: actor.access, search: clause)])[0])
            if page.count > query.limit { return }
        }
    }
}
