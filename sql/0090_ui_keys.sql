-- The web UI's data-protection key ring (it encrypts the sign-in cookie and antiforgery tokens). In the database, so
-- every node of a cluster reads a cookie any other node wrote. Keys are only ever added; ASP.NET Core expires them.
CREATE TABLE ui_data_protection_keys (
    friendly_name text PRIMARY KEY,
    xml           text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON ui_data_protection_keys TO shohayota_app;
