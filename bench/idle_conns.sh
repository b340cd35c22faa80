#!/usr/bin/env bash
# Memory per idle keep-alive connection: 5,000 idle connections (after one request each) to
# gantry, nginx and haproxy in turn, each proxy alone on the machine with the same backend.
#
#   bench/idle_conns.sh <gantry-binary>
#
# Environment: COUNT (5000), PROXIES ("gantry nginx haproxy"). Takes well under a minute.
set -euo pipefail

GANTRY_BIN=${1:?usage: $0 <gantry-binary>}
COUNT=${COUNT:-5000}
PROXIES=${PROXIES:-gantry nginx haproxy}

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need nginx nginx-light
need haproxy haproxy
need python3 python3
# The proxy and the client each need COUNT descriptors; both inherit this limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= COUNT + 100)) || die "ulimit -n is $(ulimit -n); need at least $((COUNT + 100))"
check_ports_free "$BACKEND_PORT" "$NGINX_PORT" "$HAPROXY_PORT" "$GANTRY_PORT"

start_backend
declare -A RES
for p in $PROXIES; do
  case $p in
    nginx) start_nginx_proxy; port=$NGINX_PORT ;;
    haproxy) start_haproxy; port=$HAPROXY_PORT ;;
    gantry)
      [[ -x "$GANTRY_BIN" ]] || die "$GANTRY_BIN is not an executable"
      start_gantry "$GANTRY_BIN"; port=$GANTRY_PORT ;;
    *) die "unknown proxy $p" ;;
  esac
  echo "idle_conns: $p" >&2
  if line=$(python3 "$BENCH_DIR/idle_conns.py" --port "$port" --pid "$PROXY_PID" --count "$COUNT" |
    awk '/^RESULT/ {print $2, $3, $4, $5}') && [[ -n $line ]]; then
    RES[$p]=$line
  else
    RES[$p]="failed"
  fi
  stop_pid "$PROXY_PID"
done

echo
echo "$COUNT idle HTTP/1.1 keep-alive connections, one request each; RSS = VmRSS of the proxy"
echo "(nginx: master + worker), measured 1 s after the last connection was opened"
echo
echo "| proxy   | RSS before KiB | RSS after KiB | bytes per idle connection | still open |"
echo "|---------|----------------|---------------|---------------------------|------------|"
for p in $PROXIES; do
  if [[ ${RES[$p]} == failed ]]; then
    printf '| %-7s | %14s | %13s | %25s | %10s |\n' "$p" - - "failed (see above)" -
  else
    read -r before after per alive <<<"${RES[$p]}"
    printf '| %-7s | %14d | %13d | %25d | %10d |\n' "$p" "$before" "$after" "$per" "$alive"
  fi
done
