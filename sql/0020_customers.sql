-- Customers, the CRM's core record. One row per customer, written only by its CustomerGrain.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE customers (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    name          text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    email         text,
    phone         text,
    company       text,
    status        text        NOT NULL CHECK (status IN ('lead', 'prospect', 'customer', 'churned')),
    tags          text[]      NOT NULL DEFAULT '{}',
    notes         text,
    owner_user_id uuid,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       integer     NOT NULL,
    -- What the search box matches: name, e-mail and company, lower-cased, joined by a separator no query contains.
    search_text   text GENERATED ALWAYS AS (
        lower(name || chr(31) || coalesce(email, '') || chr(31) || coalesce(company, ''))) STORED,
    PRIMARY KEY (tenant_id, id),
    -- The owner must be a user of the same tenant; removing the user clears the owner.
    FOREIGN KEY (tenant_id, owner_user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (owner_user_id)
);

-- Keyset pagination for each sort order (ascending and descending both walk these).
CREATE INDEX customers_name_idx ON customers (tenant_id, lower(name), id);
CREATE INDEX customers_created_idx ON customers (tenant_id, created_at, id);
CREATE INDEX customers_updated_idx ON customers (tenant_id, updated_at, id);
CREATE INDEX customers_status_idx ON customers (tenant_id, status, created_at, id);
CREATE INDEX customers_owner_idx ON customers (tenant_id, owner_user_id);
CREATE INDEX customers_tags_idx ON customers USING gin (tags);
CREATE INDEX customers_search_idx ON customers USING gin (search_text gin_trgm_ops);

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY customers_tenant ON customers
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO shohayota_app;
