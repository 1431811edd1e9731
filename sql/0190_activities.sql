-- Activities (issue 14): notes, tasks, calls and meetings about a customer, a contact or a deal. Same guarantees as the
-- other CRM records: FORCE row-level security, tenant-leading keys and indexes, the version check of sql/0095, audit in
-- the same transaction. Every link includes the tenant, so an activity cannot name another tenant's record whatever id
-- it sends; a contact or deal that still has activities cannot be removed (the API says how many), and deleting a
-- customer with ?cascade=true removes its activities with its contacts and deals, one audit entry each.
CREATE TABLE activities (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    type             text        NOT NULL CHECK (type IN ('note', 'task', 'call', 'meeting')),
    subject          text        NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
    body             text        CHECK (char_length(body) <= 20000),
    due_at           timestamptz,
    assignee_user_id uuid,
    customer_id      uuid,
    contact_id       uuid,
    deal_id          uuid,
    completed_at     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          integer     NOT NULL,
    -- The key the "dueAt" sort pages by: activities without a due time come last.
    due_sort         timestamptz GENERATED ALWAYS AS (coalesce(due_at, '9999-12-31 00:00:00+00'::timestamptz)) STORED,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT activities_linked CHECK (customer_id IS NOT NULL OR contact_id IS NOT NULL OR deal_id IS NOT NULL),
    -- A note records something; it is neither due nor done.
    CONSTRAINT activities_note CHECK (type <> 'note' OR (due_at IS NULL AND completed_at IS NULL)),
    CONSTRAINT activities_customer_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    CONSTRAINT activities_contact_fkey FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    CONSTRAINT activities_deal_fkey FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id),
    CONSTRAINT activities_assignee_fkey FOREIGN KEY (tenant_id, assignee_user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (assignee_user_id)
);

-- Keyset pagination for each sort order, the filters ("my tasks": assignee then due time) and the links; every index
-- starts with the tenant.
CREATE INDEX activities_created_idx ON activities (tenant_id, created_at, id);
CREATE INDEX activities_updated_idx ON activities (tenant_id, updated_at, id);
CREATE INDEX activities_due_idx ON activities (tenant_id, due_sort, id);
CREATE INDEX activities_assignee_idx ON activities (tenant_id, assignee_user_id, due_sort, id);
CREATE INDEX activities_customer_idx ON activities (tenant_id, customer_id);
CREATE INDEX activities_contact_idx ON activities (tenant_id, contact_id);
CREATE INDEX activities_deal_idx ON activities (tenant_id, deal_id);

ALTER TABLE activities ENABLE ROW LEVEL SECURITY;
ALTER TABLE activities FORCE ROW LEVEL SECURITY;
CREATE POLICY activities_tenant ON activities
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON activities TO shohayota_app;
