-- A customer search that also filters by custom field values (issue 14: `q` with `cf.{key}=value`). customer_search()
-- pages by itself (keyset and LIMIT inside), so a filter applied after it would cut pages short: the filter goes into
-- the function's own query, next to the status, tag and owner filters. p_custom_fields is a jsonb object every match
-- must contain (custom_fields @> p_custom_fields, the test the list without a term makes); NULL filters nothing.
-- The rows now carry custom_fields too, so the caller no longer joins customers again to read them.
DROP FUNCTION customer_search(text, text, integer, text, text, uuid, text, timestamptz, real, uuid, text);

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
    p_after_id uuid DEFAULT NULL,
    p_index_term text DEFAULT NULL,
    p_custom_fields jsonb DEFAULT NULL)
RETURNS TABLE (
    id uuid, name text, email text, phone text, company text, status text, tags text[], notes text, owner_user_id uuid,
    created_at timestamptz, updated_at timestamptz, version integer, custom_fields jsonb, sort_name text, score real)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
ROWS 50
AS $fn$
DECLARE
    v_tenant constant uuid := app_current_tenant();
    v_term constant text := lower(p_term);
    v_literal text;
    v_pattern text;
    v_index text;
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
        || 'c.created_at, c.updated_at, c.version, c.custom_fields, lower(c.name), '
        || CASE WHEN p_sort = 'relevance' THEN 'similarity(c.search_text, $2)' ELSE 'NULL::real' END
        || ' FROM customers c WHERE c.tenant_id = $1 AND ';
    IF char_length(v_term) < 3 THEN
        v_pattern := v_literal || '%';
        v_sql := v_sql || '(lower(c.name) LIKE $3 OR lower(c.email) LIKE $3 OR lower(c.company) LIKE $3)';
    ELSE
        v_pattern := '%' || v_literal || '%';
        v_index := lower(p_index_term);
        IF v_index IS NOT NULL AND char_length(v_index) >= 3 AND v_index <> v_term AND strpos(v_term, v_index) > 0 THEN
            -- Only the rare part of the term goes to the trigram index; the whole term is then checked on each
            -- candidate row with strpos (the same literal substring test as LIKE '%term%', which no index serves).
            v_pattern := '%' || replace(replace(replace(v_index, '\', '\\'), '%', '\%'), '_', '\_') || '%';
            v_sql := v_sql || 'c.search_text LIKE $3 AND strpos(c.search_text, $2) > 0';
        ELSE
            v_sql := v_sql || 'c.search_text LIKE $3';
        END IF;
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
    IF p_custom_fields IS NOT NULL THEN
        IF jsonb_typeof(p_custom_fields) <> 'object' THEN
            RAISE EXCEPTION 'customer_search: p_custom_fields must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_sql := v_sql || ' AND c.custom_fields @> $12';
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
        USING v_tenant, v_term, v_pattern, p_status, p_tag, p_owner, p_after_name, p_after_at, p_after_score, p_after_id, p_limit, p_custom_fields;
END
$fn$;
REVOKE ALL ON FUNCTION customer_search(text, text, integer, text, text, uuid, text, timestamptz, real, uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION customer_search(text, text, integer, text, text, uuid, text, timestamptz, real, uuid, text, jsonb) TO shohayota_app;
