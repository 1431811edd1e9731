-- The super-admin's tenant list searches names anywhere in them (`?q=`: lower(name) LIKE '%term%'), which the prefix
-- index tenants_name_idx cannot serve: at 10,000 tenants every search that matched few of them read the whole table
-- (bench S10e, p99 70 ms at 16 connections). The registry has no row-level security, so the planner may use a trigram
-- index for LIKE directly; terms of 1–2 characters still walk the list in id order, which stops after one page when
-- the term is common. (pg_trgm comes from 0020.)
CREATE INDEX tenants_name_trgm_idx ON tenants USING gin (lower(name) gin_trgm_ops);
