-- PostgreSQL's JIT compilation off for this database (issue 17). It compiles any statement whose estimated cost is
-- above jit_above_cost (100,000), and what costs that much here is a large tenant's sum over its rows (the storage a
-- TenantGrain reads when it activates, a restore's recount), which runs once and reads rows without heavy expressions:
-- on a 100,000-customer tenant the storage sum took 185 ms with JIT in a session's first compiled statement (loading
-- LLVM), 51 ms without, and with JIT the runs after it were no faster (50 ms). Pooled sessions are replaced over time,
-- so the first of them kept coming back. Set on the database, so every role's new sessions have it; a database the
-- migrating role does not own (an operator's own setup) keeps its setting, and the node logs a warning
-- at every start (Migrator.WarnIfJitIsOnAsync).
DO $jit$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  -- The migrator checks the setting after every run and logs a warning while JIT is on.
  NULL;
END
$jit$;
