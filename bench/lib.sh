# Shared by bench/run.sh and bench/idle_conns.sh: start the backend and the three proxies on
# loopback with equivalent configurations, track their pids, clean everything up on exit.
#
# Equivalence (what each proxy does per request, so that CPU per request compares like with like):
#  - one worker: nginx `worker_processes 1`, haproxy `nbthread 1`, gantry `--workers 1`;
#  - HTTP/1.1 keep-alive to the client and to the backend (upstream connection reuse);
#  - the same request header edits: Host preserved, X-Forwarded-For / -Proto / -Host set;
#  - no access log (gantry has none by default), no caching, no compression, no buffering to disk.
# shellcheck shell=bash

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$BENCH_DIR/.." && pwd)

BACKEND_PORT=${BACKEND_PORT:-18000}
NGINX_PORT=${NGINX_PORT:-18081}
HAPROXY_PORT=${HAPROXY_PORT:-18082}
GANTRY_PORT=${GANTRY_PORT:-18083}
GANTRY_ADMIN=${GANTRY_ADMIN:-127.0.0.1:18901}

NCPU=$(nproc)
# Proxy on its own core; the backend and the load generator share the other one. On a 1-core
# machine nothing is pinned (and the numbers mean little).
if ((NCPU >= 2)); then
  PROXY_CPU=0
  OTHER_CPUS=1-$((NCPU - 1))
  PIN_PROXY=(taskset -c "$PROXY_CPU")
  PIN_OTHER=(taskset -c "$OTHER_CPUS")
else
  PIN_PROXY=()
  PIN_OTHER=()
fi

BENCH_TMP=$(mktemp -d /tmp/gantry-bench.XXXXXX)
BENCH_PIDS=()

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    # nginx/haproxy/gantry all exit promptly on SIGTERM; do not hang the script if one does not.
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BENCH_PIDS=()
  rm -rf "$BENCH_TMP"
}

die() {
  echo "bench: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null || die "$1 not found (Debian package: $2; \`make deps-test\` installs it)"
}

port_open() {  # true if 127.0.0.1:$1 accepts connections
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() {  # wait_port PORT PID NAME: until the port accepts, or fail if PID died / 10 s pass
  local port=$1 pid=$2 name=$3
  for _ in $(seq 100); do
    port_open "$port" && return 0
    kill -0 "$pid" 2>/dev/null || { tail -20 "$BENCH_TMP/$name.log" >&2; die "$name exited"; }
    sleep 0.1
  done
  tail -20 "$BENCH_TMP/$name.log" >&2
  die "$name does not listen on 127.0.0.1:$port after 10 s"
}

check_ports_free() {
  local p
  for p in "$@"; do
    port_open "$p" && die "port $p on 127.0.0.1 is in use (another benchmark running?)"
  done
  return 0
}

# Process ids whose CPU/memory count as "the proxy": the process and its direct children (nginx
# master + worker; haproxy and gantry are one process).
proxy_pids() {
  local pid=$1
  echo "$pid"
  pgrep -P "$pid" 2>/dev/null || true
}

# utime+stime in clock ticks of the proxy (all threads), /proc/<pid>/stat fields 14 and 15.
cpu_ticks() {
  local total=0 pid stat
  for pid in $(proxy_pids "$1"); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }  # the comm field may contain spaces; fields restart after ") "
    read -r -a f <<<"$stat"
    # After stripping "pid (comm) ", field 14 (utime) is index 11 and field 15 (stime) index 12.
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# Resident set size in KiB of the proxy (sum over its processes).
rss_kib() {
  local total=0 pid v
  for pid in $(proxy_pids "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# The backend: a separate nginx returning a small fixed body, as cheap as a backend gets, so that
# the proxy (not the backend) is what the load generator measures.
start_backend() {
  mkdir -p "$BENCH_TMP/backend"
  cat >"$BENCH_TMP/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $BENCH_TMP/backend/nginx.pid;
error_log $BENCH_TMP/backend.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path $BENCH_TMP/backend/body;
  proxy_temp_path $BENCH_TMP/backend/proxy;
  fastcgi_temp_path $BENCH_TMP/backend/fastcgi;
  uwsgi_temp_path $BENCH_TMP/backend/uwsgi;
  scgi_temp_path $BENCH_TMP/backend/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$BACKEND_PORT reuseport backlog=4096;
    location / { return 200 "hello from the bench backend\n"; }
  }
}
EOF
  "${PIN_OTHER[@]}" nginx -e "$BENCH_TMP/backend.log" -p "$BENCH_TMP/backend" \
    -c "$BENCH_TMP/backend/nginx.conf" >>"$BENCH_TMP/backend.log" 2>&1 &
  BACKEND_PID=$!
  BENCH_PIDS+=("$BACKEND_PID")
  wait_port "$BACKEND_PORT" "$BACKEND_PID" backend
}

start_nginx_proxy() {
  mkdir -p "$BENCH_TMP/nginx"
  cat >"$BENCH_TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $BENCH_TMP/nginx/nginx.pid;
error_log $BENCH_TMP/nginx.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path $BENCH_TMP/nginx/body;
  proxy_temp_path $BENCH_TMP/nginx/proxy;
  fastcgi_temp_path $BENCH_TMP/nginx/fastcgi;
  uwsgi_temp_path $BENCH_TMP/nginx/uwsgi;
  scgi_temp_path $BENCH_TMP/nginx/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  upstream backend {
    server 127.0.0.1:$BACKEND_PORT;
    keepalive 256;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
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
  "${PIN_PROXY[@]}" nginx -e "$BENCH_TMP/nginx.log" -p "$BENCH_TMP/nginx" \
    -c "$BENCH_TMP/nginx/nginx.conf" >>"$BENCH_TMP/nginx.log" 2>&1 &
  PROXY_PID=$!
  BENCH_PIDS+=("$PROXY_PID")
  wait_port "$NGINX_PORT" "$PROXY_PID" nginx
}

start_haproxy() {
  cat >"$BENCH_TMP/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 9000
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:$BACKEND_PORT maxconn 9000
EOF
  "${PIN_PROXY[@]}" haproxy -db -f "$BENCH_TMP/haproxy.cfg" >>"$BENCH_TMP/haproxy.log" 2>&1 &
  PROXY_PID=$!
  BENCH_PIDS+=("$PROXY_PID")
  wait_port "$HAPROXY_PORT" "$PROXY_PID" haproxy
}

# gantry is fed a serialised IR snapshot (src/ir/json.h): one HTTP port, every path to the backend.
start_gantry() {
  local bin=$1
  cat >"$BENCH_TMP/snapshot.json" <<EOF
{
  "version": 1,
  "ports": [{
    "address": "127.0.0.1", "port": $GANTRY_PORT, "protocol": "HTTP",
    "http_listeners": [{
      "name": "bench/gateway/http",
      "rules": [{"route": "HTTPRoute/bench/all", "backends": [{"backend": "bench/backend:80"}]}],
      "entries": [{"match": {"path": {"type": "PathPrefix", "value": "/"}}, "rule": 0}]
    }]
  }],
  "backends": [{
    "name": "bench/backend:80",
    "endpoints": [{"address": "127.0.0.1", "port": $BACKEND_PORT}]
  }]
}
EOF
  "${PIN_PROXY[@]}" "$bin" run --snapshot "$BENCH_TMP/snapshot.json" --workers 1 \
    --admin-address "$GANTRY_ADMIN" --log-level warn --idle-timeout-ms 300000 \
    >>"$BENCH_TMP/gantry.log" 2>&1 &
  PROXY_PID=$!
  BENCH_PIDS+=("$PROXY_PID")
  wait_port "$GANTRY_PORT" "$PROXY_PID" gantry
}

stop_pid() {  # stop one tracked process now (and forget it)
  local pid=$1 keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${BENCH_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  BENCH_PIDS=("${keep[@]}")
}
