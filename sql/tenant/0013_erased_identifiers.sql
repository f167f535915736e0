-- An erased person must not come back by a routine import (a till's nightly export still holds
-- them). Erasure keeps, for each of their identifiers (email, phone digits, SIREN), a salted
-- SHA-256 digest and nothing else: enough to recognise the identifier when it is offered again,
-- not to read it back. The salt is the tenant's own, so digests match nothing across tenants.
CREATE TABLE erasure_salt (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    salt text    NOT NULL DEFAULT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
);
INSERT INTO erasure_salt DEFAULT VALUES;

CREATE TABLE erased_identifiers (
    digest    text        PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
    erased_at timestamptz NOT NULL DEFAULT now()
);

-- p_key as the importer writes it: 'email x@y.fr', 'phone 0612345678', 'siren 123456789'.
CREATE FUNCTION erased_identifier_digest(p_key text) RETURNS text
    LANGUAGE sql STABLE STRICT
    RETURN encode(sha256(convert_to((SELECT salt FROM erasure_salt) || ' ' || p_key, 'UTF8')), 'hex');
