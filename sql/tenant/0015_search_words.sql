-- Search (?q=) at scale: a common name (3,663 Dupont among a million clients) made pg_trgm score
-- every one of its thousands of candidates before the first page could be cut: seconds. Whole
-- words now come first, from these indexes, in id order; the fuzzy ranking runs only on what
-- they leave of the page (ClientSearch.swift).

-- The words of the folded names, legal names, emails and phones, split on anything but a-z and
-- 0-9. Stored, not an index expression: a recheck or a filter would split the text again for
-- every candidate (3 µs a row). Same expression as search_text: a generated column cannot read
-- another.
ALTER TABLE clients ADD COLUMN search_words text[] GENERATED ALWAYS AS (regexp_split_to_array(extensions.fold(
    coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
    coalesce(organisation_name, '') || ' ' || coalesce(trade_name, '') || ' ' ||
    coalesce(email, '') || ' ' || coalesce(phone_digits(phone), '')), '[^a-z0-9]+')) STORED;
CREATE INDEX clients_search_words ON clients USING gin (search_words);

-- A phone number by its first digits, in any collation.
CREATE INDEX clients_phone_prefix ON clients (phone_normalised text_pattern_ops) WHERE phone_normalised IS NOT NULL;
