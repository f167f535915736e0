-- The job queue (no Redis): workers claim due jobs with FOR UPDATE SKIP LOCKED, hold them
-- under a lease they renew, and a job whose worker died is rescued when its lease runs out.
CREATE TABLE platform.jobs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint      REFERENCES platform.tenants (id),  -- null for platform-wide jobs
    kind         text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    payload      jsonb       NOT NULL DEFAULT '{}',
    state        text        NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'dead')),
    attempts     integer     NOT NULL DEFAULT 0,
    max_attempts integer     NOT NULL DEFAULT 10 CHECK (max_attempts >= 1),
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_by    text,
    locked_until timestamptz,
    last_error   text,
    unique_key   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- What a worker scans: only queued jobs, in due order.
CREATE INDEX jobs_due ON platform.jobs (run_at, id) WHERE state = 'queued';
-- What the rescuer scans: only running jobs, by lease end.
CREATE INDEX jobs_leases ON platform.jobs (locked_until) WHERE state = 'running';
-- One pending job per unique key (a survey already scheduled is not scheduled twice).
CREATE UNIQUE INDEX jobs_pending_unique_key ON platform.jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('queued', 'running');
