-- A migrated database seeded like bench/Load (10 tenants × 10,000 customers + one of 100,000), as the superuser:
--   psql -d shohayota -f bench/explain/seed.sql && psql -d shohayota -c "VACUUM (ANALYZE) customers"
-- (or keep a bench run's database: BENCH_KEEP=1 bench/run.sh).
CREATE TEMP TABLE plan(slug text, tenant uuid, n int);
INSERT INTO plan SELECT 't' || lpad(i::text, 2, '0'), gen_random_uuid(), 10000 FROM generate_series(1, 10) i;
INSERT INTO plan VALUES ('big', gen_random_uuid(), 100000);
INSERT INTO tenants (id, name, contact_email, plan, status, created_at, status_changed_at, updated_at)
SELECT tenant, 'Bench ' || slug, 'c@' || slug || '.test', 'pro', 'active', now(), now(), now() FROM plan;
INSERT INTO customers (tenant_id, id, name, email, phone, company, status, tags, notes, owner_user_id, created_at, updated_at, version)
SELECT p.tenant, gen_random_uuid(), 'Customer ' || g, 'customer' || g || '@' || p.slug || '.bench.example.com',
       '+1-555-' || lpad((g % 10000)::text, 4, '0'),
       (ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Stark','Wayne','Wonka','Tyrell','Cyberdyne'])[1 + g % 10] || ' ' || (g % 997),
       (ARRAY['lead','prospect','customer','churned'])[1 + g % 4], ARRAY['tag' || (g % 20)],
       CASE WHEN g % 5 = 0 THEN 'Met at the ' || g % 12 || 'th trade fair; follow up in spring.' END, NULL,
       now() - interval '1 hour' - g * interval '1 second', now() - interval '1 hour' - g * interval '1 second', 1
FROM plan p, generate_series(1, p.n) g;
