-- People of a business who log in. They sit in the platform catalogue beside the API keys:
-- authentication must find them before any tenant is known. Emails are stored lowercased,
-- passwords only as bcrypt hashes; an invited user has no password until they accept.
CREATE TABLE platform.users (
    id            uuid        PRIMARY KEY,
    tenant_id     bigint      NOT NULL REFERENCES platform.tenants (id),
    email         text        NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name          text        CHECK (length(name) <= 200),
    role          text        NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'agent', 'viewer')),
    status        text        NOT NULL DEFAULT 'invited' CHECK (status IN ('invited', 'active', 'disabled')),
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    UNIQUE (tenant_id, email),
    CHECK (status = 'invited' OR password_hash IS NOT NULL)
);

-- An invitation: `ci_<id>_<secret>`, sent to the person once, stored as a SHA-256.
CREATE TABLE platform.invitations (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_id    text        NOT NULL UNIQUE,
    secret_hash text        NOT NULL,
    user_id     uuid        NOT NULL REFERENCES platform.users (id) ON DELETE CASCADE,
    invited_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz
);

CREATE INDEX invitations_user ON platform.invitations (user_id);

-- A login session: `cs_<id>_<secret>`, stored as a SHA-256, expiring, revocable.
CREATE TABLE platform.sessions (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  text        NOT NULL UNIQUE,
    secret_hash text        NOT NULL,
    user_id     uuid        NOT NULL REFERENCES platform.users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE INDEX sessions_user ON platform.sessions (user_id);
CREATE INDEX sessions_expires ON platform.sessions (expires_at);

-- An API key may act for a user (an agent's key sees that agent's clients); it stops with them.
ALTER TABLE platform.api_keys ADD COLUMN user_id uuid REFERENCES platform.users (id) ON DELETE CASCADE;

-- Failed logins in the current window, per account-and-email and per address: the database
-- keeps them so every server process enforces the same limit.
CREATE TABLE platform.login_failures (
    throttle_key   text        PRIMARY KEY,
    failures       integer     NOT NULL,
    window_started timestamptz NOT NULL
);
