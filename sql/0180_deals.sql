-- Deals on a pipeline (issue 14). A tenant's pipeline is an ordered list of stages, each open, won or lost; a deal sits
-- in one stage and its status is that stage's kind, which the database itself keeps true (the composite foreign key
-- below). Same guarantees as customers and contacts: FORCE row-level security, tenant-leading keys and indexes, the
-- version check of sql/0095, audit in the same transaction (the tenant's audit writer runs the statements).
CREATE TABLE pipeline_stages (
    tenant_id   uuid    NOT NULL,
    id          uuid    NOT NULL,
    position    integer NOT NULL CHECK (position >= 0),
    name        text    NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    kind        text    NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
    probability integer NOT NULL CHECK (probability BETWEEN 0 AND 100),
    PRIMARY KEY (tenant_id, id),
    -- What a deal's (stage, status) refers to: a stage's kind changes only while no deal sits in it.
    CONSTRAINT pipeline_stages_kind_key UNIQUE (tenant_id, id, kind)
);

CREATE TABLE deals (
    tenant_id           uuid        NOT NULL,
    id                  uuid        NOT NULL,
    name                text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    customer_id         uuid        NOT NULL,
    -- Exact: numeric, never a float; at most four decimals (every ISO 4217 minor unit fits).
    amount              numeric     NOT NULL CHECK (amount >= 0 AND amount < 10000000000000 AND scale(amount) <= 4),
    currency            text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    stage_id            uuid        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    expected_close_date date,
    owner_user_id       uuid,
    closed_at           timestamptz,
    -- The deal's contacts as its reads need them (in uuid order), written in the same statement as their links in
    -- deal_contacts, which hold the references; a list page reads them from the row instead of one lookup per deal.
    contact_ids         uuid[]      NOT NULL DEFAULT '{}' CHECK (cardinality(contact_ids) <= 50),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    version             integer     NOT NULL,
    -- The key the "expectedCloseDate" sort pages by: deals without a date come last.
    close_sort          date GENERATED ALWAYS AS (coalesce(expected_close_date, 'infinity'::date)) STORED,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT deals_closed CHECK ((status = 'open') = (closed_at IS NULL)),
    -- A deal's customer is one of the tenant's; a customer that still has deals cannot be removed (the API answers 409
    -- with the counts, or removes them with ?cascade=true).
    CONSTRAINT deals_customer_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    -- The stage is one of the tenant's, and the deal's status is that stage's kind.
    CONSTRAINT deals_stage_fkey FOREIGN KEY (tenant_id, stage_id, status) REFERENCES pipeline_stages (tenant_id, id, kind),
    CONSTRAINT deals_owner_fkey FOREIGN KEY (tenant_id, owner_user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (owner_user_id)
);

-- Keyset pagination for each sort order, the filters and the pipeline's totals; every index starts with the tenant.
CREATE INDEX deals_created_idx ON deals (tenant_id, created_at, id);
CREATE INDEX deals_updated_idx ON deals (tenant_id, updated_at, id);
CREATE INDEX deals_close_idx ON deals (tenant_id, close_sort, id);
CREATE INDEX deals_amount_idx ON deals (tenant_id, amount, id);
CREATE INDEX deals_customer_idx ON deals (tenant_id, customer_id);
CREATE INDEX deals_owner_idx ON deals (tenant_id, owner_user_id);
CREATE INDEX deals_status_idx ON deals (tenant_id, status, updated_at, id);
-- GET /api/pipeline: count and sum per stage and currency from the index alone.
CREATE INDEX deals_stage_idx ON deals (tenant_id, stage_id, currency) INCLUDE (amount);

-- The contacts on a deal. Both sides include the tenant, so a deal cannot name another tenant's contact whatever id it
-- sends; removing the deal removes its links, and a contact still on a deal cannot be removed (the API says on how many).
CREATE TABLE deal_contacts (
    tenant_id  uuid NOT NULL,
    deal_id    uuid NOT NULL,
    contact_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, deal_id, contact_id),
    CONSTRAINT deal_contacts_deal_fkey FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT deal_contacts_contact_fkey FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
);
CREATE INDEX deal_contacts_contact_idx ON deal_contacts (tenant_id, contact_id);

ALTER TABLE pipeline_stages ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline_stages FORCE ROW LEVEL SECURITY;
CREATE POLICY pipeline_stages_tenant ON pipeline_stages
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE deals ENABLE ROW LEVEL SECURITY;
ALTER TABLE deals FORCE ROW LEVEL SECURITY;
CREATE POLICY deals_tenant ON deals
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE deal_contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY deal_contacts_tenant ON deal_contacts
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON pipeline_stages, deals, deal_contacts TO shohayota_app;
