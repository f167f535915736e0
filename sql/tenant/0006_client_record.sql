-- The whole client record (DOMAIN.md section 2), duplicate detection, custom fields, and the
-- columns and indexes behind search and lists.

-- Phone numbers as digits only, French numbers in their national form, so that
-- "06 12 34 56 78", "+33 6 12 34 56 78" and "0033 (0)6 12 34 56 78" are one number.
CREATE FUNCTION phone_digits(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN regexp_replace(regexp_replace($1, '\D', '', 'g'), '^(00)?330?([1-9][0-9]{8})$', '0\2');

-- Emails are kept lowercased from now on (duplicates are matched on them as stored).
UPDATE clients SET email = lower(email) WHERE email <> lower(email);

ALTER TABLE clients
    -- Identification
    ADD COLUMN address_line1        text,
    ADD COLUMN address_line2        text,
    ADD COLUMN website              text,
    ADD COLUMN trade_name           text,
    ADD COLUMN activity             text,
    ADD COLUMN siren                text CHECK (siren ~ '^[0-9]{9}$'),
    -- Qualification: organisations
    ADD COLUMN sector               text,
    ADD COLUMN headcount            integer CHECK (headcount >= 0),
    ADD COLUMN legal_form           text,
    ADD COLUMN revenue              numeric(16, 2) CHECK (revenue >= 0),
    ADD COLUMN establishments_count integer CHECK (establishments_count >= 1),
    -- Qualification: individuals
    ADD COLUMN birth_date           date,
    ADD COLUMN marital_status       text,
    ADD COLUMN children_count       integer CHECK (children_count >= 0),
    ADD COLUMN housing              text,
    ADD COLUMN occupation           text,
    ADD COLUMN income_bracket       text,
    -- Free labels and notes, and the tenant's own typed fields (see custom_fields below)
    ADD COLUMN tags                 text[] NOT NULL DEFAULT '{}',
    ADD COLUMN free_notes           text,  -- "notes" in JSON
    ADD COLUMN custom_fields        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom_fields) = 'object'),
    -- Needs, motivations, brakes and objections: controlled values (checked by the server)
    ADD COLUMN needs                text[] NOT NULL DEFAULT '{}',
    ADD COLUMN motivations          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN brakes               text[] NOT NULL DEFAULT '{}',
    ADD COLUMN objections           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN purchase_stage       text,
    -- Acquisition and seniority; last_purchase_on is kept up to date by purchases
    ADD COLUMN acquisition_channel  text,
    ADD COLUMN acquisition_cost     numeric(16, 2) CHECK (acquisition_cost >= 0),
    ADD COLUMN first_purchase_on    date,
    ADD COLUMN last_purchase_on     date,
    -- Consent (RGPD): granted or not, when and how it was given or withdrawn
    ADD COLUMN consent_surveys            boolean NOT NULL DEFAULT false,
    ADD COLUMN consent_surveys_at         timestamptz,
    ADD COLUMN consent_surveys_source     text,
    ADD COLUMN consent_marketing          boolean NOT NULL DEFAULT false,
    ADD COLUMN consent_marketing_at       timestamptz,
    ADD COLUMN consent_marketing_source   text,
    -- Derived, for duplicates, sorting and search
    ADD COLUMN phone_normalised     text GENERATED ALWAYS AS (phone_digits(phone)) STORED,
    ADD COLUMN sort_name            text COLLATE "C" GENERATED ALWAYS AS (extensions.fold(
        CASE WHEN kind = 'individual'
             THEN trim(coalesce(last_name, '') || ' ' || coalesce(first_name, ''))
             ELSE coalesce(organisation_name, '') END)) STORED,
    ADD COLUMN search_text          text GENERATED ALWAYS AS (extensions.fold(
        coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
        coalesce(organisation_name, '') || ' ' || coalesce(trade_name, '') || ' ' ||
        coalesce(email, '') || ' ' || coalesce(phone_digits(phone), ''))) STORED;

-- Duplicate detection on create and the duplicates of a client: equality on each identifier.
CREATE INDEX clients_email ON clients (email) WHERE email IS NOT NULL;
CREATE INDEX clients_phone_normalised ON clients (phone_normalised) WHERE phone_normalised IS NOT NULL;
CREATE INDEX clients_siren ON clients (siren) WHERE siren IS NOT NULL;
-- Similar names (pg_trgm similarity) for the duplicates of a client.
CREATE INDEX clients_sort_name_trgm ON clients USING gin (sort_name extensions.gin_trgm_ops);
-- Search (?q=): word similarity and substring match on the folded names, emails and phones.
CREATE INDEX clients_search_text_trgm ON clients USING gin (search_text extensions.gin_trgm_ops);

-- Sort orders, each an index in the order of its keyset cursor:
-- sort=created is the primary key; sort=name is (sort_name, id);
-- sort=last_purchase is most recent first, never-bought last, id descending.
CREATE INDEX clients_sort_name ON clients (sort_name, id);
CREATE INDEX clients_last_purchase ON clients ((coalesce(last_purchase_on, '-infinity'::date)) DESC, id DESC);

-- Filters: kind and postal-code prefix in id order; city accent- and case-blind; tags (all of);
-- seniority and last-purchase ranges; consent granted (rare, so partial).
-- category and assigned_user_id already have (category, id) and (assigned_user_id, id).
CREATE INDEX clients_kind ON clients (kind, id);
CREATE INDEX clients_postal_code ON clients (postal_code text_pattern_ops) WHERE postal_code IS NOT NULL;
CREATE INDEX clients_city ON clients (extensions.fold(city)) WHERE city IS NOT NULL;
CREATE INDEX clients_tags ON clients USING gin (tags);
CREATE INDEX clients_first_purchase ON clients (first_purchase_on) WHERE first_purchase_on IS NOT NULL;
CREATE INDEX clients_last_purchase_on ON clients (last_purchase_on) WHERE last_purchase_on IS NOT NULL;
CREATE INDEX clients_consent_surveys ON clients (id) WHERE consent_surveys;
CREATE INDEX clients_consent_marketing ON clients (id) WHERE consent_marketing;

-- What each trade needs on top of the record: the tenant defines typed fields, and a client's
-- custom_fields object is checked against these definitions by the server.
CREATE TABLE custom_fields (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        text        NOT NULL UNIQUE CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    label      text        NOT NULL,
    type       text        NOT NULL CHECK (type IN ('text', 'number', 'date', 'boolean', 'choice')),
    choices    text[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'choice') = (cardinality(choices) > 0))
);
