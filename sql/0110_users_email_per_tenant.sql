-- E-mail addresses are unique per tenant, not system-wide. A tenant admin creating a user then learns nothing about other
-- tenants: their users are not in this tenant's namespace, so an address taken elsewhere is simply free here.
-- Runs as shohayota_owner; users keeps ENABLE + FORCE ROW LEVEL SECURITY and its policy.

-- Built before the global key is dropped; every existing row satisfies it (the global key is stricter).
CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, lower(email));
DROP INDEX users_email_key;
-- Sign-in by e-mail alone (no tenant) still looks the address up across tenants.
CREATE INDEX users_email_idx ON users (lower(email));

-- The one cross-tenant read of the runtime role: the accounts an e-mail may sign in as, oldest first (creation time, then
-- id), at most 5; p_tenant narrows it to that tenant's account. SECURITY DEFINER runs as the owner (BYPASSRLS); it returns
-- ids only, never hashes. Called with one argument (older nodes during an upgrade) it answers for every tenant.
DROP FUNCTION auth_find_login(text);
CREATE FUNCTION auth_find_login(p_email text, p_tenant uuid DEFAULT NULL) RETURNS TABLE (tenant_id uuid, user_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    SELECT u.tenant_id, u.id FROM users u
    WHERE lower(u.email) = lower(p_email) AND (p_tenant IS NULL OR u.tenant_id = p_tenant)
    ORDER BY u.created_at, u.id
    LIMIT 5
$fn$;
REVOKE ALL ON FUNCTION auth_find_login(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_find_login(text, uuid) TO shohayota_app;
