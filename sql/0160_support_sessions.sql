-- Support access the tenant can see: a super-admin opens a short-lived session acting as one of the tenant's users, for a
-- stated reason; the tenant's admins list the sessions, end one, or forbid support access altogether. Written only by
-- the tenant's SupportSessionsGrain, each change audited in the same transaction.
CREATE TABLE support_sessions (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    user_email      text        NOT NULL,
    opened_by       uuid        NOT NULL,
    opened_by_email text        NOT NULL,
    reason          text        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL CHECK (expires_at > created_at AND expires_at <= created_at + interval '60 minutes'),
    ended_at        timestamptz,
    ended_by        uuid,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX support_sessions_created_idx ON support_sessions (tenant_id, created_at DESC, id);

ALTER TABLE support_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE support_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY support_sessions_tenant ON support_sessions
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON support_sessions TO shohayota_app;

-- A tenant's own settings, one row per tenant that changed one (no row: the defaults).
CREATE TABLE tenant_settings (
    tenant_id            uuid        NOT NULL PRIMARY KEY,
    allow_support_access boolean     NOT NULL DEFAULT true,
    updated_at           timestamptz NOT NULL
);

ALTER TABLE tenant_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_settings_tenant ON tenant_settings
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_settings TO shohayota_app;
