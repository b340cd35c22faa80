#!/usr/bin/env bash
# TLS handshakes per second and proxy CPU per handshake: gantry vs nginx, one worker each, the same
# ECDSA P-256 certificate, TLS 1.3, HTTP/1.1. h2load opens one new connection per request (-n N -c N),
# so every request costs a full handshake (no resumption) plus one small proxied request; the
# proxies' utime+stime from /proc divided by N is their CPU per handshake.
#
#   bench/tls_handshakes.sh <gantry-binary>     (a Release build: cmake -DCMAKE_BUILD_TYPE=Release)
#
# Environment: ROUNDS (3), HANDSHAKES per run (2000); SYSCALLS=1 adds system calls per handshake
# by type (perf, load-independent). Loopback only; every process started here is
# stopped on exit. Results: bench/README.md ("TLS handshakes").
set -euo pipefail

GANTRY_BIN=${1:?usage: $0 <gantry-binary>}
ROUNDS=${ROUNDS:-3}
HANDSHAKES=${HANDSHAKES:-2000}
NGINX_TLS_PORT=${NGINX_TLS_PORT:-18443}
GANTRY_TLS_PORT=${GANTRY_TLS_PORT:-18444}

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need h2load nghttp2-client
need nginx nginx-light
need openssl openssl
need taskset util-linux
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
check_ports_free "$BACKEND_PORT" "$NGINX_TLS_PORT" "$GANTRY_TLS_PORT"
CLK_TCK=$(getconf CLK_TCK)
echo "bench: $(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout "$BENCH_TMP/tls.key" -out "$BENCH_TMP/tls.crt" -subj "/CN=bench.example" \
  -addext "subjectAltName=DNS:bench.example" 2>/dev/null

start_backend

# nginx: TLS 1.2/1.3, no session cache or tickets (h2load does not resume anyway).
mkdir -p "$BENCH_TMP/nginx-tls"
cat >"$BENCH_TMP/nginx-tls/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $BENCH_TMP/nginx-tls/nginx.pid;
error_log $BENCH_TMP/nginx-tls.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path $BENCH_TMP/nginx-tls/body;
  proxy_temp_path $BENCH_TMP/nginx-tls/proxy;
  fastcgi_temp_path $BENCH_TMP/nginx-tls/fastcgi;
  uwsgi_temp_path $BENCH_TMP/nginx-tls/uwsgi;
  scgi_temp_path $BENCH_TMP/nginx-tls/scgi;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:$NGINX_TLS_PORT ssl backlog=4096;
    ssl_certificate $BENCH_TMP/tls.crt;
    ssl_certificate_key $BENCH_TMP/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
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
CONF
"${PIN_PROXY[@]}" nginx -e "$BENCH_TMP/nginx-tls.log" -p "$BENCH_TMP/nginx-tls" \
  -c "$BENCH_TMP/nginx-tls/nginx.conf" >>"$BENCH_TMP/nginx-tls.log" 2>&1 &
NGINX_PID=$!
BENCH_PIDS+=("$NGINX_PID")
wait_port "$NGINX_TLS_PORT" "$NGINX_PID" nginx-tls

# gantry: the same certificate as the port's default TLS config (IR snapshot, src/ir/json.h).
python3 - "$BENCH_TMP" "$GANTRY_TLS_PORT" "$BACKEND_PORT" <<'PY'
import json, sys
tmp, port, backend = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
snap = {
    "version": 1,
    "ports": [{
        "address": "127.0.0.1", "port": port, "protocol": "HTTPS",
        "http_listeners": [{
            "name": "bench/gateway/https",
            "rules": [{"route": "HTTPRoute/bench/all", "backends": [{"backend": "bench/backend:80"}]}],
            "entries": [{"match": {"path": {"type": "PathPrefix", "value": "/"}}, "rule": 0}],
        }],
        "tls": [{"hostname": "", "certificates": [{
            "cert_pem": open(f"{tmp}/tls.crt").read(), "key_pem": open(f"{tmp}/tls.key").read()}]}],
    }],
    "backends": [{"name": "bench/backend:80", "endpoints": [{"address": "127.0.0.1", "port": backend}]}],
}
open(f"{tmp}/snapshot-tls.json", "w").write(json.dumps(snap))
PY
"${PIN_PROXY[@]}" "$GANTRY_BIN" run --snapshot "$BENCH_TMP/snapshot-tls.json" --workers 1 \
  --admin-address "$GANTRY_ADMIN" --log-level warn >>"$BENCH_TMP/gantry-tls.log" 2>&1 &
GANTRY_PID=$!
BENCH_PIDS+=("$GANTRY_PID")
wait_port "$GANTRY_TLS_PORT" "$GANTRY_PID" gantry-tls

declare -A PID=([gantry]=$GANTRY_PID [nginx]=$NGINX_PID) PORT=([gantry]=$GANTRY_TLS_PORT [nginx]=$NGINX_TLS_PORT)
declare -A RATES CPUS
for r in $(seq "$ROUNDS"); do
  for p in gantry nginx; do
    before=$(cpu_ticks "${PID[$p]}")
    out=$("${PIN_OTHER[@]}" h2load --h1 -t 1 -n "$HANDSHAKES" -c "$HANDSHAKES" \
      "https://127.0.0.1:${PORT[$p]}/" 2>&1)
    after=$(cpu_ticks "${PID[$p]}")
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
    secs=$(sed -n 's/^finished in \([0-9.]*\)s.*/\1/p' <<<"$out")
    [ "${ok:-0}" -gt 0 ] || { echo "$out" >&2; die "$p: no successful request"; }
    rate=$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    cpu_us=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$ok" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
    echo "round $r $p: $ok handshakes+requests in ${secs}s = $rate/s, proxy CPU $cpu_us us each"
    RATES[$p]+="$rate "
    CPUS[$p]+="$cpu_us "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
printf "%-8s %14s %22s\n" proxy "handshakes/s" "CPU us per handshake"
for p in gantry nginx; do
  printf "%-8s %14s %22s\n" "$p" "$(median <<<"${RATES[$p]}")" "$(median <<<"${CPUS[$p]}")"
done
g_rate=$(median <<<"${RATES[gantry]}"); n_rate=$(median <<<"${RATES[nginx]}")
g_cpu=$(median <<<"${CPUS[gantry]}"); n_cpu=$(median <<<"${CPUS[nginx]}")
awk -v a="$g_rate" -v b="$n_rate" -v c="$g_cpu" -v d="$n_cpu" \
  'BEGIN { printf "gantry/nginx: handshakes/s %.2fx, CPU per handshake %.2fx\n", a / b, c / d }'

# Load-independent costs (SYSCALLS=1): system calls per handshake+request by type, counted by
# perf on the proxy process (nginx: its worker) over one more run of HANDSHAKES connections.
[[ ${SYSCALLS:-0} == 1 ]] || exit 0
need perf linux-perf
EVENTS=raw_syscalls:sys_enter
for sc in read write recvfrom sendto writev epoll_wait epoll_ctl accept4 accept close shutdown \
  ioctl setsockopt getsockopt connect mmap munmap; do
  EVENTS+=",syscalls:sys_enter_$sc"
done
echo
echo "system calls per handshake + request (h2load --h1 -n $HANDSHAKES -c $HANDSHAKES; perf stat)"
for p in gantry nginx; do
  pid=${PID[$p]}
  [[ $p == nginx ]] && pid=$(pgrep -P "$NGINX_PID" | head -1)
  perf stat -x, -e "$EVENTS" -p "$pid" -o "$BENCH_TMP/stat.$p" -- "${PIN_OTHER[@]}" \
    h2load --h1 -t 1 -n "$HANDSHAKES" -c "$HANDSHAKES" "https://127.0.0.1:${PORT[$p]}/" \
    >"$BENCH_TMP/h2load.$p" 2>&1
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$BENCH_TMP/h2load.$p")
  awk -F, -v r="${ok:-0}" -v p="$p" 'BEGIN { line = sprintf("%-6s", p) }
    $1 ~ /^[0-9.]+$/ && r > 0 && $1 / r >= 0.005 {
      name = $3; sub(/^syscalls:sys_enter_/, "", name); sub(/^raw_syscalls:sys_enter/, "all", name)
      line = line sprintf("  %s %.2f", name, $1 / r) }
    END { print line }' "$BENCH_TMP/stat.$p"
done
