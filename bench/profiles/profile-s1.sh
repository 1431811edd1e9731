#!/usr/bin/env bash
# Profiles S1 (the hot read) with dotnet-trace: a quick bench run of S1 alone, measured long enough for a trace of
# PROFILE_SECONDS (default 15) taken from the Api while the load runs. Writes the .nettrace, its speedscope JSON and the
# top frames (bench/profiles/top-frames.py) under bench/results/tmp/ (not committed).
#   bash bench/profiles/profile-s1.sh [label]
# PROFILE_SCENARIOS names another scenario to trace the same way (e.g. PROFILE_SCENARIOS=S3e; quick data); BENCH_*
# variables pass through to bench/run.sh (e.g. BENCH_CUSTOMERS=10000 for S3e's 10,000-customer tenant).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
label=${1:-s1}
seconds=${PROFILE_SECONDS:-15}
scenarios=${PROFILE_SCENARIOS:-S1}
out=$repo/bench/results/tmp/profile-$label
mkdir -p "$repo/bench/results/tmp"
dotnet tool restore >/dev/null
api_dir=$repo/src/Api/bin/Release/net10.0
log=$out.bench.log

# The bench measures S1 for seconds+15 s, so the trace (started once the measuring begins) falls inside the load.
BENCH_QUICK=1 BENCH_SCENARIOS=$scenarios BENCH_S5=0 BENCH_S8=0 BENCH_QUIET_WAIT=0 BENCH_DURATION=$((seconds + 15)) \
  bash bench/run.sh >"$log" 2>&1 &
bench_pid=$!

# The Api this run started: the dotnet process whose working directory is this worktree's Release output.
api_pid=
until grep -q '^== measuring' "$log" 2>/dev/null; do
  kill -0 "$bench_pid" 2>/dev/null || { tail -n 30 "$log"; exit 1; }
  sleep 0.5
done
for proc in /proc/[0-9]*; do
  if [ "$(readlink "$proc/cwd" 2>/dev/null)" = "$api_dir" ] && tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q 'Shohayota.Api.dll'; then
    api_pid=${proc#/proc/}
  fi
done
[ -n "$api_pid" ] || { echo "the Api process was not found" >&2; exit 1; }
sleep 8   # past the warm-up
dotnet dotnet-trace collect -p "$api_pid" --profile dotnet-sampled-thread-time --duration "00:00:00:$(printf '%02d' "$seconds")" \
  --format Speedscope -o "$out.nettrace" >/dev/null
wait "$bench_pid" || true
python3 "$repo/bench/profiles/top-frames.py" "$out.speedscope.json" >"$out.top.md"
grep -A3 -E "${scenarios//,/|}" "$log" | head -n 20 || true
echo "top frames: $out.top.md"
