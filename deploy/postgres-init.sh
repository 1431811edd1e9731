#!/bin/bash
# Runs once, when the postgres container initialises an empty data directory: the two roles and the database that
# the nodes' migrator expects (the same as Shohayota.Silo.Database.DatabaseRoles does for the managed local cluster).
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$SHOHAYOTA_OWNER_PASSWORD" -v app_password="$SHOHAYOTA_APP_PASSWORD" <<'SQL'
CREATE ROLE shohayota_owner LOGIN BYPASSRLS PASSWORD :'owner_password';
CREATE ROLE shohayota_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
CREATE DATABASE shohayota OWNER shohayota_owner ENCODING 'UTF8';
REVOKE ALL ON DATABASE shohayota FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE shohayota TO shohayota_app;
SQL
