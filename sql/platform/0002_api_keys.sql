-- API keys: `ck_<key_id>_<secret>`. Only a SHA-256 of the secret is kept; the key id is the
-- public half used to find the row. A key names its tenant and carries a role.
CREATE TABLE platform.api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint      NOT NULL REFERENCES platform.tenants (id),
    key_id       text        NOT NULL UNIQUE,
    secret_hash  text        NOT NULL,  -- hex SHA-256 of the secret
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role         text        NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'admin', 'manager', 'agent', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE INDEX api_keys_tenant ON platform.api_keys (tenant_id);
