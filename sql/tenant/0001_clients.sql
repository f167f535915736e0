-- The client record: who the client is and where they stand (DOMAIN.md sections 1 and 2).
-- Ids are UUIDv7 made by the server: time-ordered, so id order is creation order.
CREATE TABLE clients (
    id                uuid        PRIMARY KEY,
    kind              text        NOT NULL CHECK (kind IN ('individual', 'business', 'public_body')),
    category          text        NOT NULL CHECK (category IN (
                                      'prospect', 'actual_client', 'competitor_client',
                                      'relative_non_consumer', 'absolute_non_consumer',
                                      'prescriber', 'former_client')),
    first_name        text,
    last_name         text,
    organisation_name text,
    email             text,
    phone             text,
    city              text,
    postal_code       text,
    external_ref      text        UNIQUE,  -- the client's id in another system (till, accounting)
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX clients_category ON clients (category, id);
