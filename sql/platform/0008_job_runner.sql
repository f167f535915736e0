-- The job runner, second shape.
--
-- 1. Finished jobs leave the table workers claim from. platform.jobs keeps queued and running
--    jobs only, so it stays small however long history grows; platform.job_history keeps
--    succeeded, discarded and cancelled jobs until they are pruned.
-- 2. A job out of attempts is "discarded" (was "dead"), and keeps every error it met.
-- 3. Unique keys are per tenant: one tenant's key never blocks another tenant's job.
-- 4. Workers take due jobs tenant by tenant (an index in tenant order), so one tenant's backlog
--    cannot starve the others.
-- 5. Tenant transactions enqueue through a function that takes the tenant from the role the
--    transaction runs as: a tenant can only enqueue its own jobs, and a job exists only if the
--    data change that caused it commits.

ALTER TABLE platform.jobs
    ADD COLUMN started_at timestamptz,
    ADD COLUMN errors     jsonb NOT NULL DEFAULT '[]';

CREATE TABLE platform.job_history (
    id           bigint      PRIMARY KEY,
    tenant_id    bigint,                 -- no foreign key: history outlives a deleted tenant's rows
    kind         text        NOT NULL,
    payload      jsonb       NOT NULL,
    state        text        NOT NULL CHECK (state IN ('succeeded', 'discarded', 'cancelled')),
    attempts     integer     NOT NULL,
    max_attempts integer     NOT NULL,
    run_at       timestamptz NOT NULL,
    started_at   timestamptz,
    created_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    last_error   text,
    errors       jsonb       NOT NULL DEFAULT '[]',
    unique_key   text
);

INSERT INTO platform.job_history
    (id, tenant_id, kind, payload, state, attempts, max_attempts, run_at, created_at, finished_at, last_error, unique_key)
SELECT id, tenant_id, kind, payload, CASE state WHEN 'dead' THEN 'discarded' ELSE state END,
       attempts, max_attempts, run_at, created_at, coalesce(finished_at, now()), last_error, unique_key
FROM platform.jobs WHERE state NOT IN ('queued', 'running');
DELETE FROM platform.jobs WHERE state NOT IN ('queued', 'running');

ALTER TABLE platform.jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE platform.jobs ADD CONSTRAINT jobs_state_check CHECK (state IN ('queued', 'running'));
ALTER TABLE platform.jobs DROP COLUMN finished_at;

-- Pruning walks finished_at; tenants list their own jobs newest first.
CREATE INDEX job_history_finished ON platform.job_history (finished_at);
CREATE INDEX job_history_tenant ON platform.job_history (tenant_id, id DESC);

DROP INDEX platform.jobs_pending_unique_key;
CREATE UNIQUE INDEX jobs_unique_key ON platform.jobs (coalesce(tenant_id, 0), unique_key)
    WHERE unique_key IS NOT NULL;

-- Due jobs in tenant order (platform jobs are tenant 0): the fair claim skips from tenant to
-- tenant along it and takes each tenant's oldest due jobs.
DROP INDEX platform.jobs_due;
CREATE INDEX jobs_due ON platform.jobs (coalesce(tenant_id, 0), run_at, id) WHERE state = 'queued';

-- In a schema of its own that every role may use: tenant roles have no access to platform.
CREATE SCHEMA platform_api;
GRANT USAGE ON SCHEMA platform_api TO PUBLIC;

CREATE FUNCTION platform_api.enqueue_job(
    p_kind text, p_payload jsonb, p_run_at timestamptz, p_max_attempts integer, p_unique_key text
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_tenant bigint;
    v_id bigint;
BEGIN
    -- Inside a SECURITY DEFINER function current_user is the owner; the role the transaction
    -- set (SET LOCAL ROLE, which PostgreSQL only allows to a member) is still in the setting.
    SELECT id INTO v_tenant FROM platform.tenants
    WHERE role_name = current_setting('role') AND status = 'active';
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'platform_api.enqueue_job runs as an active tenant''s role, not as %', current_setting('role')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO platform.jobs (tenant_id, kind, payload, run_at, max_attempts, unique_key)
    VALUES (v_tenant, p_kind, p_payload, coalesce(p_run_at, now()), coalesce(p_max_attempts, 10), p_unique_key)
    ON CONFLICT (coalesce(tenant_id, 0), unique_key) WHERE unique_key IS NOT NULL DO NOTHING
    RETURNING id INTO v_id;
    PERFORM pg_notify('clientele_jobs', p_kind);
    RETURN v_id;
END
$$;
-- Any role may call it; it refuses every role but an active tenant's.
GRANT EXECUTE ON FUNCTION platform_api.enqueue_job(text, jsonb, timestamptz, integer, text) TO PUBLIC;
