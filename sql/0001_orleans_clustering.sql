-- Orleans cluster membership for Microsoft.Orleans.Clustering.AdoNet (10.4.x).
--
-- The ADO.NET providers keep no SQL of their own: at start-up they run
--     SELECT QueryKey, QueryText FROM OrleansQuery
-- (unquoted, so PostgreSQL folds it to orleansquery/querykey/querytext) and then execute the stored text
-- for each operation with Npgsql, binding parameters named @DeploymentId, @Address, ... .
-- Result columns are looked up by name, and Npgsql falls back to a case-insensitive match, so the queries
-- alias our snake_case columns to the provider's names folded to lower case (version, proxyport, ...).
--
-- Membership contract, as the provider uses it:
-- * each cluster (Orleans ClusterId, which the provider calls DeploymentId) has one version row; every
--   insert or update of a silo row is a compare-and-swap on that version (@Version is the version the silo
--   last read) and bumps it in the same statement, or changes nothing and answers false;
-- * every silo row's ETag is the table version it was read with, so reads return the version on every row
--   and still return one row (with NULL silo columns) when the cluster has no silos yet;
-- * heartbeats (IAmAlive) and clean-up of dead silos do not bump the version.

CREATE TABLE orleansquery (
    querykey  text PRIMARY KEY,
    querytext text NOT NULL
);

COMMENT ON TABLE orleansquery IS
    'Named SQL the Orleans ADO.NET providers load at start-up (clustering, grain storage, reminders).';

CREATE TABLE orleans_membership_version (
    deployment_id text PRIMARY KEY,
    version       integer NOT NULL DEFAULT 0,
    changed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orleans_membership (
    deployment_id   text NOT NULL REFERENCES orleans_membership_version ON DELETE CASCADE,
    address         text NOT NULL,
    port            integer NOT NULL,
    generation      integer NOT NULL,
    silo_name       text NOT NULL,
    host_name       text NOT NULL,
    -- Orleans SiloStatus: 1 Created, 2 Joining, 3 Active, 4 ShuttingDown, 5 Stopping, 6 Dead.
    status          integer NOT NULL,
    -- 0 when the silo runs no gateway.
    proxy_port      integer NOT NULL,
    -- "silo-address,yyyy-MM-dd HH:mm:ss.fff GMT" votes joined by '|', written and parsed by Orleans.
    suspect_times   text,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

COMMENT ON TABLE orleans_membership IS
    'One row per silo incarnation (address, port, generation) of an Orleans cluster; see orleansquery.';

INSERT INTO orleansquery (querykey, querytext) VALUES

-- @DeploymentId -> one boolean: true when this call created the cluster's version row.
('InsertMembershipVersionKey', $$
WITH created AS (
    INSERT INTO orleans_membership_version (deployment_id)
    VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM created);
$$),

-- Adds a silo if the table version is still @Version and the silo is not there yet -> one boolean.
('InsertMembershipKey', $$
WITH bumped AS (
    UPDATE orleans_membership_version
       SET version = version + 1, changed_at = now()
     WHERE deployment_id = @DeploymentId
       AND version = @Version
       AND NOT EXISTS (
               SELECT 1
                 FROM orleans_membership
                WHERE deployment_id = @DeploymentId
                  AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING deployment_id
), added AS (
    INSERT INTO orleans_membership (
        deployment_id, address, port, generation, silo_name, host_name,
        status, proxy_port, start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, coalesce(@SiloName, ''), coalesce(@HostName, ''),
           @Status, @ProxyPort, @StartTime, @IAmAliveTime
      FROM bumped
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM added);
$$),

-- Changes a silo's status, suspicion votes and heartbeat if the table version is still @Version -> one boolean.
('UpdateMembershipKey', $$
WITH bumped AS (
    UPDATE orleans_membership_version
       SET version = version + 1, changed_at = now()
     WHERE deployment_id = @DeploymentId
       AND version = @Version
       AND EXISTS (
               SELECT 1
                 FROM orleans_membership
                WHERE deployment_id = @DeploymentId
                  AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING deployment_id
), changed AS (
    UPDATE orleans_membership AS m
       SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
      FROM bumped AS b
     WHERE m.deployment_id = b.deployment_id
       AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM changed);
$$),

-- Heartbeat: no version check, no version bump.
('UpdateIAmAlivetimeKey', $$
UPDATE orleans_membership
   SET i_am_alive_time = @IAmAliveTime
 WHERE deployment_id = @DeploymentId
   AND address = @Address AND port = @Port AND generation = @Generation;
$$),

-- The version row with every silo of the cluster (one row with NULL silo columns when there is none).
('MembershipReadAllKey', $$
SELECT v.version         AS version,
       m.address         AS address,
       m.port            AS port,
       m.generation      AS generation,
       m.silo_name       AS siloname,
       m.host_name       AS hostname,
       m.status          AS status,
       m.proxy_port      AS proxyport,
       m.suspect_times   AS suspecttimes,
       m.start_time      AS starttime,
       m.i_am_alive_time AS iamalivetime
  FROM orleans_membership_version AS v
  LEFT JOIN orleans_membership AS m ON m.deployment_id = v.deployment_id
 WHERE v.deployment_id = @DeploymentId;
$$),

-- The version row with one silo (NULL silo columns when that silo is not in the table).
('MembershipReadRowKey', $$
SELECT v.version         AS version,
       m.address         AS address,
       m.port            AS port,
       m.generation      AS generation,
       m.silo_name       AS siloname,
       m.host_name       AS hostname,
       m.status          AS status,
       m.proxy_port      AS proxyport,
       m.suspect_times   AS suspecttimes,
       m.start_time      AS starttime,
       m.i_am_alive_time AS iamalivetime
  FROM orleans_membership_version AS v
  LEFT JOIN orleans_membership AS m
         ON m.deployment_id = v.deployment_id
        AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
 WHERE v.deployment_id = @DeploymentId;
$$),

-- Gateways for clients: silos in status @Status (Active) that listen for clients.
('GatewaysQueryKey', $$
SELECT address    AS address,
       proxy_port AS proxyport,
       generation AS generation
  FROM orleans_membership
 WHERE deployment_id = @DeploymentId
   AND status = @Status
   AND proxy_port > 0;
$$),

-- Forgets a whole cluster; its silo rows go with the version row (ON DELETE CASCADE).
('DeleteMembershipTableEntriesKey', $$
DELETE FROM orleans_membership_version
 WHERE deployment_id = @DeploymentId;
$$),

-- Deletes one Dead silo row, only if it still holds exactly the values the provider read (it checks the
-- age of the start, heartbeat and every suspicion vote itself). The provider prefers this key when present.
('CleanupDefunctSiloEntryKey', $$
DELETE FROM orleans_membership
 WHERE deployment_id = @DeploymentId
   AND address = @Address AND port = @Port AND generation = @Generation
   AND status = 6
   AND start_time = @StartTime
   AND i_am_alive_time = @IAmAliveTime
   AND coalesce(suspect_times, '') = coalesce(@SuspectTimes, '');
$$),

-- Bulk form of the above, kept because the provider requires the key: Dead silos whose start, heartbeat
-- and every suspicion vote are older than @IAmAliveTime.
('CleanupDefunctSiloEntriesKey', $$
DELETE FROM orleans_membership AS m
 WHERE m.deployment_id = @DeploymentId
   AND m.status = 6
   AND m.start_time < @IAmAliveTime
   AND m.i_am_alive_time < @IAmAliveTime
   AND NOT EXISTS (
           SELECT 1
             FROM regexp_split_to_table(coalesce(m.suspect_times, ''), '\|') AS vote
            WHERE vote <> ''
              AND (replace(split_part(vote, ',', 2), ' GMT', '')::timestamp AT TIME ZONE 'UTC') >= @IAmAliveTime);
$$);

GRANT SELECT ON orleansquery TO shohayota_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON orleans_membership_version, orleans_membership TO shohayota_app;
