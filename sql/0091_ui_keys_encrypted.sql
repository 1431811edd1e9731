-- UI data-protection keys are stored encrypted from now on (the key-encryption key is never in the database). Keys
-- written before that are in plaintext: anyone who read them (the runtime role, a pg_dump) could mint a session cookie,
-- so they are removed rather than trusted. Browsers signed in with them sign in again.
DELETE FROM ui_data_protection_keys WHERE xml NOT LIKE '%<encryptedSecret %';
