-- A tenant API key may carry its own rate limit (issue 16: "an optional per-key rate limit"), below its tenant's: the
-- requests a minute it may make, whatever node they reach. NULL: the key shares its tenant's rate limit only. Set when
-- the key is created (keys are not edited: a new limit is a new key), audited with it in api_key.created.
ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute BETWEEN 1 AND 1000000);

-- api_key_find also answers the key's limit, so a node knows without another read whether requests with the key need
-- the key's bucket (most keys have no limit and cost nothing more). Same contract as before otherwise (0150).
DROP FUNCTION api_key_find(bytea);
CREATE FUNCTION api_key_find(p_hash bytea) RETURNS TABLE (
    tenant_id uuid, id uuid, name text, role text, expires_at timestamptz, revoked_at timestamptz, rate_limit_per_minute integer)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    UPDATE api_keys k SET last_used_at = now()
    WHERE k.secret_hash = p_hash AND k.revoked_at IS NULL
      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
    SELECT k.tenant_id, k.id, k.name, k.role, k.expires_at, k.revoked_at, k.rate_limit_per_minute FROM api_keys k WHERE k.secret_hash = p_hash;
$fn$;
REVOKE ALL ON FUNCTION api_key_find(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_find(bytea) TO shohayota_app;
