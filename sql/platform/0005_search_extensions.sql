-- Search that tolerates accents and typos: unaccent and pg_trgm (both trusted extensions, so
-- the database owner may install them). They live in their own schema, which every tenant
-- role may use; tenant SQL names them qualified (`extensions.similarity`, `extensions.fold`).
CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO PUBLIC;
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions;

-- Lowercase without accents, immutable so it can be indexed ("Hélène" and "helene" meet).
CREATE FUNCTION extensions.fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(extensions.unaccent('extensions.unaccent'::regdictionary, $1));
