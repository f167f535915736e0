-- Typos and parts of words (?q=) at scale. pg_trgm used to score `q` against the search text of
-- every client sharing a few trigrams with it: for `guerrin`, 12,000 clients, 130 ms of CPU a
-- request before any queueing. The tenant's distinct words are few (a few hundred names in a
-- million clients here), so the close spellings are now looked up among them, and the clients
-- holding those words read from the search_words index (ClientSearch.swift).

-- Every word of the clients' search_words made of 3 letters or more and no digit: phones and
-- numbered email local parts must be typed whole, and a shorter word matches too much.
-- Concurrent writers may each add one word: a duplicate is harmless and no writer waits.
CREATE TABLE search_lexicon (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    word text NOT NULL
);
CREATE INDEX search_lexicon_word ON search_lexicon (word);
CREATE INDEX search_lexicon_word_trgm ON search_lexicon USING gin (word extensions.gin_trgm_ops);

CREATE FUNCTION search_lexicon_add(words text[]) RETURNS void LANGUAGE sql SET search_path FROM CURRENT AS $$
    INSERT INTO search_lexicon (word)
    SELECT d.w FROM (SELECT DISTINCT w FROM unnest(words) AS w) d
    WHERE d.w ~ '^[a-z]{3,}$' AND NOT EXISTS (SELECT 1 FROM search_lexicon l WHERE l.word = d.w)
    ORDER BY d.w
$$;

-- A word no client holds any more leaves: an erased client's name must not stay behind.
CREATE FUNCTION search_lexicon_prune(words text[]) RETURNS void LANGUAGE sql SET search_path FROM CURRENT AS $$
    DELETE FROM search_lexicon l
    WHERE l.word = ANY (words) AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.search_words @> ARRAY[l.word])
$$;

-- Inserts and deletes are handled once a statement (an import inserts thousands of rows at a
-- time); an update once a row, and only when its words changed (most updates do not: purchase
-- dates, revision, category).
CREATE FUNCTION clients_lexicon_inserted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- search_lexicon_add's query, on the rows themselves: no array of every word is built.
    INSERT INTO search_lexicon (word)
    SELECT d.w FROM (SELECT DISTINCT w FROM new_rows n, unnest(n.search_words) AS w) d
    WHERE d.w ~ '^[a-z]{3,}$' AND NOT EXISTS (SELECT 1 FROM search_lexicon l WHERE l.word = d.w)
    ORDER BY d.w;
    RETURN NULL;
END $$;
CREATE TRIGGER clients_lexicon_insert AFTER INSERT ON clients
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION clients_lexicon_inserted();

CREATE FUNCTION clients_lexicon_updated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM search_lexicon_add(NEW.search_words);
    PERFORM search_lexicon_prune(ARRAY(SELECT unnest(OLD.search_words) EXCEPT SELECT unnest(NEW.search_words)));
    RETURN NULL;
END $$;
CREATE TRIGGER clients_lexicon_update AFTER UPDATE ON clients
    FOR EACH ROW WHEN (OLD.search_words IS DISTINCT FROM NEW.search_words) EXECUTE FUNCTION clients_lexicon_updated();

CREATE FUNCTION clients_lexicon_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM search_lexicon_prune(ARRAY(SELECT DISTINCT unnest(o.search_words) FROM old_rows o));
    RETURN NULL;
END $$;
CREATE TRIGGER clients_lexicon_delete AFTER DELETE ON clients
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION clients_lexicon_deleted();

SELECT search_lexicon_add(ARRAY(SELECT DISTINCT unnest(search_words) FROM clients));

-- Migration 0015 added search_words without statistics, and adding a column does not count as a
-- change for autovacuum: the planner guessed that 0.5% of clients hold any word, and a word
-- nobody holds walked the whole table in id order (640 ms at a million clients).
ANALYZE clients;
ANALYZE search_lexicon;
