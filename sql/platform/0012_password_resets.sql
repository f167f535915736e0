-- A forgotten password: a request makes a row (at most 3 per user and hour, counted here), and
-- the job that emails the link gives it its token, `cr_<id>_<secret>`, stored as a SHA-256 like
-- the other tokens (the secret never sits in the job's payload). It can be used once, until
-- `expires_at` (one hour after the request); using it, or any reset of the user, ends the rest.
CREATE TABLE platform.password_resets (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES platform.users (id) ON DELETE CASCADE,
    tenant_id   bigint      NOT NULL REFERENCES platform.tenants (id),
    token_id    text        UNIQUE,
    secret_hash text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CHECK ((token_id IS NULL) = (secret_hash IS NULL))
);

-- The per-user and per-account caps count the last hour's requests along these.
CREATE INDEX password_resets_user ON platform.password_resets (user_id, created_at);
CREATE INDEX password_resets_tenant ON platform.password_resets (tenant_id, created_at);

COMMENT ON TABLE platform.login_failures IS
    'Throttle counters in a window, by key: failed logins (login:, address:), wrong current passwords (password:), password reset requests per address (reset-address:).';
