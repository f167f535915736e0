-- A search of words that belong together, such as "le goff" (4,786 of a million clients hold
-- both words, always as one name), was read as if the words were unrelated: PostgreSQL
-- multiplies the words' frequencies, guessed 99 clients, and fetched all 4,786 from the table
-- to sort them (4.8 ms) instead of reading the first page in id order (1.8 ms). Each name of
-- several words is now also kept whole, as one more element of search_words, and a search of
-- several words asks for that phrase OR the words (ClientSearch.swift): the phrase has a
-- frequency of its own, so the estimate is right. Matches are the same: a phrase's words are
-- all among the client's words.

-- A name of several words (letters and digits in runs apart), folded, its words joined by one
-- space; NULL for a name of one word (or none). A search joins its words the same way. Not
-- STRICT: PostgreSQL inlines a strict SQL function only if its body is strict too, and a CASE is
-- not; called as a function, it cost 4 calls of the SQL-function executor a client written.
CREATE FUNCTION search_phrase(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN $1 ~ '[[:alnum:]][^[:alnum:]]+[[:alnum:]]'
                THEN btrim(regexp_replace(extensions.fold($1), '[^a-z0-9]+', ' ', 'g')) END;

-- A generated column's expression cannot be altered in PostgreSQL 15: the column is made again,
-- with its indexes and the trigger whose condition reads it. The lexicon keeps its words (a
-- phrase holds a space, so it never enters the lexicon).
DROP TRIGGER clients_lexicon_update ON clients;
ALTER TABLE clients DROP COLUMN search_words;
ALTER TABLE clients ADD COLUMN search_words text[] GENERATED ALWAYS AS (regexp_split_to_array(extensions.fold(
    coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
    coalesce(organisation_name, '') || ' ' || coalesce(trade_name, '') || ' ' ||
    coalesce(email, '') || ' ' || coalesce(phone_digits(phone), '')), '[^a-z0-9]+')
    || array_remove(ARRAY[search_phrase(first_name), search_phrase(last_name),
                          search_phrase(organisation_name), search_phrase(trade_name)], NULL)) STORED;
CREATE INDEX clients_search_words ON clients USING gin (search_words);
CREATE INDEX clients_id_search_words ON clients (id) INCLUDE (search_words);
CREATE TRIGGER clients_lexicon_update AFTER UPDATE ON clients
    FOR EACH ROW WHEN (OLD.search_words IS DISTINCT FROM NEW.search_words) EXECUTE FUNCTION clients_lexicon_updated();
ANALYZE clients;
