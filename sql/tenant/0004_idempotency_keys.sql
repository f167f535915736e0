-- Safe retries: a POST sent again with the same Idempotency-Key gets the first response and
-- changes nothing. Kept 24 hours.
CREATE TABLE idempotency_keys (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text        NOT NULL,
    route           text        NOT NULL,
    request_hash    text        NOT NULL,
    status          integer     NOT NULL,
    location        text,
    etag            text,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (idempotency_key, route)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
