#!/usr/bin/env bash
# Per-request costs that do not depend on how loaded the machine is: system calls per proxied
# request by type (perf stat on syscall tracepoints of the proxy process) and, with INSTR=1, the
# user-space instructions per request (valgrind callgrind over a fixed number of requests).
#
#   bench/costs.sh <gantry-binary>              (gantry and nginx, as bench/run.sh configures them)
#
# Environment: DURATION seconds of wrk -c64 for the syscall count (4), INSTR=1 to also count
# instructions, REQUESTS for the instruction count (20000, h2load --h1 -c64; ~1 min per proxy
# under valgrind). Needs perf (linux-perf), valgrind, wrk, h2load (nghttp2-client), root or
# kernel.perf_event_paranoid <= 1. See bench/README.md "Where the time goes".
set -euo pipefail

GANTRY_BIN=${1:?usage: $0 <gantry-binary>}
DURATION=${DURATION:-4}
REQUESTS=${REQUESTS:-20000}

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need wrk wrk
need perf linux-perf
need nginx nginx-light
check_ports_free "$BACKEND_PORT" "$NGINX_PORT" "$GANTRY_PORT"

start_backend
start_gantry "$GANTRY_BIN"
GPID=$PROXY_PID
start_nginx_proxy
NMASTER=$PROXY_PID
sleep 0.3
NPID=$(pgrep -P "$NMASTER" | head -1)  # the worker: the master does nothing per request

EVENTS=task-clock,raw_syscalls:sys_enter
for sc in read readv recvfrom recvmsg write writev sendto sendmsg epoll_wait epoll_ctl \
  getsockopt setsockopt futex timerfd_settime accept4 connect close madvise mmap munmap brk; do
  EVENTS+=",syscalls:sys_enter_$sc"
done

echo "== system calls per proxied request (wrk -t1 -c64, ${DURATION}s; load average $(cut -d' ' -f1 /proc/loadavg))"
for name in gantry nginx; do
  if [[ $name == gantry ]]; then pid=$GPID port=$GANTRY_PORT; else pid=$NPID port=$NGINX_PORT; fi
  "${PIN_OTHER[@]}" wrk -t1 -c64 -d1s -H 'Host: bench.example.com' "http://127.0.0.1:$port/" >/dev/null
  perf stat -x, -e "$EVENTS" -p "$pid" -o "$BENCH_TMP/stat.$name" -- "${PIN_OTHER[@]}" \
    wrk -t1 -c64 -d"${DURATION}"s -H 'Host: bench.example.com' "http://127.0.0.1:$port/" \
    >"$BENCH_TMP/wrk.$name"
  reqs=$(awk '/requests in/ {print $1}' "$BENCH_TMP/wrk.$name")
  echo "-- $name: $reqs requests"
  awk -F, -v r="$reqs" '$1 ~ /^[0-9.]+$/ && $1 > 0 {
      name = $3; sub(/^syscalls:sys_enter_/, "", name); sub(/^raw_syscalls:sys_enter/, "all system calls", name)
      if ($3 == "task-clock") printf "  %-22s %8.2f us/request (load-dependent)\n", "CPU", $1 * 1000 / r
      else if ($1 / r >= 0.005) printf "  %-22s %8.2f /request\n", name, $1 / r }' "$BENCH_TMP/stat.$name"
done

[[ ${INSTR:-0} == 1 ]] || exit 0
need valgrind valgrind
need h2load nghttp2-client
stop_pid "$GPID"
stop_pid "$NMASTER"

# callgrind_count PID: user-space instructions of REQUESTS requests on the proxy behind PORT.
instr_per_request() {
  local pid=$1 port=$2 f tot
  for _ in $(seq 150); do port_open "$port" && break; sleep 0.2; done
  h2load --h1 -n 2000 -c 64 -H ':authority: bench.example.com' "http://127.0.0.1:$port/" >/dev/null
  callgrind_control -i on "$pid" >/dev/null 2>&1
  h2load --h1 -n "$REQUESTS" -c 64 -H ':authority: bench.example.com' \
    "http://127.0.0.1:$port/" | grep -q "status codes: $REQUESTS 2xx" || die "non-2xx answers"
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 2
  f=$(ls -t "$BENCH_TMP"/cg.*.1 | head -1)
  tot=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "$((tot / REQUESTS))"
  cp "$f" "$BENCH_TMP/last.cg"
}

CG=(valgrind --tool=callgrind --instr-atstart=no "--callgrind-out-file=$BENCH_TMP/cg.%p")
echo "== user-space instructions per proxied request (callgrind, h2load --h1 -c64, $REQUESTS requests)"
PIN_PROXY=("${CG[@]}")  # lib.sh's start_gantry runs the binary through this prefix
start_gantry "$GANTRY_BIN"
echo "  gantry $(instr_per_request "$PROXY_PID" "$GANTRY_PORT")"
callgrind_annotate "$BENCH_TMP/last.cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n 3,12p |
  sed 's/^/    /' | cut -c1-150
stop_pid "$PROXY_PID"
sed -i 's/^worker_processes 1;/worker_processes 1;\nmaster_process off;/' "$BENCH_TMP/nginx/nginx.conf"
"${CG[@]}" nginx -e "$BENCH_TMP/nginx.log" -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/nginx.conf" \
  >>"$BENCH_TMP/nginx.log" 2>&1 &
BENCH_PIDS+=("$!")
echo "  nginx $(instr_per_request "$!" "$NGINX_PORT")"
callgrind_annotate "$BENCH_TMP/last.cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n 3,12p |
  sed 's/^/    /' | cut -c1-150
