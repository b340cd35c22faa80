#!/usr/bin/env bash
# gantry vs nginx vs haproxy: the same backend, one worker each, wrk through each proxy in
# interleaved rounds; prints median requests/s, p99 latency and the proxy's CPU time per request.
#
#   bench/run.sh <gantry-binary>            (`make bench` builds Release and runs this)
#
# Environment: ROUNDS (5), DURATION seconds per run (5), CONNECTIONS (64), PROXIES ("gantry nginx
# haproxy"). Defaults take about 2.5 minutes. Loopback only; every process started here is stopped
# on exit. See bench/README.md for the method and the measured results.
set -euo pipefail

GANTRY_BIN=${1:?usage: $0 <gantry-binary>}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
PROXIES=${PROXIES:-gantry nginx haproxy}

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need wrk wrk
need nginx nginx-light
need haproxy haproxy
need taskset util-linux
need curl curl
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

check_ports_free "$BACKEND_PORT" "$NGINX_PORT" "$HAPROXY_PORT" "$GANTRY_PORT"
CLK_TCK=$(getconf CLK_TCK)
echo "bench: $(nproc) CPUs; proxy pinned to CPU ${PROXY_CPU:-none}, backend and wrk to ${OTHER_CPUS:-none}"
echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg) (anything well above 0 means other work shares the CPUs: numbers are noisy)"

start_backend
declare -A PID PORT
for p in $PROXIES; do
  case $p in
    nginx) start_nginx_proxy; PORT[$p]=$NGINX_PORT ;;
    haproxy) start_haproxy; PORT[$p]=$HAPROXY_PORT ;;
    gantry)
      [[ -x "$GANTRY_BIN" ]] || die "$GANTRY_BIN is not an executable"
      start_gantry "$GANTRY_BIN"; PORT[$p]=$GANTRY_PORT ;;
    *) die "unknown proxy $p" ;;
  esac
  PID[$p]=$PROXY_PID
done

# Every proxy must really proxy before it is measured: a fast 404 would look like a fast proxy.
active=()
for p in $PROXIES; do
  body=$(curl -sS --max-time 5 -H 'Host: bench.example.com' "http://127.0.0.1:${PORT[$p]}/" 2>&1 || true)
  if [[ $body == "hello from the bench backend" ]]; then
    active+=("$p")
  else
    echo "bench: $p does not proxy to the backend (got: ${body:0:200}); left out" >&2
  fi
done
((${#active[@]})) || die "no proxy works"

WRK_SCRIPT=$BENCH_TMP/report.lua
cat >"$WRK_SCRIPT" <<'EOF'
-- One parseable line: requests, duration (us), p50 and p99 latency (us), errors, non-2xx/3xx.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
EOF

run_wrk() {  # run_wrk PORT SECONDS -> "requests duration_us p50_us p99_us errors status_errors"
  "${PIN_OTHER[@]}" wrk -t1 -c"$CONNECTIONS" -d"$2"s --timeout 5s -H 'Host: bench.example.com' \
    -s "$WRK_SCRIPT" "http://127.0.0.1:$1/" | awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7}'
}

for p in "${active[@]}"; do run_wrk "${PORT[$p]}" 2 >/dev/null; done  # warm-up

RESULTS=$BENCH_TMP/results.txt
: >"$RESULTS"
for ((r = 1; r <= ROUNDS; r++)); do
  for p in "${active[@]}"; do
    t0=$(cpu_ticks "${PID[$p]}")
    line=$(run_wrk "${PORT[$p]}" "$DURATION")
    t1=$(cpu_ticks "${PID[$p]}")
    [[ -n $line ]] || die "wrk produced no result for $p"
    echo "$p $r $line $((t1 - t0))" >>"$RESULTS"
    awk -v r="$r" -v p="$p" -v clk="$CLK_TCK" -v ticks=$((t1 - t0)) '{
      printf "round %d %-8s %8.0f req/s  p99 %6.2f ms  cpu %5.1f us/req  errors %d\n", r, p,
        $1 * 1e6 / $2, $4 / 1000, ticks * 1e6 / clk / ($1 > 0 ? $1 : 1), $5 + $6 }' <<<"$line"
  done
done

echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" "$CLK_TCK" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'EOF'
import statistics, sys
path, clk, conns, dur, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
runs = {}
for line in open(path):
    p, r, reqs, dur_us, p50, p99, errs, serrs, ticks = line.split()
    reqs, dur_us, ticks = int(reqs), int(dur_us), int(ticks)
    runs.setdefault(p, []).append({
        "rps": reqs * 1e6 / dur_us, "p99": int(p99) / 1000, "p50": int(p50) / 1000,
        "cpu_us": ticks * 1e6 / clk / max(reqs, 1), "util": ticks / clk / (dur_us / 1e6) * 100,
        "errors": int(errs) + int(serrs)})
med = {p: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for p, rs in runs.items()}
for p in med:
    med[p]["errors"] = sum(x["errors"] for x in runs[p])
print()
print(f"wrk -t1 -c{conns}, {rounds} interleaved rounds of {dur} s; medians; "
      f"CPU = proxy utime+stime from /proc/<pid>/stat")
print()
print("| proxy   | req/s   | p50 ms | p99 ms | CPU us/req | proxy CPU % | errors |")
print("|---------|---------|--------|--------|------------|-------------|--------|")
for p, m in med.items():
    print(f"| {p:<7} | {m['rps']:7.0f} | {m['p50']:6.2f} | {m['p99']:6.2f} | {m['cpu_us']:10.1f} "
          f"| {m['util']:11.0f} | {m['errors']:6d} |")
if "gantry" in med:
    print()
    g = med["gantry"]
    for other in ("nginx", "haproxy"):
        if other in med:
            o = med[other]
            print(f"gantry/{other}: req/s {g['rps'] / o['rps']:.2f}x, p99 {g['p99'] / o['p99']:.2f}x, "
                  f"CPU/req {g['cpu_us'] / o['cpu_us']:.2f}x")
EOF
