#!/usr/bin/env bash
# Adds node N to the local cluster started by `dotnet run --project src/Api` (node 1: ports 5000, 11111, 30000).
#   scripts/add-node.sh 2            # Api node with its silo: http://localhost:5001, silo port 11112, gateway 30001
#   scripts/add-node.sh 3 silo       # a standalone silo (no HTTP): silo port 11113, gateway 30002
#   scripts/add-node.sh 4 client     # an Api node as a pure cluster client: http://localhost:5003
#   scripts/add-node.sh 2 api --Shohayota:Cluster:ClusterId=blue   # further arguments go to the node as configuration
# Works from any working directory. The database is node 1's managed PostgreSQL (its credentials under .data/postgres/,
# or under SHOHAYOTA_DATA_DIRECTORY / Shohayota__DataDirectory, relative to the repository root), unless SHOHAYOTA_CONNECTION and
# SHOHAYOTA_ADMIN_CONNECTION name another server. Every node signs tokens with node 1's key (.data/jwt-signing.key) unless
# SHOHAYOTA_SIGNING_KEY is set, grain callers with node 1's cluster key (.data/cluster-caller.key) unless
# SHOHAYOTA_CALLER_KEYS is set, encrypts the UI key ring with node 1's .data/ui-key-encryption.key unless
# SHOHAYOTA_UI_KEY_ENCRYPTION_KEY is set, and signs exports and backups with node 1's bundle key
# (.data/bundle-signing.key) unless SHOHAYOTA_BUNDLE_KEY is set. Ctrl+C stops the node gracefully: it drains, hands
# its grains over and leaves the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

n="${1:-}"
kind="${2:-api}"
shift $(($# < 2 ? $# : 2))
if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 2 ] || ! [[ "$kind" =~ ^(api|silo|client)$ ]]; then
  echo "usage: $0 <node number, 2 or more> [api|silo|client]" >&2
  exit 2
fi

# Node 1's data directory by the app's own rule: Shohayota:DataDirectory (default .data), relative to the repository root.
data="${SHOHAYOTA_DATA_DIRECTORY:-${Shohayota__DataDirectory:-.data}}"
case "$data" in /*) ;; *) data="$PWD/$data" ;; esac
if [ -z "${SHOHAYOTA_CONNECTION:-}" ]; then
  credentials="$data/postgres/credentials.json"
  if [ ! -r "$credentials" ]; then
    echo "No $credentials: start node 1 first (dotnet run --project src/Api) or set SHOHAYOTA_CONNECTION." >&2
    exit 1
  fi
  password() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$credentials"; }
  server="Host=127.0.0.1;Port=${SHOHAYOTA_DATABASE_PORT:-5432};Database=shohayota"
  SHOHAYOTA_CONNECTION="$server;Username=shohayota_app;Password=$(password App)"
  SHOHAYOTA_ADMIN_CONNECTION="$server;Username=shohayota_owner;Password=$(password Owner)"
fi

# Secrets go to the node in its environment, not on its command line (which every local user can read).
export ConnectionStrings__Shohayota="$SHOHAYOTA_CONNECTION"
export ConnectionStrings__ShohayotaAdmin="${SHOHAYOTA_ADMIN_CONNECTION:-$SHOHAYOTA_CONNECTION}"
export Shohayota__Auth__SigningKey="${SHOHAYOTA_SIGNING_KEY:-$(cat "$data/jwt-signing.key")}"
# Without node 1's caller key this node's grain calls would be refused by every other silo (and theirs by it).
export Shohayota__Cluster__CallerKeys="${SHOHAYOTA_CALLER_KEYS:-$(cat "$data/cluster-caller.key")}"
export Shohayota__Ui__KeyEncryptionKey="${SHOHAYOTA_UI_KEY_ENCRYPTION_KEY:-$(cat "$data/ui-key-encryption.key")}"
export Shohayota__Backups__SigningKey="${SHOHAYOTA_BUNDLE_KEY:-$(cat "$data/bundle-signing.key")}"
args=(
  "--Shohayota:DataDirectory=$data/node$n"
  "--Shohayota:Cluster:SiloName=node$n"
  "--Shohayota:Cluster:SiloPort=$((11110 + n))"
  "--Shohayota:Cluster:GatewayPort=$((29999 + n))"
  "$@"
)
case "$kind" in
  api) exec dotnet run --project src/Api -- "--urls=http://localhost:$((4999 + n))" "${args[@]}" ;;
  client) exec dotnet run --project src/Api -- "--urls=http://localhost:$((4999 + n))" "${args[@]}" --Shohayota:Cluster:Mode=client ;;
  silo) exec dotnet run --project src/Silo -- "${args[@]}" ;;
esac
