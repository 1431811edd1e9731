-- Tenant API keys: a tenant's own systems call the API with a key instead of a person's password. Only the key's
-- SHA-256 is stored (the secret has 256 random bits, so a fast hash is enough: nothing to guess); the secret is shown
-- once, when the key is created. Written only by the tenant's ApiKeysGrain, with an audit entry in the same transaction.
CREATE TABLE api_keys (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    role         text        NOT NULL CHECK (role IN ('tenant_admin', 'member')),
    -- The first characters of the secret ("shy_" and 8 more), to tell keys apart in a list; never enough to use one.
    prefix       text        NOT NULL CHECK (char_length(prefix) = 12),
    secret_hash  bytea       NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_at   timestamptz NOT NULL,
    created_by   uuid,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    revoked_by   uuid,
    last_used_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- A presented key is found by its hash alone (it does not name its tenant): see api_key_find.
CREATE UNIQUE INDEX api_keys_secret_hash_key ON api_keys (secret_hash);
CREATE INDEX api_keys_created_idx ON api_keys (tenant_id, created_at, id);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY api_keys_tenant ON api_keys
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys TO shohayota_app;

-- The key a presented secret's hash belongs to, across tenants (the request names no tenant): the second cross-tenant
-- read of the runtime role, beside auth_find_login. It needs the hash of a live 256-bit secret to return anything, and
-- returns no hash. It also notes when the key was last used, at most once a minute (the front ends ask again every few
-- seconds while a key is in use), which is metering, not a change to audit. SECURITY DEFINER runs as the owner (BYPASSRLS).
CREATE FUNCTION api_key_find(p_hash bytea) RETURNS TABLE (
    tenant_id uuid, id uuid, name text, role text, expires_at timestamptz, revoked_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    UPDATE api_keys k SET last_used_at = now()
    WHERE k.secret_hash = p_hash AND k.revoked_at IS NULL
      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
    SELECT k.tenant_id, k.id, k.name, k.role, k.expires_at, k.revoked_at FROM api_keys k WHERE k.secret_hash = p_hash;
$fn$;
REVOKE ALL ON FUNCTION api_key_find(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_find(bytea) TO shohayota_app;
