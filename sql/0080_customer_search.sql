-- Customer search under row-level security. LIKE is not leakproof, so against an RLS-protected table the planner
-- may not use the trigram index and scans every tenant's rows. This function runs as the owner (RLS bypassed, so
-- the index is usable) and filters by the transaction's tenant itself: it returns that tenant's ids only.
CREATE FUNCTION customer_search_ids(p_pattern text) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    SELECT id FROM customers
    WHERE tenant_id = app_current_tenant() AND app_current_tenant() IS NOT NULL AND search_text LIKE p_pattern
$fn$;
REVOKE ALL ON FUNCTION customer_search_ids(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION customer_search_ids(text) TO shohayota_app;
