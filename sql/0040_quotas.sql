-- Plans, quota overrides, usage metering and alerts.

-- Per-tenant overrides of plan limits ("increase quota temporarily"); an override with expires_at lapses by itself.
CREATE TABLE tenant_quota_overrides (
    tenant_id  uuid        NOT NULL,
    quota      text        NOT NULL CHECK (quota IN ('users', 'customers', 'apiCallsMonthly', 'storageBytes', 'rateLimitPerSecond')),
    value      bigint      NOT NULL CHECK (value >= 0),
    expires_at timestamptz,
    reason     text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, quota)
);
ALTER TABLE tenant_quota_overrides ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_quota_overrides FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_quota_overrides_tenant ON tenant_quota_overrides
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_quota_overrides TO shohayota_app;

-- Usage per tenant: one row per UTC day (history, 90 days) and one per UTC month (the API-call quota counter).
-- Written behind by the TenantGrain every few seconds.
CREATE TABLE tenant_usage_metrics (
    tenant_id       uuid        NOT NULL,
    period          text        NOT NULL CHECK (period IN ('day', 'month')),
    period_start    date        NOT NULL,
    api_calls       bigint      NOT NULL DEFAULT 0,
    requests_4xx    bigint      NOT NULL DEFAULT 0,
    requests_5xx    bigint      NOT NULL DEFAULT 0,
    customers       bigint      NOT NULL DEFAULT 0,
    users           bigint      NOT NULL DEFAULT 0,
    storage_bytes   bigint      NOT NULL DEFAULT 0,
    active_users    bigint      NOT NULL DEFAULT 0,
    latency_p95_ms  double precision,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, period, period_start)
);
ALTER TABLE tenant_usage_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_usage_metrics FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_usage_metrics_tenant ON tenant_usage_metrics
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_usage_metrics TO shohayota_app;

-- When each user was last seen (active users over 24 h / 30 d survive a restart); written behind.
ALTER TABLE users ADD COLUMN last_seen_at timestamptz;

-- Alerts: open while cleared_at is null; kept as history afterwards.
CREATE TABLE tenant_alerts (
    tenant_id  uuid             NOT NULL,
    id         uuid             NOT NULL,
    metric     text             NOT NULL,
    level      text             NOT NULL CHECK (level IN ('warning', 'critical')),
    value      double precision NOT NULL,
    threshold  double precision NOT NULL,
    since      timestamptz      NOT NULL,
    updated_at timestamptz      NOT NULL,
    cleared_at timestamptz,
    message    text             NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tenant_alerts_open_idx ON tenant_alerts (tenant_id, metric) WHERE cleared_at IS NULL;
ALTER TABLE tenant_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_alerts_tenant ON tenant_alerts
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE ON tenant_alerts TO shohayota_app;

-- Operators' cross-tenant views (the admin alert list and the per-tenant metrics table): read-only, through
-- SECURITY DEFINER functions, so the runtime role itself still sees one tenant at a time.
CREATE FUNCTION admin_open_alerts() RETURNS SETOF tenant_alerts
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$ SELECT * FROM tenant_alerts WHERE cleared_at IS NULL ORDER BY since DESC $fn$;
REVOKE ALL ON FUNCTION admin_open_alerts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admin_open_alerts() TO shohayota_app;

CREATE FUNCTION admin_usage(p_month date, p_day date) RETURNS TABLE (
    tenant_id uuid, api_calls_month bigint, api_calls_today bigint, requests_4xx bigint, requests_5xx bigint,
    customers bigint, users bigint, storage_bytes bigint, active_users bigint, latency_p95_ms double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    SELECT t.id, coalesce(m.api_calls, 0), coalesce(d.api_calls, 0), coalesce(d.requests_4xx, 0), coalesce(d.requests_5xx, 0),
           coalesce(d.customers, m.customers, 0), coalesce(d.users, m.users, 0), coalesce(d.storage_bytes, m.storage_bytes, 0),
           coalesce(d.active_users, 0), d.latency_p95_ms
    FROM tenants t
    LEFT JOIN tenant_usage_metrics m ON m.tenant_id = t.id AND m.period = 'month' AND m.period_start = p_month
    LEFT JOIN tenant_usage_metrics d ON d.tenant_id = t.id AND d.period = 'day' AND d.period_start = p_day
$fn$;
REVOKE ALL ON FUNCTION admin_usage(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admin_usage(date, date) TO shohayota_app;
