-- The plans behind sql/0260 (bench/explain/tags.md), reproducible on a bench database (seeded by bench/Load: the tag
-- "rare" on one customer in 1,000, "tag0" … "tag19" on one in 20 each), as the PostgreSQL superuser:
--   psql -X -d shohayota -f bench/explain/tags.sql
-- Part 1: the list page with a tag filter as the runtime role under row-level security (what a list did before 0260,
-- and still does for a common tag). Part 2: customer_tag_ids(), whose inner plan auto_explain prints (nested
-- statements), then the page among its ids as the runtime role. On the biggest tenant.
\pset pager off
SELECT tenant_id AS big, count(*) AS big_n FROM customers GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1 \gset
\echo big tenant :big (:big_n rows)

SET ROLE shohayota_app;
BEGIN;
SELECT set_config('app.tenant_id', :'big', true) \gset
\echo
\echo === 1. plain page under RLS, a tag on 1 row in 1,000
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, name FROM customers WHERE tenant_id = :'big' AND tags @> ARRAY['rare'] ORDER BY updated_at DESC, id DESC LIMIT 51;
\echo === 1. plain page under RLS, a tag no row has
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, name FROM customers WHERE tenant_id = :'big' AND tags @> ARRAY['none'] ORDER BY updated_at DESC, id DESC LIMIT 51;
\echo === 1. plain page under RLS, a tag on 1 row in 20
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, name FROM customers WHERE tenant_id = :'big' AND tags @> ARRAY['tag7'] ORDER BY updated_at DESC, id DESC LIMIT 51;
ROLLBACK;
RESET ROLE;

LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SET client_min_messages = notice;
SET ROLE shohayota_app;
BEGIN;
SELECT set_config('app.tenant_id', :'big', true) \gset
\echo
\echo === 2. customer_tag_ids, the keys of a tag on 1 row in 1,000 (the inner plan is the second notice)
SELECT cardinality(customer_tag_ids('rare', 1000)) AS ids;
RESET ROLE;
SET LOCAL auto_explain.log_min_duration = -1;
SET LOCAL ROLE shohayota_app;
SELECT customer_tag_ids('rare', 1000) AS ids \gset
\echo === 2. the page among those ids under RLS
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, name FROM customers WHERE tenant_id = :'big' AND tags @> ARRAY['rare'] AND id = ANY(:'ids'::uuid[])
ORDER BY updated_at DESC, id DESC LIMIT 51;
ROLLBACK;
