-- Customer search whose cost follows the tenant's own rows (issue 17). Why it is built this way, with the plans that
-- show it: bench/explain/search.md.
--
-- btree_gin lets the trigram index start with the tenant, so one index scan intersects the tenant's rows with the
-- term's trigrams instead of collecting the term's matches of every tenant. (pg_trgm and btree_gin are trusted
-- extensions: the database owner, who runs the migrations, may create them.)
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- New rows wait in the index's pending list until (auto)vacuum or an insert that fills it moves them into the index,
-- and every search reads the whole list, whatever its tenant: 256 kB (the default is 4 MB) keeps that read to a few
-- dozen pages while inserts stay cheap.
CREATE INDEX customers_tenant_search_idx ON customers USING gin (tenant_id, search_text gin_trgm_ops)
    WITH (gin_pending_list_limit = 256);
DROP INDEX customers_search_idx;

-- Terms of 1–2 characters have no trigram. They match names, e-mail addresses and companies that start with them
-- (case-insensitive), through these prefix indexes (text_pattern_ops: LIKE 'ab%' whatever the database's collation).
CREATE INDEX customers_name_prefix_idx ON customers (tenant_id, lower(name) text_pattern_ops);
CREATE INDEX customers_email_prefix_idx ON customers (tenant_id, lower(email) text_pattern_ops);
CREATE INDEX customers_company_prefix_idx ON customers (tenant_id, lower(company) text_pattern_ops);

DROP FUNCTION customer_search_ids(text);

-- One page of the transaction's tenant's customers matching p_term, with the list's filters, sort and keyset cursor,
-- LIMIT included, so PostgreSQL stops after one page.
--
-- Why SECURITY DEFINER: under FORCE ROW LEVEL SECURITY the planner may not use a qual that is not leakproof (LIKE,
-- similarity) as an index condition below the policy's qual, so as the runtime role the trigram and prefix indexes are
-- never used and every search reads all of the tenant's rows. The owner bypasses RLS; this function therefore takes the
-- tenant only from app_current_tenant() (no tenant set: no rows) and filters by it itself. Every value reaches the
-- query as a parameter; the sort is one of a fixed list. EXECUTE builds a plan for the actual values each call, so
-- the planner can choose between the search index (rare term) and walking the sort's index (common term).
CREATE FUNCTION customer_search(
    p_term text,
    p_sort text,
    p_limit integer,
    p_status text DEFAULT NULL,
    p_tag text DEFAULT NULL,
    p_owner uuid DEFAULT NULL,
    p_after_name text DEFAULT NULL,
    p_after_at timestamptz DEFAULT NULL,
    p_after_score real DEFAULT NULL,
    p_after_id uuid DEFAULT NULL)
RETURNS TABLE (
    id uuid, name text, email text, phone text, company text, status text, tags text[], notes text, owner_user_id uuid,
    created_at timestamptz, updated_at timestamptz, version integer, sort_name text, score real)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
ROWS 50
AS $fn$
DECLARE
    v_tenant constant uuid := app_current_tenant();
    v_term constant text := lower(p_term);
    v_literal text;
    v_pattern text;
    v_key text;
    v_after text;
    v_direction text;
    v_sql text;
BEGIN
    IF v_tenant IS NULL OR v_term IS NULL OR v_term = '' THEN
        RETURN;
    END IF;

    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 201 THEN
        RAISE EXCEPTION 'customer_search: p_limit must be 1 to 201' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The term is matched literally: LIKE's wildcards and its escape character are escaped.
    v_literal := replace(replace(replace(v_term, '\', '\\'), '%', '\%'), '_', '\_');
    v_sql := 'SELECT c.id, c.name, c.email, c.phone, c.company, c.status, c.tags, c.notes, c.owner_user_id, '
        || 'c.created_at, c.updated_at, c.version, lower(c.name), '
        || CASE WHEN p_sort = 'relevance' THEN 'similarity(c.search_text, $2)' ELSE 'NULL::real' END
        || ' FROM customers c WHERE c.tenant_id = $1 AND ';
    IF char_length(v_term) < 3 THEN
        v_pattern := v_literal || '%';
        v_sql := v_sql || '(lower(c.name) LIKE $3 OR lower(c.email) LIKE $3 OR lower(c.company) LIKE $3)';
    ELSE
        v_pattern := '%' || v_literal || '%';
        v_sql := v_sql || 'c.search_text LIKE $3';
    END IF;

    IF p_status IS NOT NULL THEN
        v_sql := v_sql || ' AND c.status = $4';
    END IF;
    IF p_tag IS NOT NULL THEN
        v_sql := v_sql || ' AND c.tags @> ARRAY[$5]';
    END IF;
    IF p_owner IS NOT NULL THEN
        v_sql := v_sql || ' AND c.owner_user_id = $6';
    END IF;

    CASE p_sort
        WHEN 'name' THEN v_key := 'lower(c.name)'; v_direction := 'ASC'; v_after := '$7';
        WHEN '-name' THEN v_key := 'lower(c.name)'; v_direction := 'DESC'; v_after := '$7';
        WHEN 'createdAt' THEN v_key := 'c.created_at'; v_direction := 'ASC'; v_after := '$8';
        WHEN '-createdAt' THEN v_key := 'c.created_at'; v_direction := 'DESC'; v_after := '$8';
        WHEN 'updatedAt' THEN v_key := 'c.updated_at'; v_direction := 'ASC'; v_after := '$8';
        WHEN '-updatedAt' THEN v_key := 'c.updated_at'; v_direction := 'DESC'; v_after := '$8';
        WHEN 'relevance' THEN NULL;
        ELSE RAISE EXCEPTION 'customer_search: unknown sort' USING ERRCODE = 'invalid_parameter_value';
    END CASE;

    IF p_sort = 'relevance' THEN
        -- Most similar first, then by id; the cursor carries the last row's score (real, compared exactly).
        IF p_after_id IS NOT NULL THEN
            IF p_after_score IS NULL THEN
                RAISE EXCEPTION 'customer_search: the cursor lacks its score' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            v_sql := v_sql || ' AND (similarity(c.search_text, $2) < $9 OR (similarity(c.search_text, $2) = $9 AND c.id > $10))';
        END IF;
        v_sql := v_sql || ' ORDER BY similarity(c.search_text, $2) DESC, c.id ASC';
    ELSE
        IF p_after_id IS NOT NULL THEN
            IF (v_after = '$7' AND p_after_name IS NULL) OR (v_after = '$8' AND p_after_at IS NULL) THEN
                RAISE EXCEPTION 'customer_search: the cursor lacks its sort key' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            v_sql := v_sql || format(' AND (%s, c.id) %s (%s, $10)', v_key, CASE v_direction WHEN 'ASC' THEN '>' ELSE '<' END, v_after);
        END IF;
        v_sql := v_sql || format(' ORDER BY %s %s, c.id %s', v_key, v_direction, v_direction);
    END IF;

    RETURN QUERY EXECUTE v_sql || ' LIMIT $11'
        USING v_tenant, v_term, v_pattern, p_status, p_tag, p_owner, p_after_name, p_after_at, p_after_score, p_after_id, p_limit;
END
$fn$;
REVOKE ALL ON FUNCTION customer_search(text, text, integer, text, text, uuid, text, timestamptz, real, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION customer_search(text, text, integer, text, text, uuid, text, timestamptz, real, uuid) TO shohayota_app;
