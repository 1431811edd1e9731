#!/usr/bin/env bash
# Runs a backup now through the API, for operators who schedule with cron rather than the built-in scheduler
# (then set Shohayota:Backups:Enabled=false). The runbook's schedule:
#   0 2 * * *    SHOHAYOTA_EMAIL=ops@example.com SHOHAYOTA_PASSWORD_FILE=/etc/shohayota/backup.pw /path/to/scripts/backup.sh full
#   0 */6 * * *  SHOHAYOTA_EMAIL=ops@example.com SHOHAYOTA_PASSWORD_FILE=/etc/shohayota/backup.pw /path/to/scripts/backup.sh incremental
#
# Environment:
#   SHOHAYOTA_URL            the API (default http://localhost:5000)
#   SHOHAYOTA_TOKEN          a super-admin access token, or else a super-admin to sign in as:
#   SHOHAYOTA_EMAIL          with SHOHAYOTA_PASSWORD or SHOHAYOTA_PASSWORD_FILE
#                            (default: the generated super-admin in .data/superadmin.txt of a local install)
# Prints the backup's summary (JSON); exits non-zero when the backup did not complete.
set -euo pipefail

kind="${1:-full}"
case "$kind" in
  full | incremental) ;;
  *) echo "usage: $0 [full|incremental]" >&2; exit 2 ;;
esac

url="${SHOHAYOTA_URL:-http://localhost:5000}"
token="${SHOHAYOTA_TOKEN:-}"

json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

if [ -z "$token" ]; then
  email="${SHOHAYOTA_EMAIL:-}"
  password="${SHOHAYOTA_PASSWORD:-}"
  if [ -z "$password" ] && [ -n "${SHOHAYOTA_PASSWORD_FILE:-}" ]; then
    password="$(cat "$SHOHAYOTA_PASSWORD_FILE")"
  fi
  local_file="$(dirname "$0")/../.data/superadmin.txt"
  if [ -z "$email" ] && [ -r "$local_file" ]; then
    email="$(sed -n 's/^email=//p' "$local_file")"
    password="$(sed -n 's/^password=//p' "$local_file")"
  fi
  if [ -z "$email" ] || [ -z "$password" ]; then
    echo "$0: set SHOHAYOTA_TOKEN, or SHOHAYOTA_EMAIL with SHOHAYOTA_PASSWORD or SHOHAYOTA_PASSWORD_FILE" >&2
    exit 2
  fi
  login="$(curl -sS --fail-with-body -X POST "$url/api/auth/login" -H 'Content-Type: application/json' \
    --data-binary @- <<<"{\"email\":$(json_string "$email"),\"password\":$(json_string "$password")}")" || {
    echo "$0: sign-in failed: $login" >&2
    exit 1
  }
  token="$(printf '%s' "$login" | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')"
fi

# A backup of a large database takes a while: no client-side time limit.
curl -sS --fail-with-body -X POST "$url/api/admin/backups" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' --data-binary "{\"kind\":\"$kind\"}"
echo
