-- Operators and tenants manage jobs: a queued job can be cancelled (kept, never run), and a
-- dead or cancelled one retried by hand. Tenants list their own jobs, newest first.
ALTER TABLE platform.jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE platform.jobs ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('queued', 'running', 'succeeded', 'dead', 'cancelled'));
CREATE INDEX jobs_tenant ON platform.jobs (tenant_id, id DESC);
