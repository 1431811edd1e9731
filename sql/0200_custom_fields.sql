-- Custom fields (issue 14): a tenant admin defines extra fields for customers, contacts and deals; each record keeps
-- its values in a JSON object column, validated against the definitions on every write, import and restore. The
-- definitions are tenant rows under FORCE row-level security like every other. A record write locks the definitions it
-- uses (FOR SHARE) in its own transaction, and a replacement of the definitions locks them (FOR UPDATE) and counts the
-- records holding values it would strand: so a value can never outlive its definition, whichever commits first.
CREATE TABLE custom_field_definitions (
    tenant_id   uuid    NOT NULL,
    record_type text    NOT NULL CHECK (record_type IN ('customers', 'contacts', 'deals')),
    key         text    NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    position    integer NOT NULL CHECK (position >= 0),
    label       text    NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
    type        text    NOT NULL CHECK (type IN ('text', 'number', 'date', 'select', 'boolean')),
    options     text[]  NOT NULL DEFAULT '{}' CHECK (cardinality(options) <= 50),
    required    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, record_type, key),
    CONSTRAINT custom_field_definitions_options CHECK ((type = 'select') = (cardinality(options) > 0))
);

ALTER TABLE custom_field_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_field_definitions FORCE ROW LEVEL SECURITY;
CREATE POLICY custom_field_definitions_tenant ON custom_field_definitions
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON custom_field_definitions TO shohayota_app;

-- The values: one JSON object per record, {} without any. A constant default adds the column without rewriting the
-- table. The GIN indexes (btree_gin, sql/0120) lead with the tenant and serve cf.{key}=value filters (@>) and the
-- "does any record hold this field" counts (?) of a definitions change.
ALTER TABLE customers ADD COLUMN custom_fields jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT customers_custom_fields_object CHECK (jsonb_typeof(custom_fields) = 'object');
ALTER TABLE contacts ADD COLUMN custom_fields jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT contacts_custom_fields_object CHECK (jsonb_typeof(custom_fields) = 'object');
ALTER TABLE deals ADD COLUMN custom_fields jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT deals_custom_fields_object CHECK (jsonb_typeof(custom_fields) = 'object');

CREATE INDEX customers_custom_fields_idx ON customers USING gin (tenant_id, custom_fields);
CREATE INDEX contacts_custom_fields_idx ON contacts USING gin (tenant_id, custom_fields);
CREATE INDEX deals_custom_fields_idx ON deals USING gin (tenant_id, custom_fields);
