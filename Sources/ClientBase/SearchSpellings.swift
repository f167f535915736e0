import Postgres

/// The words of the tenant's lexicon (tenant migration 0016) that stand for each word of `q`:
/// the word itself, a close spelling (pg_trgm word similarity), or a longer word holding it.
/// A search looks these words up first, then reads the clients holding them from the
/// `search_words` index, instead of scoring every client that shares trigrams with `q`.
struct SearchSpellings: Sendable {
    struct Spelling: Sendable {
        var word: String
        /// 1 for the word itself; else its word similarity to the word of `q` (0.5 to 1).
        var similarity: Double
    }

    /// For each word of folded `q`, in order: the word and what may stand for it, best first.
    /// A word of fewer than 3 letters or holding a digit stands for itself only; a longer one
    /// that no lexicon word comes close to has none (then nothing but whole words matches).
    var words: [(word: String, spellings: [Spelling])]

    /// At most this many lexicon words stand for one word of `q`: a prefix such as `mar` holds
    /// in hundreds of names, and each one more is another set of clients to read.
    static let closestWords = 16

    /// Needs `pg_trgm.word_similarity_threshold` set in the transaction (ClientRepository).
    /// Prepared: one text for every `q`, whose words the plan cannot see anyway (they come from
    /// `unnest`); parsing and planning it cost 0.25 ms of each search's first page.
    static func lookup(_ text: String) -> PostgresQuery {
        let query: PostgresQuery = """
        SELECT q.i::int, q.w, q.w ~ '^[a-z]{3,}$', l.word, l.similarity
        FROM unnest(array_remove(regexp_split_to_array(extensions.fold(\(text)), '[^a-z0-9]+'), ''))
             WITH ORDINALITY AS q (w, i)
        LEFT JOIN LATERAL (
            SELECT x.word, extensions.word_similarity(q.w, x.word)::float8 AS similarity
            FROM search_lexicon x
            WHERE q.w ~ '^[a-z]{3,}$'
              AND (q.w OPERATOR(extensions.<%) x.word OR x.word LIKE '%' || q.w || '%')
            GROUP BY x.word
            ORDER BY 2 DESC, length(x.word), x.word
            LIMIT \(closestWords)
        ) l ON true
        ORDER BY q.i, l.similarity DESC, length(l.word), l.word
        """
        return query.prepared()
    }

    init(rows: PostgresRows) throws {
        var words: [(word: String, spellings: [Spelling])] = []
        var current = 0
        for row in rows {
            let index = try row.decode(Int.self, at: 0)
            if index != current {
                current = index
                let word = try row.decode(String.self, at: 1)
                let inLexicon = try row.decode(Bool.self, at: 2)
                words.append((word, inLexicon ? [] : [Spelling(word: word, similarity: 1)]))
            }
            if let spelling = try row.decode(String?.self, at: 3), let similarity = try row.decode(Double?.self, at: 4) {
                words[words.count - 1].spellings.append(Spelling(word: spelling, similarity: similarity))
            }
        }
        self.words = words
    }

    /// Whether some client may match beyond whole words: every word of `q` has a spelling.
    var canMatch: Bool { !words.isEmpty && words.allSatisfy { !$0.spellings.isEmpty } }

    /// Clients holding, for every word of `q`, one of the words that stand for it.
    var condition: PostgresQuery {
        var condition: PostgresQuery = "TRUE"
        for word in words {
            condition = "\(fragment: condition) AND search_words && \(word.spellings.map(\.word))"
        }
        return condition
    }

    /// A client's relevance (0 to 1): the mean, over the words of `q`, of the similarity of
    /// the best word standing for it that the client holds.
    var rank: PostgresQuery {
        var sum: PostgresQuery = "0"
        for word in words {
            sum = """
                \(fragment: sum) + (SELECT coalesce(max(t.s), 0) FROM unnest(\(word.spellings.map(\.word))::text[],
                    \(word.spellings.map(\.similarity))::float8[]) AS t (w, s) WHERE t.w = ANY (search_words))
                """
        }
        return "((\(fragment: sum)) / \(Double(max(words.count, 1))))"
    }

    /// For a one-word `q`: its spellings other than itself grouped by similarity, best first.
    /// Every client in a group has the same relevance, so each group is read in id order, from
    /// an index, until the page is full; nobody is scored.
    var levels: [(similarity: Double, words: [String])] {
        guard words.count == 1 else { return [] }
        let word = words[0].word
        var levels: [(similarity: Double, words: [String])] = []
        for spelling in words[0].spellings where spelling.word != word {
            if levels.last?.similarity == spelling.similarity {
                levels[levels.count - 1].words.append(spelling.word)
            } else {
                levels.append((spelling.similarity, [spelling.word]))
            }
        }
        return levels
    }
}
