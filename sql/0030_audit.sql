-- The tamper-evident audit log: one hash chain per tenant (the system log is the reserved system tenant).
-- Only the tenant's AuditLogGrain appends, in the same transaction as the change it records.
CREATE TABLE audit_logs (
    tenant_id   uuid        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq > 0),
    id          uuid        NOT NULL,
    created_at  timestamptz NOT NULL,
    actor_id    uuid,
    actor_email text,
    actor_role  text,
    action      text        NOT NULL,
    target_type text,
    target_id   text,
    outcome     text        NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
    ip          text,
    user_agent  text,
    request_id  text,
    -- JSON text exactly as hashed (jsonb would reorder keys and break the chain).
    details     text,
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_logs_created_idx ON audit_logs (tenant_id, created_at DESC);
CREATE INDEX audit_logs_action_idx ON audit_logs (tenant_id, action text_pattern_ops, seq DESC);
CREATE INDEX audit_logs_target_idx ON audit_logs (tenant_id, target_id, seq DESC);
CREATE INDEX audit_logs_actor_idx ON audit_logs (tenant_id, actor_id, seq DESC);

ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_logs_tenant ON audit_logs
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
-- Append-only for the runtime role: no UPDATE, no DELETE.
GRANT SELECT, INSERT ON audit_logs TO shohayota_app;

-- Where a pruned chain now starts: the last pruned entry's seq and hash, so the rest still verifies.
CREATE TABLE audit_checkpoints (
    tenant_id  uuid        NOT NULL PRIMARY KEY,
    seq        bigint      NOT NULL,
    hash       bytea       NOT NULL,
    pruned_at  timestamptz NOT NULL
);
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_checkpoints_tenant ON audit_checkpoints
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT ON audit_checkpoints TO shohayota_app;

-- Retention: removes the current tenant's entries older than the cutoff (never younger than a day) and records
-- the checkpoint in the same transaction. Runs as the owner because the runtime role may not delete audit rows.
CREATE FUNCTION audit_prune(p_before timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_tenant uuid := app_current_tenant();
    v_last   audit_logs%ROWTYPE;
    v_count  bigint;
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'audit_prune needs app.tenant_id';
    END IF;
    IF p_before > now() - interval '1 day' THEN
        RAISE EXCEPTION 'audit entries younger than a day are never pruned';
    END IF;
    SELECT * INTO v_last FROM audit_logs
        WHERE tenant_id = v_tenant AND created_at < p_before
        -- Keep the head: the live chain continues from the newest entry.
          AND seq < (SELECT max(seq) FROM audit_logs WHERE tenant_id = v_tenant)
        ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    DELETE FROM audit_logs WHERE tenant_id = v_tenant AND seq <= v_last.seq;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at) VALUES (v_tenant, v_last.seq, v_last.hash, now())
    ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at;
    RETURN v_count;
END
$fn$;
REVOKE ALL ON FUNCTION audit_prune(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_prune(timestamptz) TO shohayota_app;

-- Hard delete of a tenant: its whole log goes with it (the system log keeps the purge record).
CREATE FUNCTION audit_purge_tenant() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_tenant uuid := app_current_tenant();
    v_count  bigint;
BEGIN
    IF v_tenant IS NULL OR v_tenant = '00000000-0000-0000-0000-000000000000' THEN
        RAISE EXCEPTION 'audit_purge_tenant needs a tenant other than the system tenant';
    END IF;
    -- Only a tenant already removed from the registry (in this same transaction) loses its log.
    IF EXISTS (SELECT 1 FROM tenants WHERE id = v_tenant) THEN
        RAISE EXCEPTION 'delete the tenant before its audit log';
    END IF;
    DELETE FROM audit_logs WHERE tenant_id = v_tenant;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    DELETE FROM audit_checkpoints WHERE tenant_id = v_tenant;
    RETURN v_count;
END
$fn$;
REVOKE ALL ON FUNCTION audit_purge_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_purge_tenant() TO shohayota_app;
