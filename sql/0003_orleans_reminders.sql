-- Orleans reminders for Microsoft.Orleans.Reminders.AdoNet (10.4.x); the named queries go into the
-- orleansquery table from 0001 (see there for how the providers load and run them).
--
-- Reminders contract, as the provider uses it:
-- * a reminder is addressed by ServiceId, @GrainId (GrainId.ToString()) and @ReminderName;
-- * @GrainHash is the grain's uniform hash (a uint) passed as a signed integer. Each silo reads the
--   reminders of its slice (@BeginHash, @EndHash] of the hash ring: ReadRangeRows1Key when the slice does
--   not wrap in signed order, ReadRangeRows2Key when it does (also when begin = end: the whole ring);
-- * @Period arrives in milliseconds; the ETag is the row's integer version: Upsert returns the new version,
--   Delete only removes the row at version @Version and answers whether it did.

CREATE TABLE orleans_reminders (
    service_id    text NOT NULL,
    grain_id      text NOT NULL,
    reminder_name text NOT NULL,
    start_time    timestamptz NOT NULL,
    period_ms     bigint NOT NULL,
    grain_hash    integer NOT NULL,
    version       integer NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX orleans_reminders_ring ON orleans_reminders (service_id, grain_hash);

COMMENT ON TABLE orleans_reminders IS
    'Orleans reminders, read by each silo for its slice of the grain hash ring. See orleansquery.';

INSERT INTO orleansquery (querykey, querytext) VALUES

('UpsertReminderRowKey', $$
INSERT INTO orleans_reminders (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
   SET start_time = excluded.start_time,
       period_ms = excluded.period_ms,
       grain_hash = excluded.grain_hash,
       version = CASE WHEN orleans_reminders.version = 2147483647 THEN 0 ELSE orleans_reminders.version + 1 END
RETURNING version AS version;
$$),

('ReadReminderRowsKey', $$
SELECT grain_id AS grainid, reminder_name AS remindername, start_time AS starttime,
       period_ms AS period, version AS version
  FROM orleans_reminders
 WHERE service_id = @ServiceId
   AND grain_id = @GrainId;
$$),

('ReadReminderRowKey', $$
SELECT grain_id AS grainid, reminder_name AS remindername, start_time AS starttime,
       period_ms AS period, version AS version
  FROM orleans_reminders
 WHERE service_id = @ServiceId
   AND grain_id = @GrainId
   AND reminder_name = @ReminderName;
$$),

('ReadRangeRows1Key', $$
SELECT grain_id AS grainid, reminder_name AS remindername, start_time AS starttime,
       period_ms AS period, version AS version
  FROM orleans_reminders
 WHERE service_id = @ServiceId
   AND grain_hash > @BeginHash
   AND grain_hash <= @EndHash;
$$),

('ReadRangeRows2Key', $$
SELECT grain_id AS grainid, reminder_name AS remindername, start_time AS starttime,
       period_ms AS period, version AS version
  FROM orleans_reminders
 WHERE service_id = @ServiceId
   AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
$$),

-- One boolean: whether the row at version @Version was removed.
('DeleteReminderRowKey', $$
WITH removed AS (
    DELETE FROM orleans_reminders
     WHERE service_id = @ServiceId
       AND grain_id = @GrainId
       AND reminder_name = @ReminderName
       AND version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM removed);
$$),

('DeleteReminderRowsKey', $$
DELETE FROM orleans_reminders
 WHERE service_id = @ServiceId;
$$);

GRANT SELECT, INSERT, UPDATE, DELETE ON orleans_reminders TO shohayota_app;
