-- Enqueueing many jobs in one statement: a survey sent to a thousand clients makes a thousand
-- delivery jobs, which one round trip per job made slow. The jobs come as one JSON array of
-- {"kind", "payload", "run_at" (epoch seconds or null), "max_attempts", "unique_key"}; the
-- tenant comes from the transaction's role, as for enqueue_job.
CREATE FUNCTION platform_api.enqueue_jobs(p_jobs jsonb, p_notify boolean DEFAULT true)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_tenant bigint;
    v_count integer;
BEGIN
    SELECT id INTO v_tenant FROM platform.tenants
    WHERE role_name = current_setting('role') AND status = 'active';
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'platform_api.enqueue_jobs runs as an active tenant''s role, not as %', current_setting('role')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF jsonb_typeof(p_jobs) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'platform_api.enqueue_jobs takes a JSON array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A key twice in one batch, or already waiting: the first stays, the others are dropped.
    INSERT INTO platform.jobs (tenant_id, kind, payload, run_at, max_attempts, unique_key)
    SELECT v_tenant, j.kind, coalesce(j.payload, '{}'), coalesce(to_timestamp(j.run_at), now()),
           coalesce(j.max_attempts, 10), j.unique_key
    FROM jsonb_to_recordset(p_jobs) AS j (kind text, payload jsonb, run_at double precision, max_attempts integer, unique_key text)
    ON CONFLICT (coalesce(tenant_id, 0), unique_key) WHERE unique_key IS NOT NULL DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF p_notify AND v_count > 0 THEN
        PERFORM pg_notify('clientele_jobs', '');
    END IF;
    RETURN v_count;
END
$$;
GRANT EXECUTE ON FUNCTION platform_api.enqueue_jobs(jsonb, boolean) TO PUBLIC;
