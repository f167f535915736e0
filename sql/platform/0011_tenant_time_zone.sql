-- A tenant's own SQL reads its time zone here (post-purchase surveys go at 10:00 local time):
-- tenant roles cannot read platform.tenants, so a SECURITY DEFINER function answers for the
-- role the transaction set, and for that role only.
CREATE FUNCTION platform_api.tenant_time_zone() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT time_zone FROM platform.tenants WHERE role_name = current_setting('role')), 'Europe/Paris')
$$;
GRANT EXECUTE ON FUNCTION platform_api.tenant_time_zone() TO PUBLIC;
