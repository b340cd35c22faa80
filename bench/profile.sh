#!/usr/bin/env bash
# Where gantry's CPU goes per proxied request: perf profile of `gantry --workers 1` under the
# same wrk load as bench/run.sh.
#
#   bench/profile.sh <gantry-binary> [seconds]
#
# Prints the hottest symbols (self time) and the split user/kernel. Build gantry with
# -DCMAKE_BUILD_TYPE=Release (symbols are enough for a flat profile; for call graphs add
# -fno-omit-frame-pointer and set CALLGRAPH=fp). Needs perf (Debian: linux-perf) and permission to
# profile (root, or kernel.perf_event_paranoid <= 1).
set -euo pipefail

GANTRY_BIN=${1:?usage: $0 <gantry-binary> [seconds]}
SECONDS_TO_PROFILE=${2:-10}
CONNECTIONS=${CONNECTIONS:-64}
CALLGRAPH=${CALLGRAPH:-}

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need wrk wrk
need perf linux-perf
need nginx nginx-light
check_ports_free "$BACKEND_PORT" "$GANTRY_PORT"

start_backend
start_gantry "$GANTRY_BIN"
GPID=$PROXY_PID
"${PIN_OTHER[@]}" wrk -t1 -c"$CONNECTIONS" -d2s -H 'Host: bench.example.com' \
  "http://127.0.0.1:$GANTRY_PORT/" >/dev/null  # warm-up

perf_args=(-F 999 -p "$GPID" -o "$BENCH_TMP/perf.data")
[[ -n $CALLGRAPH ]] && perf_args+=(--call-graph "$CALLGRAPH")
perf record "${perf_args[@]}" -- sleep "$SECONDS_TO_PROFILE" 2>"$BENCH_TMP/perf.log" &
perf_pid=$!
"${PIN_OTHER[@]}" wrk -t1 -c"$CONNECTIONS" -d"$SECONDS_TO_PROFILE"s \
  -H 'Host: bench.example.com' "http://127.0.0.1:$GANTRY_PORT/" | grep -E 'Requests/sec|Latency'
wait "$perf_pid" || true

echo
echo "== user vs kernel samples"
perf report -i "$BENCH_TMP/perf.data" --no-children --sort dso --stdio 2>/dev/null |
  grep -E '^ +[0-9]' | head -8
echo
echo "== hottest symbols (self)"
perf report -i "$BENCH_TMP/perf.data" --no-children --sort sym --stdio 2>/dev/null |
  grep -E '^ +[0-9]' | head -40
