#!/usr/bin/env bash
# Development certificates for mutual TLS between nodes (Shohayota:Cluster:Tls): a development CA and one certificate
# per node, issued by it. docker-compose.yml mounts them; without them it does not start.
#
#   scripts/dev-certs.sh                      # deploy/certs/: ca.pem + ca.key, node1.pem + node1.key, node2.pem + node2.key
#   scripts/dev-certs.sh --out DIR name...    # other folder or node names (e.g. scripts/dev-certs.sh node3 to add one)
#
# A node is configured with Shohayota:Cluster:Tls:CertificatePath=NAME.pem, KeyPath=NAME.key and AuthorityPath=ca.pem.
# The CA is made once and reused, so adding a node later only issues its certificate. Renew a node's certificate by
# deleting NAME.pem and NAME.key and running the script again; replace the CA by deleting the whole folder, running it
# again and restarting every node with its new files. The folder is git-ignored: never commit keys. These are for
# development and test clusters: production nodes get certificates from the operator's own CA.
set -euo pipefail

out="$(cd "$(dirname "$0")/.." && pwd)/deploy/certs"
nodes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) nodes+=("$1"); shift ;;
  esac
done
[ ${#nodes[@]} -gt 0 ] || nodes=(node1 node2)
command -v openssl >/dev/null || { echo "openssl is needed" >&2; exit 1; }

mkdir -p "$out"
cd "$out"
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -f ca.key ] || [ ! -f ca.pem ]; then
  (umask 077 && new_key ca.key)
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=Shohayota development CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -out ca.pem
  echo "made the development CA: $out/ca.pem (its key ca.key stays here, readable by you only)"
fi

extensions=$(mktemp)
trap 'rm -f "$extensions" ./*.csr' EXIT
for node in "${nodes[@]}"; do
  case "$node" in
    *[!A-Za-z0-9._-]* | "" | ca) echo "bad node name '$node'" >&2; exit 2 ;;
  esac
  if [ -f "$node.pem" ] && [ -f "$node.key" ]; then
    echo "kept $out/$node.pem (delete it and $node.key to renew)"
    continue
  fi

  new_key "$node.key"
  # Readable by the container's own user (a different uid than yours): these are development keys.
  chmod 644 "$node.key"
  openssl req -new -key "$node.key" -subj "/CN=$node" -out "$node.csr"
  # Client and server: a node dials other silos and accepts their connections; peers are trusted by issuer, not name.
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$node" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$extensions"
  openssl x509 -req -in "$node.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile "$extensions" -out "$node.pem" 2>/dev/null
  echo "issued $out/$node.pem and $node.key"
done
