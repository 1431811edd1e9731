-- The plans behind sql/0120 and sql/0240 (bench/explain/search.md), reproducible on a bench database, as the PostgreSQL superuser:
--   psql -X -d shohayota -f bench/explain/search.sql
-- Part 1: the plain page query as the runtime role under row-level security. Part 2: customer_search(), whose inner
-- plan auto_explain prints (nested statements). Both for a long and a short term, on the biggest tenant and on a
-- 10,000-customer tenant.
\pset pager off
SELECT tenant_id AS big, count(*) AS big_n FROM customers GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1 \gset
SELECT tenant_id AS small, count(*) AS small_n FROM customers GROUP BY tenant_id HAVING count(*) BETWEEN 5000 AND 20000 ORDER BY tenant_id LIMIT 1 \gset
SELECT 'customer' || (:big_n / 2) || '@' AS big_term, 'customer' || (:small_n / 2) || '@' AS small_term \gset
\echo big tenant :big (:big_n rows), small tenant :small (:small_n rows), terms :big_term / :small_term / zq / gl / globex

SET ROLE shohayota_app;

\echo
\echo === 1. plain query under RLS, long term, big tenant
BEGIN;
SELECT set_config('app.tenant_id', :'big', true) \gset
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, name FROM customers
WHERE tenant_id = :'big' AND search_text LIKE '%' || :'big_term' || '%'
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo === 1. plain query under RLS, short rare term (name, e-mail or company starts with it), big tenant
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, name FROM customers
WHERE tenant_id = :'big' AND (lower(name) LIKE 'zq%' OR lower(email) LIKE 'zq%' OR lower(company) LIKE 'zq%')
ORDER BY created_at DESC, id DESC LIMIT 51;
\echo === 1. plain query under RLS, long term, small tenant
SELECT set_config('app.tenant_id', :'small', true) \gset
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, name FROM customers
WHERE tenant_id = :'small' AND search_text LIKE '%' || :'small_term' || '%'
ORDER BY created_at DESC, id DESC LIMIT 51;
ROLLBACK;

RESET ROLE;
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_timing = on;
SET auto_explain.log_nested_statements = on;
SET client_min_messages = log;
SET ROLE shohayota_app;

\echo
\echo === 2. customer_search(), long term, big tenant (warm-up call first: plpgsql compiles once per connection)
BEGIN;
SELECT set_config('app.tenant_id', :'big', true) \gset
SELECT count(*) FROM customer_search('warm-up', '-createdAt', 51) \gset
SELECT id, name FROM customer_search(:'big_term', '-createdAt', 51) WITH ORDINALITY AS page ORDER BY page.ordinality;
\echo === 2. customer_search(), short rare term, big tenant
SELECT count(*) FROM customer_search('zq', '-createdAt', 51);
\echo === 2. customer_search(), short common term, big tenant (a company on every tenth row starts with it)
SELECT count(*) FROM customer_search('gl', '-createdAt', 51);
\echo === 2. customer_search(), broad term, big tenant (a company on every tenth row)
SELECT count(*) FROM customer_search('globex', '-createdAt', 51);
\echo === 2. customer_search(), broad term sorted by relevance, big tenant (every match is scored)
SELECT count(*) FROM customer_search('globex', 'relevance', 51);
\echo === 2. customer_search(), long term, small tenant
SELECT set_config('app.tenant_id', :'small', true) \gset
SELECT id, name FROM customer_search(:'small_term', '-createdAt', 51) WITH ORDINALITY AS page ORDER BY page.ordinality;
\echo === 2. customer_search(), short term, small tenant
SELECT count(*) FROM customer_search('gl', '-createdAt', 51);
ROLLBACK;

-- Part 3 (sql/0240): the keys per tenant. A term with a rare part (here the whole term, as the grain sends it when
-- none of its trigrams is common) goes straight to customers_search_keys_idx; a term common in the table (no part
-- sent) walks the sort's index first, and the keys give the rest of the page when the walk finds less than one.
\echo
\echo === 3. customer_search(), a company and a number, small tenant, as a rare term: the keys only
BEGIN;
SELECT set_config('app.tenant_id', :'small', true) \gset
SELECT count(*) FROM customer_search('umbrella 12', '-createdAt', 51, p_index_term => 'umbrella 12');
\echo === 3. customer_search(), the same term as a common one: the walk (1,000 rows, 1 match), then the keys
SELECT count(*) FROM customer_search('umbrella 12', '-createdAt', 51);
\echo === 3. customer_search(), broad common term, big tenant: the walk fills the page
SELECT set_config('app.tenant_id', :'big', true) \gset
SELECT count(*) FROM customer_search('globex', '-createdAt', 51);
\echo === 3. customer_search(), a rare part ("33333" of "customer 33333", with the space before it), big tenant
SELECT count(*) FROM customer_search('customer 33333', '-createdAt', 51, p_index_term => '33333');
ROLLBACK;
