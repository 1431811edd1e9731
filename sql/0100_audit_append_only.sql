-- An audit log the application itself cannot rewrite. Runs as shohayota_owner.
-- The runtime role keeps what 0030 gave it (SELECT and INSERT on audit_logs, SELECT on audit_checkpoints: append-only) and
-- loses the three ways around it: audit_prune() now enforces the retention stored here, and audit_purge_tenant() and
-- audit_restore_checkpoint() need a permission the owner connection issues for the one transaction that uses it.
-- Deleting a tenant row (the runtime role may, for hard deletes) takes nothing with it: no table references tenants.

-- The audit log's retention in days: the floor audit_prune() enforces, whatever cutoff its caller passes. Owner-only: the
-- runtime role has no privilege on it, and with RLS forced and no policy only a role that bypasses RLS (the owner) sees the
-- row. The silo writes Shohayota:Audit:RetentionDays here at start-up through the owner connection.
CREATE TABLE IF NOT EXISTS audit_settings (
    singleton      boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    retention_days integer     NOT NULL CHECK (retention_days BETWEEN 2 AND 36500),
    changed_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_settings (retention_days) VALUES (400) ON CONFLICT (singleton) DO NOTHING;
ALTER TABLE audit_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_settings FORCE ROW LEVEL SECURITY;
REVOKE ALL ON audit_settings FROM PUBLIC;

-- The owner's permission for one transaction of the runtime role to purge a hard-deleted tenant's chain, or to start a
-- restored chain at the checkpoint (seq, hash) of an export the restorer verified. Bound to that transaction's id, so no other
-- transaction can use it; consumed on use. Owner-only: no privilege for the runtime role, and the policy denies every role
-- that does not bypass RLS.
-- No unique key on (xid, tenant, operation): a second permission must never wait on one its transaction is consuming.
CREATE TABLE IF NOT EXISTS audit_maintenance_grants (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid       bigint      NOT NULL,
    tenant_id uuid        NOT NULL,
    operation text        NOT NULL CHECK (operation IN ('purge', 'checkpoint')),
    seq       bigint,
    hash      bytea,
    issued_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_maintenance_grants_xid_idx ON audit_maintenance_grants (xid, tenant_id);
ALTER TABLE audit_maintenance_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_maintenance_grants FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS audit_maintenance_grants_owner_only ON audit_maintenance_grants;
CREATE POLICY audit_maintenance_grants_owner_only ON audit_maintenance_grants USING (false) WITH CHECK (false);
REVOKE ALL ON audit_maintenance_grants FROM PUBLIC;

-- Chain heads as they were: written daily and by every backup through audit_anchor_heads(), which reads the heads itself.
-- The runtime role reads its tenant's anchors (verify compares them with the chain) and cannot write or remove any.
CREATE TABLE IF NOT EXISTS audit_anchors (
    tenant_id   uuid        NOT NULL,
    seq         bigint      NOT NULL,
    hash        bytea       NOT NULL,
    anchored_at timestamptz NOT NULL,
    reason      text        NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
ALTER TABLE audit_anchors ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_anchors FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS audit_anchors_tenant ON audit_anchors;
CREATE POLICY audit_anchors_tenant ON audit_anchors
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
REVOKE ALL ON audit_anchors FROM PUBLIC;
GRANT SELECT ON audit_anchors TO shohayota_app;

-- Takes (deletes) the owner's permission for this transaction; false when there is none. Only for the functions below.
CREATE OR REPLACE FUNCTION audit_take_grant(p_tenant uuid, p_operation text, p_seq bigint, p_hash bytea) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
BEGIN
    DELETE FROM audit_maintenance_grants
    WHERE xid = txid_current() AND tenant_id = p_tenant AND operation = p_operation
      AND seq IS NOT DISTINCT FROM p_seq AND hash IS NOT DISTINCT FROM p_hash;
    RETURN FOUND;
END
$fn$;
REVOKE ALL ON FUNCTION audit_take_grant(uuid, text, bigint, bytea) FROM PUBLIC;

-- Retention: removes the current tenant's oldest entries and records the checkpoint in the same transaction. Never anything
-- younger than the stored retention, and only a prefix of entries that are all older than the cutoff: an entry appended
-- with a backdated time cannot take younger ones with it. The head always stays (the live chain continues from it).
CREATE OR REPLACE FUNCTION audit_prune(p_before timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_tenant uuid := app_current_tenant();
    v_days   integer;
    v_head   bigint;
    v_upto   bigint;
    v_last   audit_logs%ROWTYPE;
    v_count  bigint;
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'audit_prune needs app.tenant_id';
    END IF;
    SELECT retention_days INTO v_days FROM audit_settings;
    IF v_days IS NULL OR p_before > now() - make_interval(days => v_days) THEN
        RAISE EXCEPTION 'audit entries are kept % days; nothing younger is pruned', coalesce(v_days::text, 'an unknown number of')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT max(seq) INTO v_head FROM audit_logs WHERE tenant_id = v_tenant;
    IF v_head IS NULL THEN
        RETURN 0;
    END IF;
    SELECT least(coalesce(min(seq), v_head), v_head) - 1 INTO v_upto
        FROM audit_logs WHERE tenant_id = v_tenant AND created_at >= p_before;
    SELECT * INTO v_last FROM audit_logs WHERE tenant_id = v_tenant AND seq = v_upto;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    DELETE FROM audit_logs WHERE tenant_id = v_tenant AND seq <= v_upto;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at) VALUES (v_tenant, v_last.seq, v_last.hash, now())
    ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at;
    -- Anchors below the checkpoint name entries that are gone by design; the checkpoint's own stays comparable.
    DELETE FROM audit_anchors WHERE tenant_id = v_tenant AND seq < v_upto;
    RETURN v_count;
END
$fn$;
REVOKE ALL ON FUNCTION audit_prune(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_prune(timestamptz) TO shohayota_app;

-- Hard delete of a tenant: its whole log (checkpoint and anchors too) goes with it, the system log keeps the purge record.
-- Only once the registry row is gone, and only with the owner's permission for this transaction.
CREATE OR REPLACE FUNCTION audit_purge_tenant() RETURNS bigint
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
    IF EXISTS (SELECT 1 FROM tenants WHERE id = v_tenant) THEN
        RAISE EXCEPTION 'delete the tenant before its audit log';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_logs WHERE tenant_id = v_tenant)
       AND NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = v_tenant)
       AND NOT EXISTS (SELECT 1 FROM audit_anchors WHERE tenant_id = v_tenant) THEN
        RETURN 0;
    END IF;
    IF NOT audit_take_grant(v_tenant, 'purge', NULL, NULL) THEN
        RAISE EXCEPTION 'purging the audit log of tenant % needs the owner''s permission for this transaction', v_tenant
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM audit_logs WHERE tenant_id = v_tenant;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    DELETE FROM audit_checkpoints WHERE tenant_id = v_tenant;
    DELETE FROM audit_anchors WHERE tenant_id = v_tenant;
    RETURN v_count;
END
$fn$;
REVOKE ALL ON FUNCTION audit_purge_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_purge_tenant() TO shohayota_app;

-- A restored chain that was pruned before its export starts at a checkpoint: only for a tenant that has no chain yet, and
-- only the (seq, hash) the owner connection vouched for in this transaction (the restorer's verified export).
CREATE OR REPLACE FUNCTION audit_restore_checkpoint(p_seq bigint, p_hash bytea) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_tenant uuid := app_current_tenant();
BEGIN
    IF v_tenant IS NULL OR v_tenant = '00000000-0000-0000-0000-000000000000' THEN
        RAISE EXCEPTION 'audit_restore_checkpoint needs a tenant other than the system tenant';
    END IF;
    IF p_seq < 1 OR length(p_hash) <> 32 THEN
        RAISE EXCEPTION 'a checkpoint has a positive seq and a 32-byte hash';
    END IF;
    IF EXISTS (SELECT 1 FROM audit_logs WHERE tenant_id = v_tenant) OR EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = v_tenant) THEN
        RAISE EXCEPTION 'the tenant already has an audit chain';
    END IF;
    IF NOT audit_take_grant(v_tenant, 'checkpoint', p_seq, p_hash) THEN
        RAISE EXCEPTION 'checkpoint % of tenant % is not the one the owner connection vouched for in this transaction', p_seq, v_tenant
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at) VALUES (v_tenant, p_seq, p_hash, now());
END
$fn$;
REVOKE ALL ON FUNCTION audit_restore_checkpoint(bigint, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_restore_checkpoint(bigint, bytea) TO shohayota_app;

-- Anchors the current head of every chain (every tenant's, the system log's, and any that was anchored before). The
-- caller names the occasion only: the heads are read here, so calling it can record nothing but the truth. A head that
-- is already anchored is not written again. Also drops permissions older than a day (their transactions are over).
CREATE OR REPLACE FUNCTION audit_anchor_heads(p_reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_count bigint;
BEGIN
    INSERT INTO audit_anchors (tenant_id, seq, hash, anchored_at, reason)
    SELECT h.tenant_id, h.seq, h.hash, now(), left(coalesce(p_reason, 'unnamed'), 200)
    FROM (SELECT id FROM tenants
          UNION SELECT '00000000-0000-0000-0000-000000000000'::uuid
          UNION SELECT DISTINCT tenant_id FROM audit_anchors) t
    CROSS JOIN LATERAL (SELECT l.tenant_id, l.seq, l.hash FROM audit_logs l WHERE l.tenant_id = t.id ORDER BY l.seq DESC LIMIT 1) h
    ON CONFLICT (tenant_id, seq) DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    DELETE FROM audit_maintenance_grants WHERE issued_at < now() - interval '1 day';
    RETURN v_count;
END
$fn$;
REVOKE ALL ON FUNCTION audit_anchor_heads(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_anchor_heads(text) TO shohayota_app;
