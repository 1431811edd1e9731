-- The plans behind S13 (bench/explain/deals.md), on a bench database that ran S13 (kept with BENCH_KEEP=1), as the
-- PostgreSQL superuser:
--   psql -X -d shohayota -f bench/explain/deals.sql
-- Every query as the runtime role shohayota_app under row-level security, in one transaction with the tenant set as
-- TenantDatabase sets it, written as the grains send it (PipelineGrain.SummaryAsync, DealQueryGrain's KeysetQuery,
-- CustomerQueryGrain's page for comparison). The tenant is the one with the most deals.
\pset pager off
SELECT tenant_id AS big, count(*) AS deals_n FROM deals GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1 \gset
SELECT count(*) AS stages_n FROM pipeline_stages WHERE tenant_id = :'big' \gset
SELECT count(*) AS links_n FROM deal_contacts WHERE tenant_id = :'big' \gset
SELECT count(*) AS all_deals_n FROM deals \gset
-- S13b's kind of cursor: a row from the older half, newest first.
SELECT created_at AS deep_at, id AS deep_id FROM deals WHERE tenant_id = :'big'
ORDER BY created_at DESC, id DESC OFFSET (:deals_n * 3 / 4) LIMIT 1 \gset
SELECT created_at AS c_deep_at, id AS c_deep_id FROM customers WHERE tenant_id = :'big'
ORDER BY created_at DESC, id DESC OFFSET (SELECT count(*) * 3 / 4 FROM customers WHERE tenant_id = :'big') LIMIT 1 \gset
\echo tenant :big: :deals_n deals (:all_deals_n in the table), :stages_n stages, :links_n contact links

SET ROLE shohayota_app;
BEGIN;
SELECT set_config('app.tenant_id', :'big', true) \gset

\echo
\echo === 1. GET /api/pipeline: PipelineGrain.SummaryAsync (the tenant from row-level security alone)
EXPLAIN (ANALYZE, BUFFERS)
SELECT stage_id, currency, count(*)::integer, sum(amount) FROM deals GROUP BY stage_id, currency ORDER BY stage_id, currency;
\echo === 1. the same, second run (what every request after the first one sees)
EXPLAIN (ANALYZE, BUFFERS)
SELECT stage_id, currency, count(*)::integer, sum(amount) FROM deals GROUP BY stage_id, currency ORDER BY stage_id, currency;

\echo
\echo === 2. GET /api/deals first page (S13a): DealQueryGrain, 50 rows + 1, newest first, each with its contact ids
EXPLAIN (ANALYZE, BUFFERS)
SELECT id, name, customer_id, ARRAY(SELECT dc.contact_id FROM deal_contacts dc WHERE dc.tenant_id = deals.tenant_id AND dc.deal_id = deals.id ORDER BY dc.contact_id),
       amount, currency, stage_id, status, expected_close_date, owner_user_id, closed_at, created_at, updated_at, version
FROM deals WHERE tenant_id = :'big' ORDER BY created_at DESC, id DESC LIMIT 51;
\echo === 2. GET /api/deals deep keyset page (S13b): after a row three quarters down
EXPLAIN (ANALYZE, BUFFERS)
SELECT id, name, customer_id, ARRAY(SELECT dc.contact_id FROM deal_contacts dc WHERE dc.tenant_id = deals.tenant_id AND dc.deal_id = deals.id ORDER BY dc.contact_id),
       amount, currency, stage_id, status, expected_close_date, owner_user_id, closed_at, created_at, updated_at, version
FROM deals WHERE tenant_id = :'big' AND (created_at, id) < (:'deep_at', :'deep_id') ORDER BY created_at DESC, id DESC LIMIT 51;

\echo
\echo === 3. for comparison, GET /api/customers first page (S3a) and a deep keyset page (S3b) of the same tenant
EXPLAIN (ANALYZE, BUFFERS)
SELECT id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version, lower(name), NULL::real
FROM customers WHERE tenant_id = :'big' ORDER BY created_at DESC, id DESC LIMIT 51;
EXPLAIN (ANALYZE, BUFFERS)
SELECT id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version, lower(name), NULL::real
FROM customers WHERE tenant_id = :'big' AND (created_at, id) < (:'c_deep_at', :'c_deep_id') ORDER BY created_at DESC, id DESC LIMIT 51;

\echo
\echo === 4. not what the Api runs: the summary with the tenant written into the query (as every list query has it)
EXPLAIN (ANALYZE, BUFFERS)
SELECT stage_id, currency, count(*)::integer, sum(amount) FROM deals WHERE tenant_id = :'big' GROUP BY stage_id, currency ORDER BY stage_id, currency;
\echo === 4. not what the Api runs: the summary as an index-only scan of deals_stage_idx (sequential scans off)
SET LOCAL enable_seqscan = off;
EXPLAIN (ANALYZE, BUFFERS)
SELECT stage_id, currency, count(*)::integer, sum(amount) FROM deals GROUP BY stage_id, currency ORDER BY stage_id, currency;
ROLLBACK;
