-- Search (?q=) at scale: a common name (3,663 Dupont among a million clients) made pg_trgm score
-- every one of its thousands of candidates before the first page could be cut: seconds. Whole
-- words now come first, from these indexes, in id order; the fuzzy ranking runs only on what
-- they leave of the page (ClientSearch.swift).

-- The words of the folded names, legal names, emails and phones (split on anything but a-z, 0-9).
CREATE INDEX IF NOT EXISTS clients_search_words ON clients USING gin (regexp_split_to_array(search_text, '[^a-z0-9]+'));

-- A phone number by its first digits, in any collation.
CREATE INDEX IF NOT EXISTS clients_phone_prefix ON clients (phone_normalised text_pattern_ops) WHERE phone_normalised IS NOT NULL;
