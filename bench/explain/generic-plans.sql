-- Why an unfiltered list page runs with plan_cache_mode = force_generic_plan (KeysetQuery, TenantDatabase.GenericPlan;
-- bench/explain/generic-plans.md), reproducible on a bench database kept after S10 (BENCH_KEEP=1), as the PostgreSQL
-- superuser:
--   psql -X -d shohayota -f bench/explain/generic-plans.sql
-- The page is prepared as Npgsql prepares it, and run as the runtime role under row-level security, for a 10-customer
-- tenant (S10's) and for the biggest tenant.
\pset pager off
SELECT tenant_id AS small FROM customers GROUP BY tenant_id HAVING count(*) = 10 LIMIT 1 \gset
SELECT tenant_id AS big, count(*) AS big_n FROM customers GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1 \gset
\echo small tenant :small, big tenant :big (:big_n rows)

SET ROLE shohayota_app;
PREPARE page(uuid, integer) AS
    SELECT id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version,
           custom_fields::text, lower(name), NULL::real
    FROM customers WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2;

\echo
\echo === 1a. plan_cache_mode = auto (the default), the small tenant, a page of one (LIMIT 2): seven executions
SELECT set_config('app.tenant_id', :'small', false) \gset
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'page';

\echo
\echo === 1b. the same statement prepared again, a page of 50 (LIMIT 51): seven executions
DEALLOCATE page;
PREPARE page(uuid, integer) AS
    SELECT id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version,
           custom_fields::text, lower(name), NULL::real
    FROM customers WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2;
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 51);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 51);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 51);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 51);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 51);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 51);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 51);
SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'page';

\echo
\echo === 2. the generic plan, the small tenant
SET plan_cache_mode = force_generic_plan;
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 2);
EXPLAIN (ANALYZE, SUMMARY) EXECUTE page(:'small', 51);

\echo
\echo === 3. the biggest tenant: its custom plans (LIMIT 2 and 51), then the generic plan
SELECT set_config('app.tenant_id', :'big', false) \gset
SET plan_cache_mode = force_custom_plan;
EXPLAIN EXECUTE page(:'big', 2);
EXPLAIN (ANALYZE, BUFFERS, SUMMARY) EXECUTE page(:'big', 51);
SET plan_cache_mode = force_generic_plan;
EXPLAIN (ANALYZE, BUFFERS, SUMMARY) EXECUTE page(:'big', 51);
