#!/usr/bin/env bash
# gantry vs nginx as HTTP/2 front ends: h2load through each proxy (one worker each, same HTTP/1.1
# backend, upstream keep-alive) in interleaved rounds; prints median requests/s, mean latency and
# the proxy's CPU time per request, for h2c (prior knowledge) and for h2 over TLS (ALPN).
#
#   bench/h2.sh <gantry-binary>
#
# Environment: MODES ("h2c tls"), ROUNDS (5), DURATION seconds per run (5), CLIENTS (10),
# STREAMS per client (-m, 10); SYSCALLS=1 adds system calls per request by type for each proxy
# (perf, SYSCALL_REQUESTS requests, 50000) and INSTR=1 user-space instructions per request
# (callgrind, INSTR_REQUESTS, 20000): figures the machine's load does not change.
# Loopback only; every process started here is stopped on exit.
# See bench/README.md ("HTTP/2") for the method and the measured results.
set -euo pipefail

GANTRY_BIN=${1:?usage: $0 <gantry-binary>}
MODES=${MODES:-h2c tls}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CLIENTS=${CLIENTS:-10}
STREAMS=${STREAMS:-10}
NGINX_H2C_PORT=${NGINX_H2C_PORT:-18091}
NGINX_TLS_PORT=${NGINX_TLS_PORT:-18092}
GANTRY_H2C_PORT=${GANTRY_H2C_PORT:-18093}
GANTRY_TLS_PORT=${GANTRY_TLS_PORT:-18094}

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need h2load nghttp2-client
need nginx nginx-light
need openssl openssl
need taskset util-linux
need curl curl
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[[ -x "$GANTRY_BIN" ]] || die "$GANTRY_BIN is not an executable"

check_ports_free "$BACKEND_PORT" "$NGINX_H2C_PORT" "$NGINX_TLS_PORT" "$GANTRY_H2C_PORT" \
  "$GANTRY_TLS_PORT"
CLK_TCK=$(getconf CLK_TCK)
echo "bench: $(nproc) CPUs; proxy pinned to CPU ${PROXY_CPU:-none}, backend and h2load to ${OTHER_CPUS:-none}"
echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# One self-signed ECDSA P-256 certificate for both proxies (same key exchange and signature cost).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=bench.example.com -addext subjectAltName=DNS:bench.example.com \
  -keyout "$BENCH_TMP/key.pem" -out "$BENCH_TMP/cert.pem" >/dev/null 2>&1

start_backend

# nginx: the same proxy settings as bench/lib.sh's HTTP/1 configuration, HTTP/2 listeners.
mkdir -p "$BENCH_TMP/nginx2"
cat >"$BENCH_TMP/nginx2/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $BENCH_TMP/nginx2/nginx.pid;
error_log $BENCH_TMP/nginx2.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path $BENCH_TMP/nginx2/body;
  proxy_temp_path $BENCH_TMP/nginx2/proxy;
  fastcgi_temp_path $BENCH_TMP/nginx2/fastcgi;
  uwsgi_temp_path $BENCH_TMP/nginx2/uwsgi;
  scgi_temp_path $BENCH_TMP/nginx2/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  http2_max_requests 100000000;
  http2_max_concurrent_streams 100;
  ssl_protocols TLSv1.2 TLSv1.3;
  upstream backend {
    server 127.0.0.1:$BACKEND_PORT;
    keepalive 256;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:$NGINX_H2C_PORT http2 backlog=4096;
    listen 127.0.0.1:$NGINX_TLS_PORT ssl http2 backlog=4096;
    ssl_certificate $BENCH_TMP/cert.pem;
    ssl_certificate_key $BENCH_TMP/key.pem;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host;
    }
  }
}
EOF
"${PIN_PROXY[@]}" nginx -e "$BENCH_TMP/nginx2.log" -p "$BENCH_TMP/nginx2" \
  -c "$BENCH_TMP/nginx2/nginx.conf" >>"$BENCH_TMP/nginx2.log" 2>&1 &
NGINX_PID=$!
BENCH_PIDS+=("$NGINX_PID")
wait_port "$NGINX_H2C_PORT" "$NGINX_PID" nginx2

# gantry: an IR snapshot with an HTTP port (h2c prior knowledge) and an HTTPS port (ALPN h2).
python3 - "$BENCH_TMP" "$GANTRY_H2C_PORT" "$GANTRY_TLS_PORT" "$BACKEND_PORT" <<'EOF'
import json, sys
tmp, h2c, tls, backend = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
listener = {"name": "bench/gateway/l",
            "rules": [{"route": "HTTPRoute/bench/all", "backends": [{"backend": "bench/backend:80"}]}],
            "entries": [{"match": {"path": {"type": "PathPrefix", "value": "/"}}, "rule": 0}]}
cert = {"cert_pem": open(f"{tmp}/cert.pem").read(), "key_pem": open(f"{tmp}/key.pem").read()}
snap = {"version": 1,
        "ports": [{"address": "127.0.0.1", "port": h2c, "protocol": "HTTP",
                   "http_listeners": [listener]},
                  {"address": "127.0.0.1", "port": tls, "protocol": "HTTPS",
                   "http_listeners": [listener],
                   "tls": [{"hostname": "", "certificates": [cert]}]}],
        "backends": [{"name": "bench/backend:80",
                      "endpoints": [{"address": "127.0.0.1", "port": backend}]}]}
open(f"{tmp}/snapshot-h2.json", "w").write(json.dumps(snap))
EOF
"${PIN_PROXY[@]}" "$GANTRY_BIN" run --snapshot "$BENCH_TMP/snapshot-h2.json" --workers 1 \
  --admin-address "$GANTRY_ADMIN" --log-level warn --idle-timeout-ms 300000 \
  >>"$BENCH_TMP/gantry.log" 2>&1 &
GANTRY_PID=$!
BENCH_PIDS+=("$GANTRY_PID")
wait_port "$GANTRY_TLS_PORT" "$GANTRY_PID" gantry

url() {  # url PROXY MODE
  local port scheme=http
  case "$1/$2" in
    nginx/h2c) port=$NGINX_H2C_PORT ;;
    nginx/tls) port=$NGINX_TLS_PORT; scheme=https ;;
    gantry/h2c) port=$GANTRY_H2C_PORT ;;
    gantry/tls) port=$GANTRY_TLS_PORT; scheme=https ;;
  esac
  echo "$scheme://127.0.0.1:$port/"
}

# Both must really proxy over HTTP/2 before they are measured.
for p in gantry nginx; do
  for m in $MODES; do
    flag=--http2-prior-knowledge
    [[ $m == tls ]] && flag=--http2
    out=$(curl -sS -k "$flag" --max-time 5 -H 'Host: bench.example.com' \
      -w ' %{http_version}' "$(url "$p" "$m")" 2>&1 || true)
    [[ $out == "hello from the bench backend"*" 2" ]] ||
      die "$p ($m) does not proxy over HTTP/2 (got: ${out:0:200})"
  done
done

# h2load: -D seconds, CLIENTS connections, STREAMS concurrent streams each; one parseable line.
# The host goes in :authority: h2load sends its own :authority (from the URL) and would add
# "-H Host:" as a second, different Host field, which RFC 9113 8.3.1 makes malformed (both
# proxies answer 400: every request then "fails" quickly and the figures measure error pages).
run_h2load() {  # run_h2load URL SECONDS -> "requests_done succeeded failed errored seconds mean_us"
  "${PIN_OTHER[@]}" h2load -D "$2" -c "$CLIENTS" -m "$STREAMS" -t 1 \
    -H ':authority: bench.example.com' "$1" 2>&1 | awk '
    /^finished in/ { gsub(/s,/, "", $3); secs = $3 }
    /^requests:/ { done = $6; ok = $8; failed = $10; errored = $12 }
    /^time for request:/ { mean = $6; unit = mean; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", mean)
      mean = (unit == "ms") ? mean * 1000 : (unit == "s" ? mean * 1e6 : mean) }
    END { print done, ok, failed, errored, secs, mean }'
}

for m in $MODES; do for p in gantry nginx; do run_h2load "$(url "$p" "$m")" 2 >/dev/null; done; done

declare -A PID=([gantry]=$GANTRY_PID [nginx]=$NGINX_PID)
RESULTS=$BENCH_TMP/results.txt
: >"$RESULTS"
for ((r = 1; r <= ROUNDS; r++)); do
  for m in $MODES; do
    for p in gantry nginx; do
      t0=$(cpu_ticks "${PID[$p]}")
      line=$(run_h2load "$(url "$p" "$m")" "$DURATION")
      t1=$(cpu_ticks "${PID[$p]}")
      [[ -n $line ]] || die "h2load produced no result for $p ($m)"
      read -r _ ok _ <<<"$line"
      ((ok > 0)) || die "no request succeeded through $p ($m): h2load says $line"
      echo "$p $m $r $line $((t1 - t0))" >>"$RESULTS"
      awk -v r="$r" -v p="$p" -v m="$m" -v clk="$CLK_TCK" -v ticks=$((t1 - t0)) '{
        printf "round %d %-6s %-3s %8.0f req/s  mean %6.2f ms  cpu %5.1f us/req  failed %d\n", r,
          p, m, $2 / $5, $6 / 1000, ticks * 1e6 / clk / ($2 > 0 ? $2 : 1), $3 + $4 }' <<<"$line"
    done
  done
done

echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" "$CLK_TCK" "$CLIENTS" "$STREAMS" "$DURATION" "$ROUNDS" <<'EOF'
import statistics, sys
path, clk, c, m_, dur, rounds = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
runs = {}
for line in open(path):
    p, mode, r, done, ok, failed, errored, secs, mean, ticks = line.split()
    ok, secs, ticks = int(ok), float(secs), int(ticks)
    runs.setdefault((mode, p), []).append({
        "rps": ok / secs, "mean": float(mean) / 1000, "cpu_us": ticks * 1e6 / clk / max(ok, 1),
        "util": ticks / clk / secs * 100, "failed": int(failed) + int(errored)})
print()
print(f"h2load -c{c} -m{m_} -t1, {rounds} interleaved rounds of {dur} s; medians; "
      "CPU = proxy utime+stime from /proc/<pid>/stat")
print()
print("| mode | proxy  | req/s   | mean ms | CPU us/req | proxy CPU % | failed |")
print("|------|--------|---------|---------|------------|-------------|--------|")
med = {}
for (mode, p), rs in runs.items():
    med[(mode, p)] = m = {k: statistics.median(x[k] for x in rs) for k in rs[0]}
    m["failed"] = sum(x["failed"] for x in rs)
    print(f"| {mode:<4} | {p:<6} | {m['rps']:7.0f} | {m['mean']:7.2f} | {m['cpu_us']:10.1f} "
          f"| {m['util']:11.0f} | {m['failed']:6d} |")
print()
for mode in dict.fromkeys(k[0] for k in med):
    g, n = med.get((mode, "gantry")), med.get((mode, "nginx"))
    if g and n:
        print(f"{mode}: gantry/nginx req/s {g['rps'] / n['rps']:.2f}x, "
              f"CPU/req {g['cpu_us'] / n['cpu_us']:.2f}x")
EOF

# Load-independent costs (SYSCALLS=1): system calls per request by type, counted by perf on the
# proxy's worker process over a fixed number of requests (perf stat on syscall tracepoints; needs
# root or kernel.perf_event_paranoid <= 1). CPU time per request depends on how loaded the
# machine is; these counts do not.
if [[ ${SYSCALLS:-0} == 1 ]]; then
  need perf linux-perf
  REQS=${SYSCALL_REQUESTS:-50000}
  EVENTS=raw_syscalls:sys_enter
  for sc in read recvfrom write writev sendto sendmsg epoll_wait epoll_ctl getsockopt setsockopt \
    futex accept4 connect close; do
    EVENTS+=",syscalls:sys_enter_$sc"
  done
  NWORKER=$(pgrep -P "$NGINX_PID" | head -1)  # the worker: the master does nothing per request
  echo
  echo "system calls per request (h2load -n $REQS -c$CLIENTS -m$STREAMS; perf stat on the worker)"
  for m in $MODES; do
    for p in gantry nginx; do
      pid=$GANTRY_PID
      [[ $p == nginx ]] && pid=$NWORKER
      perf stat -x, -e "$EVENTS" -p "$pid" -o "$BENCH_TMP/stat.$p.$m" -- "${PIN_OTHER[@]}" \
        h2load -n "$REQS" -c "$CLIENTS" -m "$STREAMS" -t 1 -H ':authority: bench.example.com' \
        "$(url "$p" "$m")" >"$BENCH_TMP/h2load.$p.$m" 2>&1
      ok=$(awk '/^requests:/ {print $8}' "$BENCH_TMP/h2load.$p.$m")
      awk -F, -v r="${ok:-0}" -v p="$p" -v m="$m" 'BEGIN { line = sprintf("%-6s %-3s", p, m) }
        $1 ~ /^[0-9.]+$/ && r > 0 && $1 / r >= 0.005 {
          name = $3; sub(/^syscalls:sys_enter_/, "", name); sub(/^raw_syscalls:sys_enter/, "all", name)
          line = line sprintf("  %s %.2f", name, $1 / r) }
        END { print line }' "$BENCH_TMP/stat.$p.$m"
    done
  done
fi

# User-space instructions per request (INSTR=1): each proxy restarted under callgrind, counting
# only while h2load sends INSTR_REQUESTS requests (callgrind_control -i on/off). Load-independent;
# the TLS figure includes the CLIENTS handshakes (~2.7 M instructions each, for both proxies).
[[ ${INSTR:-0} == 1 ]] || exit 0
need valgrind valgrind
IREQS=${INSTR_REQUESTS:-20000}
stop_pid "$GANTRY_PID"
stop_pid "$NGINX_PID"
CG=(valgrind --tool=callgrind --instr-atstart=no "--callgrind-out-file=$BENCH_TMP/cg.%p")
"${CG[@]}" "$GANTRY_BIN" run --snapshot "$BENCH_TMP/snapshot-h2.json" --workers 1 \
  --admin-address "$GANTRY_ADMIN" --log-level warn --idle-timeout-ms 300000 \
  >>"$BENCH_TMP/gantry.log" 2>&1 &
GANTRY_PID=$!
BENCH_PIDS+=("$GANTRY_PID")
sed -i 's/^worker_processes 1;/worker_processes 1;\nmaster_process off;/' "$BENCH_TMP/nginx2/nginx.conf"
"${CG[@]}" nginx -e "$BENCH_TMP/nginx2.log" -p "$BENCH_TMP/nginx2" -c "$BENCH_TMP/nginx2/nginx.conf" \
  >>"$BENCH_TMP/nginx2.log" 2>&1 &
NGINX_PID=$!
BENCH_PIDS+=("$NGINX_PID")
declare -A PID=([gantry]=$GANTRY_PID [nginx]=$NGINX_PID)
for _ in $(seq 300); do port_open "$GANTRY_TLS_PORT" && port_open "$NGINX_TLS_PORT" && break; sleep 0.2; done
echo
echo "user-space instructions per request (callgrind; h2load -n $IREQS -c$CLIENTS -m$STREAMS)"
for m in $MODES; do
  for p in gantry nginx; do
    pid=${PID[$p]}
    "${PIN_OTHER[@]}" h2load -n 2000 -c "$CLIENTS" -m "$STREAMS" -t 1 \
      -H ':authority: bench.example.com' "$(url "$p" "$m")" >/dev/null 2>&1
    callgrind_control -z "$pid" >/dev/null 2>&1
    callgrind_control -i on "$pid" >/dev/null 2>&1
    ok=$("${PIN_OTHER[@]}" h2load -n "$IREQS" -c "$CLIENTS" -m "$STREAMS" -t 1 \
      -H ':authority: bench.example.com' "$(url "$p" "$m")" 2>&1 |
      awk '/^requests:/ {print $8}')
    callgrind_control -i off "$pid" >/dev/null 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 2
    f=$(ls -t "$BENCH_TMP"/cg."$pid"* | head -1)
    tot=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    printf "%-6s %-3s %8d instructions/request (%s requests ok)\n" "$p" "$m" \
      "$((tot / (ok > 0 ? ok : 1)))" "$ok"
    cp "$f" "$BENCH_TMP/last.$p.$m.cg"
  done
done
