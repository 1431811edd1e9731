-- Shohayota's own schema, part 1: the tenant registry, users and refresh tokens.
-- Runs as shohayota_owner. The runtime role shohayota_app gets row access only, never ownership.

-- The tenant of the current transaction, set by the application with set_config('app.tenant_id', …, true).
-- Unset or empty means "no tenant": every policy below then matches no row.
CREATE FUNCTION app_current_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $fn$;

-- The registry of tenants. It is keyed by the tenant itself and read by operators across tenants, so it has
-- no tenant_id column and no RLS; tenant users never reach it except through their TenantGrain.
CREATE TABLE tenants (
    id                uuid        PRIMARY KEY,
    name              text        NOT NULL,
    contact_email     text        NOT NULL,
    plan              text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('active', 'suspended', 'canceled', 'deleted')),
    status_reason     text,
    created_at        timestamptz NOT NULL,
    status_changed_at timestamptz NOT NULL,
    retention_until   timestamptz,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX tenants_status_idx ON tenants (status, id);
CREATE INDEX tenants_name_idx ON tenants (lower(name) text_pattern_ops);
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants TO shohayota_app;

-- Users of every tenant; super-admins belong to the reserved system tenant 00000000-0000-0000-0000-000000000000.
CREATE TABLE users (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    email         text        NOT NULL,
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('super_admin', 'tenant_admin', 'member')),
    password_hash text        NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    failed_logins integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- Sign-in needs no tenant name, so e-mails are unique across the whole system (uniqueness ignores RLS).
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_tenant ON users
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO shohayota_app;

CREATE TABLE refresh_tokens (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    family_id   uuid        NOT NULL,
    secret_hash bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz,
    revoked_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (tenant_id, family_id);
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_tenant ON refresh_tokens
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_tokens TO shohayota_app;

-- The one cross-tenant read of the runtime role: which tenant and user an e-mail signs in as.
-- SECURITY DEFINER runs as the owner (BYPASSRLS); it returns ids only, never hashes.
CREATE FUNCTION auth_find_login(p_email text) RETURNS TABLE (tenant_id uuid, user_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$ SELECT u.tenant_id, u.id FROM users u WHERE lower(u.email) = lower(p_email) $fn$;
REVOKE ALL ON FUNCTION auth_find_login(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_find_login(text) TO shohayota_app;

-- Whether any super-admin exists (bootstrap at start-up), without exposing the system tenant's rows.
CREATE FUNCTION auth_super_admin_exists() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$ SELECT EXISTS (SELECT 1 FROM users WHERE role = 'super_admin') $fn$;
REVOKE ALL ON FUNCTION auth_super_admin_exists() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_super_admin_exists() TO shohayota_app;
