#!/usr/bin/env bash
# The README walk: does what a new user does on a fresh clone, with the README's own command text, and checks each result.
#   scripts/readme-walk.sh [README]      # default: this tree's README.md; works from any working directory
# The README marks the blocks it runs with an HTML comment on the line before their ```bash fence:
#   <!-- walk: run -->       its first line starts node 1 from the repository root (a fresh data directory)
#   <!-- walk: signin -->    signs in as the super-admin and provisions a tenant: TOKEN set, tenant created
#   <!-- walk: psql -->      the managed database, reached with psql: the provisioned tenant's row is there
#   <!-- walk: api-key -->   the tenant's admin creates an API key, and the key creates a customer
#   <!-- walk: import -->    the tenant's admin imports customers from a CSV file (dry run, then real) and exports them as CSV
#   <!-- walk: openapi -->   the node's OpenAPI document: its paths counted, then linted with Spectral (scripts/lint-openapi.sh)
#   <!-- walk: metrics -->   the node's Prometheus scrape: the tenants by status, and the customer requests by route
#   <!-- walk: add-node -->  every line starts one more node (scripts/add-node.sh N [api|silo|client]); each must come up
#   <!-- walk: cluster -->   the cluster view: node 1, node 2 and the standalone silo are the three active silos
# It runs on a copy of this tree (files git tracks or would add; no bin/, obj/ or .data/) under /tmp, so the README's
# relative paths (.data/…) mean that copy. It needs ports 5000-5003, 5432, 11111-11114 and 30000-30003 free and fails
# naming the one that is taken. Everything it starts (nodes, builds, the managed PostgreSQL) is stopped when it ends,
# however it ends; the copy is removed (WALK_KEEP=1 keeps it). Logs: WALK_LOG_DIR (default: a folder it prints).
# Limits (seconds, generous for a loaded two-core machine): WALK_START_TIMEOUT (node 1, with its first build: 480),
# WALK_NODE_TIMEOUT (every other node: 240), WALK_STEP_TIMEOUT (each command block: 120).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readme="$(realpath "${1:-$repo/README.md}")"
start_timeout="${WALK_START_TIMEOUT:-480}"
node_timeout="${WALK_NODE_TIMEOUT:-240}"
step_timeout="${WALK_STEP_TIMEOUT:-120}"
ports=(5000 5001 5002 5003 5432 11111 11112 11113 11114 30000 30001 30002 30003)

say() { printf 'walk: %s\n' "$*"; }
fail() {
  printf 'walk: FAILED: %s\n' "$*" >&2
  exit 1
}

for tool in curl jq psql ss setsid git tar; do
  command -v "$tool" >/dev/null || fail "the README walk needs '$tool' on PATH"
done
[ -r "$readme" ] || fail "no README at $readme"

# Work under /tmp in a folder every account may traverse: as root the managed PostgreSQL runs as 'postgres'.
work="$(mktemp -d /tmp/shohayota-walk.XXXXXX)"
chmod 755 "$work"
tree="$work/clone"
logs="${WALK_LOG_DIR:-$work/logs}"
mkdir -p "$tree" "$logs" "$work/blocks"
logs="$(realpath "$logs")"
state="$work/state.sh"
: >"$state"
groups=()

stop_group() {
  local pid="$1" waited=0
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  while kill -0 -- "-$pid" 2>/dev/null && [ "$waited" -lt 60 ]; do
    sleep 1
    waited=$((waited + 1))
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

cleanup() {
  local status=$? i pidfile postmaster
  trap - EXIT INT TERM
  # Newest first: the other nodes leave the cluster, then node 1 stops its managed PostgreSQL.
  for ((i = ${#groups[@]} - 1; i >= 0; i--)); do
    stop_group "${groups[i]}"
  done
  pidfile="$tree/.data/postgres/data/postmaster.pid"
  if [ -f "$pidfile" ]; then
    postmaster="$(head -n 1 "$pidfile")"
    say "stopping the managed PostgreSQL node 1 left running (pid $postmaster)"
    kill -INT "$postmaster" 2>/dev/null || true
    for _ in $(seq 1 30); do
      kill -0 "$postmaster" 2>/dev/null || break
      sleep 1
    done
    kill -KILL "$postmaster" 2>/dev/null || true
  fi
  if [ "${WALK_KEEP:-0}" = 1 ]; then
    say "kept the copy in $tree"
  else
    rm -rf "$tree" "$work/blocks" "$state"
    rmdir "$work" 2>/dev/null || true
  fi
  [ "$status" -eq 0 ] || say "logs in $logs"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A fresh clone: the files git tracks or would add (edits included), never build output or data.
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$tree" -xf -
else
  tar -C "$repo" --exclude=./.git --exclude=bin --exclude=obj --exclude=./.data --exclude=TestResults -cf - . | tar -C "$tree" -xf -
fi
cp "$readme" "$tree/README.md"
[ -f "$tree/Shohayota.sln" ] || fail "the copy of $repo has no Shohayota.sln"
[ ! -e "$tree/.data" ] || fail "the copy already has a .data folder"
say "fresh copy of $repo in $tree"

# The blocks, exactly as the README has them.
awk -v dir="$work/blocks" '
  match($0, /^<!-- walk: [a-z-]+ -->$/) { name = substr($0, 12, length($0) - 15); want = 1; next }
  want && /^```/ { inside = 1; want = 0; file = dir "/" name ".sh"; printf "" > file; next }
  inside && /^```/ { inside = 0; close(file); next }
  inside { print > file }
  want && !/^[[:space:]]*$/ { want = 0 }
' "$tree/README.md"
for block in run signin psql api-key import webhook openapi metrics add-node cluster; do
  [ -s "$work/blocks/$block.sh" ] || fail "README.md has no non-empty \`\`\`bash block after '<!-- walk: $block -->'"
done

for port in "${ports[@]}"; do
  taken="$(ss -Hltn "sport = :$port")"
  [ -z "$taken" ] || fail "port $port is taken, but the README's nodes and database need it: $(echo "$taken" | head -n 1)"
done

# A shell like a new user's: no build servers left behind, nothing inherited from a test runner's MSBuild.
while IFS= read -r variable; do unset "$variable"; done < <(env | sed -n 's/^\(MSBUILD[A-Za-z_]*\|MSBuild[A-Za-z_]*\)=.*/\1/p')
unset ASPNETCORE_URLS ASPNETCORE_ENVIRONMENT DOTNET_ENVIRONMENT
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false UseRazorBuildServer=false
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Starts one README line in the background, in its own process group (stopped as a whole at the end).
started_pid=""
start() {
  local name="$1" line="$2"
  say "start $name: $line"
  (cd "$tree" && exec setsid bash -c "$line" </dev/null >"$logs/$name.log" 2>&1) &
  started_pid=$!
  groups+=("$started_pid")
}

tail_log() { printf '%s\n--- last lines of %s ---\n%s' "$1" "$2" "$(tail -n 60 "$2")"; }

wait_healthy() {
  local name="$1" pid="$2" url="$3" limit="$4" since=$SECONDS waited=0
  until curl -sf -o /dev/null --max-time 5 "$url/api/health"; do
    kill -0 "$pid" 2>/dev/null || fail "$(tail_log "$name exited before $url/api/health answered 200" "$logs/$name.log")"
    [ "$waited" -lt "$limit" ] || fail "$(tail_log "$name: $url/api/health did not answer 200 within ${limit}s" "$logs/$name.log")"
    sleep 2
    waited=$((SECONDS - since))
  done
  say "$name is up at $url (${waited}s)"
}

# Runs a README block from the repository root, after the variables earlier blocks set; keeps what it sets.
run_block() {
  local name="$1"
  say "run $name:"
  sed 's/^/    /' "$work/blocks/$name.sh"
  if ! (cd "$tree" && timeout "$step_timeout" bash -c "set -eo pipefail; source '$state'; source '$work/blocks/$name.sh'; declare -p TOKEN ADMIN 2>/dev/null >>'$state' || true" \
      >"$logs/$name.out" 2>"$logs/$name.err"); then
    fail "the README's '$name' block failed:$(printf '\n%s' "$(cat "$logs/$name.out" "$logs/$name.err")")"
  fi
}

# 1. The run command, from the repository root.
run_line="$(sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d' "$work/blocks/run.sh" | head -n 1)"
start node1 "$run_line"
node1="$started_pid"
wait_healthy node1 "$node1" http://localhost:5000 "$start_timeout"
grep -q "Data directory: $tree/.data" "$logs/node1.log" ||
  fail "$(tail_log "node 1 did not log its data directory as $tree/.data" "$logs/node1.log")"

# 2. Sign in and provision.
run_block signin
token="$(bash -c "source '$state'; printf '%s' \"\${TOKEN:-}\"")"
[ -n "$token" ] && [ "$token" != null ] || fail "the sign-in block issued no token: $(cat "$logs/signin.out" "$logs/signin.err")"
jq -e 'select(.status == "active" and .name == "New Company" and (.id | length) > 0)' "$logs/signin.out" >/dev/null 2>&1 ||
  fail "the provisioning answered no active tenant 'New Company': $(cat "$logs/signin.out")"
tenant="$(jq -r .id "$logs/signin.out")"
say "token issued; tenant $tenant provisioned"

# 3. The SQL check.
run_block psql
grep -q "$tenant" "$logs/psql.out" && grep -q "New Company" "$logs/psql.out" ||
  fail "psql did not show the tenant's row ($tenant): $(cat "$logs/psql.out" "$logs/psql.err")"
say "the tenants row is in the managed database"

# 3b. A tenant API key, made by the tenant's admin, creates a customer.
run_block api-key
jq -e 'select(.name == "Acme Corp" and (.id | length) > 0)' "$logs/api-key.out" >/dev/null 2>&1 ||
  fail "the API key did not create the customer 'Acme Corp': $(cat "$logs/api-key.out" "$logs/api-key.err")"
say "a tenant API key created a customer"

# 3c. A CSV import (dry run, then real) and the list as CSV: ADMIN is the api-key block's, so it runs in the same shell state.
run_block import
grep -q '"dryRun":true' "$logs/import.out" && grep -q '"created":2' "$logs/import.out" && grep -q 'Globex Ltd' "$logs/import.out" &&
  grep -q 'Acme Corp' "$logs/import.out" ||
  fail "the CSV import did not create Globex and Initech, or the CSV export does not list them: $(cat "$logs/import.out" "$logs/import.err")"
say "a CSV import created two customers and the export lists them"

# 3c'. A webhook registered by the admin (paused): its secret shown once, then listed without it.
run_block webhook
# The two answers run together on one line (curl adds no newline): read them as a stream of two documents.
secret="$(jq -rs '.[0].secret' "$logs/webhook.out" 2>/dev/null || true)"
[[ "$secret" =~ ^whsec_[0-9A-Za-z]{43}$ ]] && jq -es '.[1].items | length == 1 and .[0].status == "paused"' "$logs/webhook.out" >/dev/null 2>&1 &&
  [ "$(jq -cs '.[1]' "$logs/webhook.out" | grep -c "${secret:12}")" = 0 ] ||
  fail "the webhook was not registered with its secret shown once, or the list does not show it paused: $(cat "$logs/webhook.out" "$logs/webhook.err")"
say "a webhook was registered; the list shows it without its secret"

# 3d. The OpenAPI document: served anonymously, describing the API, linting clean (the block fails if the lint does).
run_block openapi
paths="$(head -n 1 "$logs/openapi.out")"
[[ "$paths" =~ ^[0-9]+$ ]] && [ "$paths" -ge 60 ] ||
  fail "the OpenAPI document did not list the API's paths: $(cat "$logs/openapi.out" "$logs/openapi.err")"
say "the OpenAPI document lists $paths paths and lints clean"

# 3e. The metrics: the provisioned tenant counted as active, the customer requests of 3b/3c in ASP.NET Core's histogram.
run_block metrics
grep -Eq '^shohayota_tenants\{.*status="active".*\} [1-9]' "$logs/metrics.out" &&
  grep -Eq '^http_server_request_duration_seconds_count\{.*http_route="/api/customers/".*\} [1-9]' "$logs/metrics.out" ||
  fail "the scrape did not count the active tenant or the customer requests: $(cat "$logs/metrics.out" "$logs/metrics.err")"
say "the scrape counts the active tenant and the customer requests"

# 4. More nodes, one line each, each up before the next starts (their builds share the copy's obj/ folders).
cluster_view() { curl -sf --max-time 10 -H "Authorization: Bearer $token" http://localhost:5000/api/admin/cluster; }
while IFS= read -r line; do
  [[ "$line" =~ add-node\.sh[[:space:]]+([0-9]+)([[:space:]]+(api|silo|client))? ]] ||
    fail "the walk does not know how to check this add-node line: $line"
  n="${BASH_REMATCH[1]}"
  kind="${BASH_REMATCH[3]:-api}"
  start "node$n" "$line"
  pid="$started_pid"
  if [ "$kind" = silo ]; then
    since=$SECONDS
    waited=0
    until cluster_view | jq -e --arg name "node$n" 'any(.silos[]; .name == $name and .status == "active")' >/dev/null 2>&1; do
      kill -0 "$pid" 2>/dev/null || fail "$(tail_log "node$n exited before it was an active silo" "$logs/node$n.log")"
      [ "$waited" -lt "$node_timeout" ] || fail "$(tail_log "node$n was not an active silo within ${node_timeout}s" "$logs/node$n.log")"
      sleep 2
      waited=$((SECONDS - since))
    done
    say "node$n is an active silo (${waited}s)"
  else
    wait_healthy "node$n" "$pid" "http://localhost:$((4999 + n))" "$node_timeout"
  fi
done < <(sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d' "$work/blocks/add-node.sh")

# 5. The cluster view: node 1, node 2 and the standalone silo.
run_block cluster
jq -e '.activeSilos == 3 and ([.silos[] | select(.status == "active") | .name] | sort) == (["node2", "node3"] + [.answeredBy.name] | sort)' \
  "$logs/cluster.out" >/dev/null ||
  fail "GET /api/admin/cluster does not show node 1, node2 and node3 as the three active silos: $(cat "$logs/cluster.out")"
say "three silos active: $(jq -c '[.silos[] | select(.status == "active") | .name]' "$logs/cluster.out")"
say "the README walk passed"
