-- The tenant migrations released so far, with their checksums. `migrate` compares the files
-- against this list before touching any tenant, so an edited migration is refused even when
-- every tenant has already applied it.
CREATE TABLE platform.tenant_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    released_at timestamptz NOT NULL DEFAULT now()
);
