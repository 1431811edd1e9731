-- Search whose index cost follows the tenant's own rows (issue 17). The GIN index of 0120 on
-- (tenant_id, search_text gin_trgm_ops) keeps one posting list per column value: the list of a trigram holds the rows
-- of every tenant, and a search intersects it with the tenant's list, so a small tenant's search read the postings
-- of every other tenant's rows with the same trigrams ("umbrella 12" on a 10,000-customer tenant: 2.1 ms in the index
-- scan for 21 candidates, because 200,000 rows of other tenants share "umbrella"). Here each trigram of a row is
-- hashed together with its tenant into one int8 key, so a key's posting list holds only that tenant's rows.
--
-- Row keys: the trigrams pg_trgm itself extracts (show_trgm: lower-cased words padded with two spaces in front and one
-- behind), each hashed with a seed derived from the tenant. Term keys: only the trigrams every text containing the
-- term as a substring must have (customer_search_term_keys below), hashed the same way. A row containing the term
-- therefore has every key of the term, and the index never misses it; a hash collision only adds a candidate, which
-- the LIKE (or strpos) check on the row removes.

-- The per-tenant seed of the keys.
CREATE FUNCTION customer_search_seed(p_tenant uuid)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN hashtextextended(p_tenant::text, 0);

-- A row's keys: every trigram of its search text, hashed under its tenant's seed. The index expression.
CREATE FUNCTION customer_search_keys(p_tenant uuid, p_text text)
RETURNS bigint[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT coalesce(array_agg(hashtextextended(t.trigram, public.customer_search_seed(p_tenant))), '{}'::bigint[])
    FROM unnest(public.show_trgm(p_text)) AS t(trigram)
$fn$;

-- A term's keys: the trigrams of each run of word characters in the term (a character is a word character when
-- pg_trgm gives it trigrams of its own, so the test is pg_trgm's), keeping only those any text containing the term
-- must have. Inner trigrams always; the padded first ones ("  a", " ab") only when the run does not start the term
-- (a character of the term before it ends the word there), the padded last one ("ab ") only when the run does not
-- end it. pg_trgm shows a trigram with a non-ASCII character as its hash ("0x…", not three characters): those are
-- kept only when the run is bounded on both sides, where every trigram of the word is certain. Empty when the term
-- has no certain trigram (e.g. only punctuation): the caller then cannot use the index.
CREATE FUNCTION customer_search_term_keys(p_tenant uuid, p_term text)
RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_length constant integer := char_length(p_term);
    v_seed constant bigint := customer_search_seed(p_tenant);
    v_keys bigint[] := '{}';
    v_start integer := 0;
    v_left boolean;
    v_right boolean;
    v_trigram text;
BEGIN
    FOR i IN 1 .. v_length + 1 LOOP
        IF i <= v_length AND cardinality(show_trgm(substr(p_term, i, 1))) > 0 THEN
            IF v_start = 0 THEN
                v_start := i;
            END IF;
        ELSIF v_start > 0 THEN
            v_left := v_start > 1;
            v_right := i <= v_length;
            FOREACH v_trigram IN ARRAY show_trgm(substr(p_term, v_start, i - v_start)) LOOP
                IF (v_left AND v_right)
                    OR (char_length(v_trigram) = 3
                        AND (v_left OR left(v_trigram, 1) <> ' ')
                        AND (v_right OR right(v_trigram, 1) <> ' ')) THEN
                    v_keys := v_keys || hashtextextended(v_trigram, v_seed);
                END IF;
            END LOOP;
            v_start := 0;
        END IF;
    END LOOP;
    RETURN v_keys;
END
$fn$;

CREATE INDEX customers_search_keys_idx ON customers USING gin (customer_search_keys(tenant_id, search_text))
    WITH (gin_pending_list_limit = 256);
DROP INDEX customers_tenant_search_idx;

-- customer_search() of 0210, same signature, with the keys:
--   * p_index_term set and a part of the term (the grain's rare part, or the whole term when it has no common trigram
--     or a word of it is narrower than the broad ones): the index with that part's keys, then the whole term checked
--     on each candidate;
--   * p_index_term NULL (a broad term: every trigram of it is in 5 % of the rows or more, or the node has no
--     statistics yet; CommonTrigrams.RarePart): first a walk of at most 1,000 of the tenant's rows in the sort's own
--     order (a broad term fills a page there, as the planner's index walk did before); its matches are the first rows
--     of the answer (it covered a prefix of the order), and when they are fewer than a page the index with the whole
--     term's keys gives the rest;
--   * sort=relevance scores every match: the index at once; no certain trigram at all: the tenant's rows filtered.
CREATE OR REPLACE FUNCTION customer_search(
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
    v_walk constant integer := 1000;
    v_literal text;
    v_pattern text;
    v_index text;
    v_keys bigint[];
    v_match text;
    v_filters text := '';
    v_key text;
    v_after text;
    v_direction text;
    v_keyset text := '';
    v_order text;
    v_columns text;
    v_found integer;
    v_at integer;
    v_from integer;
    v_to integer;
BEGIN
    IF v_tenant IS NULL OR v_term IS NULL OR v_term = '' THEN
        RETURN;
    END IF;

    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 201 THEN
        RAISE EXCEPTION 'customer_search: p_limit must be 1 to 201' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The term is matched literally: LIKE's wildcards and its escape character are escaped.
    v_literal := replace(replace(replace(v_term, '\', '\\'), '%', '\%'), '_', '\_');
    v_columns := 'c.id, c.name, c.email, c.phone, c.company, c.status, c.tags, c.notes, c.owner_user_id, '
        || 'c.created_at, c.updated_at, c.version, c.custom_fields, lower(c.name), '
        || CASE WHEN p_sort = 'relevance' THEN 'similarity(c.search_text, $2)' ELSE 'NULL::real' END;
    IF char_length(v_term) < 3 THEN
        v_pattern := v_literal || '%';
        v_match := '(lower(c.name) LIKE $3 OR lower(c.email) LIKE $3 OR lower(c.company) LIKE $3)';
    ELSE
        v_pattern := '%' || v_literal || '%';
        v_match := 'c.search_text LIKE $3';
        v_index := lower(p_index_term);
        IF v_index IS NOT NULL AND (char_length(v_index) < 3 OR strpos(v_term, v_index) = 0) THEN
            v_index := NULL;
        END IF;
        IF v_index IS NOT NULL AND v_index <> v_term THEN
            -- Only the rare part goes to the index; the whole term is then checked on each candidate row with strpos
            -- (the same literal substring test as LIKE '%term%'). A separator next to the part in the term goes with
            -- it (still a part of the term), so the part's word boundaries there give their padded trigrams too.
            v_at := strpos(v_term, v_index);
            v_from := v_at;
            v_to := v_at + char_length(v_index);
            IF v_from > 1 AND cardinality(show_trgm(substr(v_term, v_from - 1, 1))) = 0 THEN
                v_from := v_from - 1;
            END IF;
            IF v_to <= char_length(v_term) AND cardinality(show_trgm(substr(v_term, v_to, 1))) = 0 THEN
                v_to := v_to + 1;
            END IF;
            v_keys := customer_search_term_keys(v_tenant, substr(v_term, v_from, v_to - v_from));
            v_match := 'strpos(c.search_text, $2) > 0';
        ELSE
            v_keys := customer_search_term_keys(v_tenant, v_term);
        END IF;
        IF cardinality(v_keys) = 0 THEN
            v_keys := NULL;
        END IF;
    END IF;

    IF p_status IS NOT NULL THEN
        v_filters := v_filters || ' AND c.status = $4';
    END IF;
    IF p_tag IS NOT NULL THEN
        v_filters := v_filters || ' AND c.tags @> ARRAY[$5]';
    END IF;
    IF p_owner IS NOT NULL THEN
        v_filters := v_filters || ' AND c.owner_user_id = $6';
    END IF;
    IF p_custom_fields IS NOT NULL THEN
        IF jsonb_typeof(p_custom_fields) <> 'object' THEN
            RAISE EXCEPTION 'customer_search: p_custom_fields must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_filters := v_filters || ' AND c.custom_fields @> $12';
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
            v_keyset := ' AND (similarity(c.search_text, $2) < $9 OR (similarity(c.search_text, $2) = $9 AND c.id > $10))';
        END IF;
        v_order := ' ORDER BY similarity(c.search_text, $2) DESC, c.id ASC';
    ELSE
        IF p_after_id IS NOT NULL THEN
            IF (v_after = '$7' AND p_after_name IS NULL) OR (v_after = '$8' AND p_after_at IS NULL) THEN
                RAISE EXCEPTION 'customer_search: the cursor lacks its sort key' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            v_keyset := format(' AND (%s, c.id) %s (%s, $10)', v_key, CASE v_direction WHEN 'ASC' THEN '>' ELSE '<' END, v_after);
        END IF;
        v_order := format(' ORDER BY %s %s, c.id %s', v_key, v_direction, v_direction);
    END IF;

    v_found := 0;
    IF v_keys IS NOT NULL AND v_index IS NULL AND p_sort <> 'relevance' THEN
        -- A broad term: first the sort's own index over at most v_walk of the tenant's rows. Its matches
        -- are the first rows of the answer (the walk covered a prefix of the order): a whole page ends the search;
        -- otherwise the index answers the rest, skipping the rows the walk already gave (the function is STABLE, so
        -- both statements see one snapshot).
        RETURN QUERY EXECUTE
            'SELECT ' || v_columns
            || ' FROM (SELECT * FROM customers c WHERE c.tenant_id = $1' || v_keyset || v_order || ' LIMIT ' || v_walk || ') c'
            || ' WHERE ' || v_match || v_filters || v_order || ' LIMIT $11'
            USING v_tenant, v_term, v_pattern, p_status, p_tag, p_owner, p_after_name, p_after_at, p_after_score, p_after_id, p_limit, p_custom_fields;
        GET DIAGNOSTICS v_found = ROW_COUNT;
        IF v_found >= p_limit THEN
            RETURN;
        END IF;
    END IF;

    RETURN QUERY EXECUTE
        'SELECT ' || v_columns || ' FROM customers c WHERE '
        -- With keys the tenant is in them already: its check stays on every row (a hash collision with another
        -- tenant's trigram only makes a candidate) but must not become a second index scan over all its rows.
        || CASE WHEN v_keys IS NULL THEN 'c.tenant_id = $1 AND '
                ELSE 'customer_search_keys(c.tenant_id, c.search_text) @> $13 AND (c.tenant_id = $1) IS TRUE AND ' END
        || v_match || v_filters || v_keyset || v_order || ' LIMIT $11 OFFSET $14'
        USING v_tenant, v_term, v_pattern, p_status, p_tag, p_owner, p_after_name, p_after_at, p_after_score, p_after_id,
            p_limit - v_found, p_custom_fields, v_keys, v_found;
END
$fn$;
