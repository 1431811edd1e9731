-- Orleans grain state for Microsoft.Orleans.Persistence.AdoNet (10.4.x); the named queries go into the
-- orleansquery table from 0001 (see there for how the providers load and run them).
--
-- Storage contract, as the provider uses it:
-- * a state is addressed by ServiceId, the state name (which the provider passes as @GrainTypeString; the
--   grain class is not part of the key) and the grain key split into @GrainIdN0/@GrainIdN1 (integer and
--   Guid keys) plus @GrainIdExtensionString (string keys and key extensions; NULL when there is none).
--   A string key that parses as hexadecimal reaches us as an integer key: Orleans' GrainId does that.
--   @GrainIdHash and @GrainTypeHash are also sent; we key on the values themselves, not on hashes.
-- * the ETag is the row's integer version. Read returns (payloadbinary, version) or no row.
--   Write, Clear and Delete apply only when @GrainStateVersion matches (NULL = "no row yet") and return the
--   new version; returning no row or NULL is how a conflict is reported (InconsistentStateException).
-- * Clear keeps the row with a NULL payload and a new version, so a stale writer still conflicts;
--   Delete (DeleteStateOnClear = true) removes the row.

CREATE TABLE orleans_storage (
    service_id         text NOT NULL,
    grain_type         text NOT NULL,
    grain_id_n0        bigint NOT NULL,
    grain_id_n1        bigint NOT NULL,
    grain_id_extension text,
    payload            bytea,
    version            integer NOT NULL,
    modified_at        timestamptz NOT NULL DEFAULT now()
);

-- The key, with "no extension" (NULL) kept apart from an empty one. Written as expressions, not as
-- IS NOT DISTINCT FROM, so that the queries' key predicate is an index condition under generic
-- (prepared) plans too; the queries repeat these expressions exactly.
CREATE UNIQUE INDEX orleans_storage_key ON orleans_storage (
    service_id, grain_type, grain_id_n0, grain_id_n1,
    coalesce(grain_id_extension, ''), (grain_id_extension IS NULL));

COMMENT ON TABLE orleans_storage IS
    'Orleans grain state (opaque payload); grain_type holds the state name. See orleansquery.';
COMMENT ON COLUMN orleans_storage.payload IS
    'Serialized state; NULL after the grain cleared it.';

INSERT INTO orleansquery (querykey, querytext) VALUES

('ReadFromStorageKey', $$
SELECT payload AS payloadbinary,
       version AS version
  FROM orleans_storage
 WHERE service_id = @ServiceId
   AND grain_type = @GrainTypeString
   AND grain_id_n0 = @GrainIdN0
   AND grain_id_n1 = @GrainIdN1
   AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '')
   AND (grain_id_extension IS NULL) = (@GrainIdExtensionString IS NULL);
$$),

-- Updates the row at version @GrainStateVersion, or inserts version 1 when @GrainStateVersion is NULL and
-- there is no row; one row (newgrainstateversion) on success, none on a conflict.
('WriteToStorageKey', $$
WITH updated AS (
    UPDATE orleans_storage
       SET payload = @PayloadBinary,
           version = CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END,
           modified_at = now()
     WHERE @GrainStateVersion IS NOT NULL
       AND service_id = @ServiceId
       AND grain_type = @GrainTypeString
       AND grain_id_n0 = @GrainIdN0
       AND grain_id_n1 = @GrainIdN1
       AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '')
       AND (grain_id_extension IS NULL) = (@GrainIdExtensionString IS NULL)
       AND version = @GrainStateVersion
    RETURNING version
), inserted AS (
    INSERT INTO orleans_storage (service_id, grain_type, grain_id_n0, grain_id_n1, grain_id_extension, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1
     WHERE @GrainStateVersion IS NULL
    ON CONFLICT (service_id, grain_type, grain_id_n0, grain_id_n1,
                 coalesce(grain_id_extension, ''), (grain_id_extension IS NULL)) DO NOTHING
    RETURNING version
)
SELECT version AS newgrainstateversion FROM updated
UNION ALL
SELECT version FROM inserted;
$$),

-- Empties the state but keeps the row and bumps its version; one row (the new version), none on a conflict.
('ClearStorageKey', $$
UPDATE orleans_storage
   SET payload = NULL,
       version = CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END,
       modified_at = now()
 WHERE service_id = @ServiceId
   AND grain_type = @GrainTypeString
   AND grain_id_n0 = @GrainIdN0
   AND grain_id_n1 = @GrainIdN1
   AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '')
   AND (grain_id_extension IS NULL) = (@GrainIdExtensionString IS NULL)
   AND version = @GrainStateVersion
RETURNING version;
$$),

-- Removes the row; the provider discards the returned value but needs it to differ from its ETag.
('DeleteStorageKey', $$
DELETE FROM orleans_storage
 WHERE service_id = @ServiceId
   AND grain_type = @GrainTypeString
   AND grain_id_n0 = @GrainIdN0
   AND grain_id_n1 = @GrainIdN1
   AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '')
   AND (grain_id_extension IS NULL) = (@GrainIdExtensionString IS NULL)
   AND version = @GrainStateVersion
RETURNING CASE WHEN version = 2147483647 THEN 1 ELSE version + 1 END;
$$);

GRANT SELECT, INSERT, UPDATE, DELETE ON orleans_storage TO shohayota_app;
