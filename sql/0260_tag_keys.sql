-- Tag filters whose cost follows the tenant's matching rows (issue 17). Under row-level security a list's
-- `tags @> ARRAY[…]` can never be an index condition: arraycontains is not leakproof, so the planner must check the
-- policy first (restriction_is_securely_promotable(), bench/explain/search.md). A tag filter therefore walked the sort's
-- index through the tenant's rows until a page matched: 55 ms for a tag none of the bench's big tenant's 100,064 rows
-- has, whatever the index. The indexes of 0020 (customers: `tags` alone) and 0170 (contacts: `tenant_id, tags`) served
-- the runtime role no tag condition (the contacts one at most a tenant's rows, which its other tenant-leading indexes
-- give too), and cost every write: they are dropped.
--
-- Here each tag of a row is hashed with its tenant into one int8 key, so a key's posting list holds only that tenant's
-- rows with that tag, and customer_tag_ids() / contact_tag_ids() (SECURITY DEFINER, as customer_search(): the owner is
-- BYPASSRLS) read it for the transaction's tenant. The grain walks the sort's first 2,000 rows first (a common tag fills
-- a page there) and asks for the ids only when it did not: at most p_limit of them, or NULL when more rows have the tag
-- (the grain then walks the order, as before).

-- A row's keys: each tag hashed under a seed of its tenant (another seed than the search keys'). The index expression.
CREATE FUNCTION record_tag_keys(p_tenant uuid, p_tags text[])
RETURNS bigint[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT coalesce(array_agg(hashtextextended(t.tag, hashtextextended(p_tenant::text, 1))), '{}'::bigint[])
    FROM unnest(p_tags) AS t(tag)
$fn$;

CREATE INDEX customers_tag_keys_idx ON customers USING gin (record_tag_keys(tenant_id, tags))
    WITH (gin_pending_list_limit = 256);
CREATE INDEX contacts_tag_keys_idx ON contacts USING gin (record_tag_keys(tenant_id, tags))
    WITH (gin_pending_list_limit = 256);
DROP INDEX customers_tags_idx;
DROP INDEX contacts_tags_idx;

-- The ids of the transaction's tenant's customers with the tag p_tag: at most p_limit (1 to 10,000), or NULL when more
-- have it. The tenant comes only from app_current_tenant() (none: no ids). The inner query reads the tag's key alone
-- (OFFSET 0 keeps the tenant's condition out of it, or the planner would AND the index with the tenant's whole posting
-- list of another index); the tenant and the tag itself are then checked on each row, so a hash collision with another
-- tenant's or another tag's key only adds a row that is dropped.
CREATE FUNCTION customer_tag_ids(p_tag text, p_limit integer)
RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    SELECT CASE WHEN count(*) > least(greatest(p_limit, 1), 10000) THEN NULL ELSE coalesce(array_agg(m.id), '{}') END
    FROM (SELECT k.id
          FROM (SELECT c.id, c.tenant_id, c.tags
                FROM customers c
                WHERE record_tag_keys(c.tenant_id, c.tags) @> record_tag_keys(app_current_tenant(), ARRAY[p_tag])
                OFFSET 0) AS k
          WHERE k.tenant_id = app_current_tenant() AND k.tags @> ARRAY[p_tag]
          LIMIT least(greatest(p_limit, 1), 10000) + 1) AS m
$fn$;

CREATE FUNCTION contact_tag_ids(p_tag text, p_limit integer)
RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
    SELECT CASE WHEN count(*) > least(greatest(p_limit, 1), 10000) THEN NULL ELSE coalesce(array_agg(m.id), '{}') END
    FROM (SELECT k.id
          FROM (SELECT c.id, c.tenant_id, c.tags
                FROM contacts c
                WHERE record_tag_keys(c.tenant_id, c.tags) @> record_tag_keys(app_current_tenant(), ARRAY[p_tag])
                OFFSET 0) AS k
          WHERE k.tenant_id = app_current_tenant() AND k.tags @> ARRAY[p_tag]
          LIMIT least(greatest(p_limit, 1), 10000) + 1) AS m
$fn$;

REVOKE ALL ON FUNCTION customer_tag_ids(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION customer_tag_ids(text, integer) TO shohayota_app;
REVOKE ALL ON FUNCTION contact_tag_ids(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION contact_tag_ids(text, integer) TO shohayota_app;
