-- Webhooks (issue 16): a tenant's systems are told of changes instead of polling. The events come from a durable
-- outbox: every change writes its audit entry in its own transaction, and a trigger on audit_logs turns the entries a
-- webhook subscribes to into an event and one delivery per webhook in that same transaction. A rolled-back change
-- leaves no event; a committed one is never lost (a node dying before delivery only delays it).

-- A tenant's webhooks, written only by its WebhooksGrain with an audit entry in the same transaction. The signing secret
-- is stored encrypted (AES-256-GCM under a key derived from the cluster's caller-signing key, which never enters the
-- database): the runtime role, a pg_dump or a backup reads no secret it could sign with.
CREATE TABLE webhooks (
    tenant_id           uuid        NOT NULL,
    id                  uuid        NOT NULL,
    url                 text        NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    events              text[]      NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 64),
    active              boolean     NOT NULL,
    secret_prefix       text        NOT NULL CHECK (char_length(secret_prefix) = 12),
    secret_enc          bytea       NOT NULL,
    -- The secret before the last rotation: it still signs, beside the new one, until previous_until.
    previous_secret_enc bytea,
    previous_until      timestamptz,
    created_at          timestamptz NOT NULL,
    created_by          uuid,
    updated_at          timestamptz NOT NULL,
    -- Set when deliveries kept failing for the whole retry period (the webhook is then inactive); cleared by activating it.
    disabled_at         timestamptz,
    disabled_reason     text,
    -- Every change adds one: the ETag of the API, checked against If-Match (an edit never overwrites one it did not see).
    version             integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id)
);

-- One event per audit entry some webhook subscribed to; its id is the entry's (receivers deduplicate by it), its seq the
-- entry's (the order of the tenant's changes). payload is the JSON body exactly as it is sent.
CREATE TABLE webhook_events (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    seq         bigint      NOT NULL,
    type        text        NOT NULL,
    record_id   text,
    occurred_at timestamptz NOT NULL,
    payload     text        NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One event's delivery to one webhook: pending until a 2xx answer (succeeded) or the end of the retry period (failed).
-- A node claims a due delivery for a lease (claimed_by, claimed_until); a node that dies mid-delivery loses it when the
-- lease ends and another node sends it again (at least once: the event id stays the same).
CREATE TABLE webhook_deliveries (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    webhook_id       uuid        NOT NULL,
    event_id         uuid        NOT NULL,
    event_seq        bigint      NOT NULL,
    -- Deliveries of one record's events go in order: the record's id (the event's id when it names no record).
    record_key       text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    first_attempt_at timestamptz,
    claimed_by       text,
    claimed_until    timestamptz,
    last_status_code integer,
    last_error       text,
    last_duration_ms integer,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, event_id) REFERENCES webhook_events (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (tenant_id, webhook_id, record_key, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (tenant_id, webhook_id, created_at DESC, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (tenant_id, event_id);

ALTER TABLE webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhooks FORCE ROW LEVEL SECURITY;
CREATE POLICY webhooks_tenant ON webhooks
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_events_tenant ON webhook_events
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_tenant ON webhook_deliveries
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks TO shohayota_app;
-- Events are written by the outbox trigger (as the writer of the audit entry) and removed with their tenant or by
-- webhook_prune; never updated.
GRANT SELECT, INSERT, DELETE ON webhook_events TO shohayota_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_deliveries TO shohayota_app;

-- The outbox: an audit entry of a change some active webhook of its tenant subscribes to becomes an event, with one
-- pending delivery per such webhook, in the transaction that wrote the entry (so with the change itself). Runs as the
-- writer of the entry, under the tenant's row-level security: it sees that tenant's webhooks only.
CREATE FUNCTION webhook_outbox() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = NEW.tenant_id AND w.active AND NEW.action = ANY (w.events)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (tenant_id, id, seq, type, record_id, occurred_at, payload)
    VALUES (NEW.tenant_id, NEW.id, NEW.seq, NEW.action, NEW.target_id, NEW.created_at,
            json_build_object(
                'id', NEW.id,
                'type', NEW.action,
                'occurredAt', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                'tenantId', NEW.tenant_id,
                'data', json_build_object('object', NEW.target_type, 'id', NEW.target_id, 'details', NEW.details::json))::text)
    ON CONFLICT DO NOTHING;
    INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_seq, record_key, status, next_attempt_at, created_at)
    SELECT NEW.tenant_id, gen_random_uuid(), w.id, NEW.id, NEW.seq, coalesce(NEW.target_id, NEW.id::text), 'pending', now(), now()
    FROM webhooks w
    WHERE w.tenant_id = NEW.tenant_id AND w.active AND NEW.action = ANY (w.events);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER audit_logs_webhook_outbox AFTER INSERT ON audit_logs FOR EACH ROW
    WHEN (NEW.outcome = 'success' AND NEW.action ~ '^(customer|contact|deal|activity|user|tenant)\.')
    EXECUTE FUNCTION webhook_outbox();

-- The delivery queue, across tenants (like a job queue: the node delivering does not know whose events are due): claims
-- up to p_limit due deliveries for p_lease and answers what sending them needs. Only the oldest pending delivery of a
-- record's events to a webhook is due (events of one record arrive in order); an inactive webhook's are held, and so
-- are a suspended or deleted tenant's (except the tenant's own status events); FOR UPDATE SKIP LOCKED keeps two nodes
-- from claiming one delivery. The secrets leave encrypted. SECURITY DEFINER runs as the owner (BYPASSRLS).
CREATE FUNCTION webhook_claim(p_node text, p_limit integer, p_lease interval) RETURNS TABLE (
    tenant_id uuid, delivery_id uuid, webhook_id uuid, event_id uuid, event_type text, attempts integer,
    first_attempt_at timestamptz, url text, secret_enc bytea, previous_secret_enc bytea, previous_until timestamptz, payload text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    WITH due AS (
        SELECT d.tenant_id, d.id
        FROM webhook_deliveries d
        JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id
        JOIN tenants t ON t.id = d.tenant_id
        JOIN webhook_events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.claimed_until IS NULL OR d.claimed_until < now())
          AND w.active
          AND (t.status IN ('active', 'canceled') OR e.type LIKE 'tenant.%')
          AND NOT EXISTS (
              SELECT 1 FROM webhook_deliveries p
              WHERE p.tenant_id = d.tenant_id AND p.webhook_id = d.webhook_id AND p.record_key = d.record_key
                AND p.status = 'pending' AND p.event_seq < d.event_seq)
        ORDER BY d.next_attempt_at
        LIMIT p_limit
        FOR UPDATE OF d SKIP LOCKED
    ), claimed AS (
        UPDATE webhook_deliveries d
        -- The attempt counts when it starts, so one cut off by its node's death is in the log too.
        SET claimed_by = p_node, claimed_until = now() + p_lease, first_attempt_at = coalesce(d.first_attempt_at, now()),
            attempts = d.attempts + 1
        FROM due
        WHERE d.tenant_id = due.tenant_id AND d.id = due.id
        RETURNING d.tenant_id, d.id, d.webhook_id, d.event_id, d.attempts, d.first_attempt_at
    )
    SELECT c.tenant_id, c.id, c.webhook_id, c.event_id, e.type, c.attempts, c.first_attempt_at,
           w.url, w.secret_enc, w.previous_secret_enc, w.previous_until, e.payload
    FROM claimed c
    JOIN webhooks w ON w.tenant_id = c.tenant_id AND w.id = c.webhook_id
    JOIN webhook_events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id;
$fn$;
REVOKE ALL ON FUNCTION webhook_claim(text, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_claim(text, integer, interval) TO shohayota_app;

-- A node going down gives back its claims (their sends were cancelled), so another node need not wait for the leases.
CREATE FUNCTION webhook_release(p_node text) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    WITH released AS (
        UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = NULL
        WHERE claimed_by = p_node AND status = 'pending'
        RETURNING 1)
    SELECT count(*) FROM released;
$fn$;
REVOKE ALL ON FUNCTION webhook_release(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_release(text) TO shohayota_app;

-- Retention of the delivery log, across tenants: events older than p_before whose deliveries are all finished go, with
-- their deliveries. Returns the events removed.
CREATE FUNCTION webhook_prune(p_before timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    WITH gone AS (
        DELETE FROM webhook_events e
        WHERE e.occurred_at < p_before
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id AND d.status = 'pending')
        RETURNING 1)
    SELECT count(*) FROM gone;
$fn$;
REVOKE ALL ON FUNCTION webhook_prune(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_prune(timestamptz) TO shohayota_app;
