-- Periodic jobs. A schedule is a row holding its next firing time: the scheduler locks due rows
-- (FOR UPDATE SKIP LOCKED), enqueues each tick and advances next_run_at in one transaction, so
-- a tick fires once however many processes run the scheduler, with no leader.

-- A tenant's wall clock: its schedules read their cron expressions in this zone.
ALTER TABLE platform.tenants ADD COLUMN time_zone text NOT NULL DEFAULT 'Europe/Paris'
    CHECK (length(time_zone) BETWEEN 1 AND 64);

CREATE TABLE platform.job_schedules (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint      REFERENCES platform.tenants (id),  -- null for platform schedules
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind        text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    payload     jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    cron        text        NOT NULL CHECK (length(cron) BETWEEN 1 AND 200),
    time_zone   text        CHECK (length(time_zone) BETWEEN 1 AND 64),  -- null: the tenant's zone
    next_run_at timestamptz,  -- null: never fires again
    last_run_at timestamptz,  -- the scheduled time of the last tick fired
    enabled     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- One schedule per name in a tenant, and among platform schedules.
    UNIQUE NULLS NOT DISTINCT (tenant_id, name)
);

-- What the scheduler scans: enabled schedules in due order.
CREATE INDEX job_schedules_due ON platform.job_schedules (next_run_at) WHERE enabled;
