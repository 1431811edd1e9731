-- Contacts: the people of the tenant's customers (issue 14). One row per contact, written only by its ContactGrain,
-- under the same guarantees as customers: FORCE row-level security, the version check of sql/0095, audit in the
-- same transaction (the tenant's audit writer runs the statements).
CREATE TABLE contacts (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    first_name    text        CHECK (char_length(first_name) BETWEEN 1 AND 100),
    last_name     text        CHECK (char_length(last_name) BETWEEN 1 AND 100),
    email         text,
    phone         text,
    title         text,
    customer_id   uuid,
    owner_user_id uuid,
    tags          text[]      NOT NULL DEFAULT '{}',
    notes         text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       integer     NOT NULL,
    -- What the search box matches: first and last name and e-mail, lower-cased, joined by a separator no query contains.
    search_text   text GENERATED ALWAYS AS (
        lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || chr(31) || coalesce(email, ''))) STORED,
    -- The name a list sorts by: last name, then first name.
    sort_name     text GENERATED ALWAYS AS (
        lower(coalesce(last_name, '') || chr(31) || coalesce(first_name, ''))) STORED,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT contacts_named CHECK (first_name IS NOT NULL OR last_name IS NOT NULL),
    -- A contact's customer is one of the tenant's; a customer that still has contacts cannot be removed (the API
    -- answers 409 with the count, or removes them with ?cascade=true).
    CONSTRAINT contacts_customer_fkey FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    -- The owner must be a user of the same tenant; removing the user clears the owner.
    CONSTRAINT contacts_owner_fkey FOREIGN KEY (tenant_id, owner_user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (owner_user_id)
);

-- Keyset pagination for each sort order, and the filters; every index starts with the tenant.
CREATE INDEX contacts_name_idx ON contacts (tenant_id, sort_name, id);
CREATE INDEX contacts_created_idx ON contacts (tenant_id, created_at, id);
CREATE INDEX contacts_updated_idx ON contacts (tenant_id, updated_at, id);
CREATE INDEX contacts_customer_idx ON contacts (tenant_id, customer_id, created_at, id);
CREATE INDEX contacts_owner_idx ON contacts (tenant_id, owner_user_id);
CREATE INDEX contacts_email_idx ON contacts (tenant_id, lower(email));
CREATE INDEX contacts_tags_idx ON contacts USING gin (tenant_id, tags);

ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY contacts_tenant ON contacts
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON contacts TO shohayota_app;
