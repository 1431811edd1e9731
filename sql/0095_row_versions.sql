-- Optimistic concurrency in SQL. A record's UPDATE/DELETE names the version its writer read
-- (`... AND version = $n`); when that matched no row, someone else changed the record first and this write must not
-- be acknowledged. The statement hands its row count here, which refuses a count of zero like a violated constraint
-- (check_violation naming p_constraint): the audit writer then rolls back the change together with its entry.
CREATE FUNCTION expect_rows_changed(p_rows bigint, p_constraint text) RETURNS void
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $fn$
BEGIN
    IF p_rows = 0 THEN
        RAISE EXCEPTION 'the record was changed by another writer (%)', p_constraint
            USING ERRCODE = 'check_violation', CONSTRAINT = p_constraint;
    END IF;
END
$fn$;
REVOKE ALL ON FUNCTION expect_rows_changed(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION expect_rows_changed(bigint, text) TO shohayota_app;
