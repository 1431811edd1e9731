-- Export, restore, backups and the retention purge.

-- The chain is continuous by construction, not only by convention: an entry must follow the tenant's current head
-- (seq = head + 1, prev_hash = head's hash; the head is the previous row or the pruning checkpoint; genesis before
-- seq 1). A writer holding a stale head (say, one that was active while a restore replaced the tenant's chain) is
-- refused, reported as the primary key's violation so it reloads its head exactly as when another writer took the seq.
CREATE FUNCTION audit_logs_continuity() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_head bytea;
BEGIN
    IF NEW.seq = 1 THEN
        v_head := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    ELSE
        SELECT hash INTO v_head FROM audit_logs WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq - 1;
        IF NOT FOUND THEN
            SELECT hash INTO v_head FROM audit_checkpoints WHERE tenant_id = NEW.tenant_id AND seq = NEW.seq - 1;
        END IF;
    END IF;
    IF v_head IS NULL OR v_head <> NEW.prev_hash THEN
        RAISE EXCEPTION 'audit entry % of tenant % does not continue the chain', NEW.seq, NEW.tenant_id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'audit_logs_pkey';
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER audit_logs_continuity BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_continuity();

-- A restored chain that was pruned before its export starts at a checkpoint. Only for a tenant that has no audit
-- entries and no checkpoint yet (a restore in progress), so a live chain's start can never be moved.
CREATE FUNCTION audit_restore_checkpoint(p_seq bigint, p_hash bytea) RETURNS void
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
    INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at) VALUES (v_tenant, p_seq, p_hash, now());
END
$fn$;
REVOKE ALL ON FUNCTION audit_restore_checkpoint(bigint, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_restore_checkpoint(bigint, bytea) TO shohayota_app;

-- Deletion certificates: the operator's record that a tenant's data is gone (and which backups still hold it).
-- They outlive the tenant they describe, so they are the system tenant's rows: visible only in a transaction that
-- set the system tenant, like super-admins' own rows. Immutable for the runtime role (INSERT, SELECT).
CREATE TABLE deletion_certificates (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    tenant_name text        NOT NULL,
    deleted_at  timestamptz NOT NULL,
    -- The certificate JSON exactly as its SHA-256 was recorded in the system audit log.
    certificate text        NOT NULL
);
CREATE INDEX deletion_certificates_deleted_idx ON deletion_certificates (deleted_at DESC, id DESC);
CREATE INDEX deletion_certificates_tenant_idx ON deletion_certificates (tenant_id);
ALTER TABLE deletion_certificates ENABLE ROW LEVEL SECURITY;
ALTER TABLE deletion_certificates FORCE ROW LEVEL SECURITY;
CREATE POLICY deletion_certificates_system ON deletion_certificates
    USING (app_current_tenant() = '00000000-0000-0000-0000-000000000000')
    WITH CHECK (app_current_tenant() = '00000000-0000-0000-0000-000000000000');
GRANT SELECT, INSERT ON deletion_certificates TO shohayota_app;

-- A hard delete removes every row of the tenant; its alerts too, which the runtime role may not DELETE otherwise.
-- Like audit_purge_tenant, only once the tenant's registry row is gone in the same transaction.
CREATE FUNCTION alerts_purge_tenant() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_tenant uuid := app_current_tenant();
    v_count  bigint;
BEGIN
    IF v_tenant IS NULL OR v_tenant = '00000000-0000-0000-0000-000000000000' THEN
        RAISE EXCEPTION 'alerts_purge_tenant needs a tenant other than the system tenant';
    END IF;
    IF EXISTS (SELECT 1 FROM tenants WHERE id = v_tenant) THEN
        RAISE EXCEPTION 'delete the tenant before its alerts';
    END IF;
    DELETE FROM tenant_alerts WHERE tenant_id = v_tenant;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$fn$;
REVOKE ALL ON FUNCTION alerts_purge_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION alerts_purge_tenant() TO shohayota_app;
