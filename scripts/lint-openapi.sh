#!/usr/bin/env bash
# Lints an OpenAPI document with Spectral's OpenAPI ruleset (tools/spectral: the version pinned in its package-lock.json,
# installed there on first use with npm ci). Exits non-zero when the document has an error; warnings are printed.
#   scripts/lint-openapi.sh api.json            # a saved document
#   scripts/lint-openapi.sh http://localhost:5000/openapi/v1.json
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 <openapi.json | url> [spectral lint options]" >&2
  exit 2
fi

tools="$(cd "$(dirname "$0")/../tools/spectral" && pwd)"
spectral="$tools/node_modules/.bin/spectral"
if [ ! -x "$spectral" ]; then
  # Concurrent first runs share one install: the second waits for the first's lock.
  exec 9> "$tools/.install.lock"
  flock 9
  if [ ! -x "$spectral" ]; then
    npm ci --prefix "$tools" --no-audit --no-fund --ignore-scripts --loglevel=error > /dev/null
  fi
  flock -u 9
fi

document="$1"
shift
exec "$spectral" lint "$document" --ruleset "$tools/.spectral.yaml" --fail-severity error "$@"
