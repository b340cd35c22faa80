#!/usr/bin/env bash
# Quick start (`make run`): the demo backend plus gantry on examples/quickstart, in the foreground.
#
#   scripts/run-quickstart.sh <gantry-binary>
#
# Starts examples/quickstart/backend.py on 127.0.0.1:9000 (the EndpointSlice in
# examples/quickstart/backend.yaml points there), then `gantry run --config examples/quickstart`,
# which serves the Gateway's HTTP listener on 127.0.0.1:8080 and the admin API on 127.0.0.1:9901.
# Prints the curl command once gantry answers; Ctrl-C stops gantry, and the backend is stopped
# whenever gantry exits, however it exits. Environment overrides: BACKEND_PORT must match
# backend.yaml, so change both together.
set -euo pipefail

GANTRY=${1:?usage: $0 <gantry-binary>}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIG="$ROOT/examples/quickstart"
BACKEND_PORT=${BACKEND_PORT:-9000}
GATEWAY_PORT=8080  # examples/quickstart/gateway.yaml, listener "http"
ADMIN_ADDRESS=${ADMIN_ADDRESS:-127.0.0.1:9901}
PYTHON=${PYTHON:-python3}

[[ -x "$GANTRY" ]] || { echo "run-quickstart: $GANTRY is not an executable" >&2; exit 2; }

port_busy() {  # true if something listens on 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for p in "$BACKEND_PORT" "$GATEWAY_PORT" "${ADMIN_ADDRESS##*:}"; do
  if port_busy "$p"; then
    echo "run-quickstart: port $p on 127.0.0.1 is already in use (another gantry or backend?)" >&2
    exit 1
  fi
done

backend_pid=""
gantry_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [[ -n "$gantry_pid" ]] && kill -0 "$gantry_pid" 2>/dev/null; then
    kill -TERM "$gantry_pid" 2>/dev/null || true
    wait "$gantry_pid" 2>/dev/null || true
  fi
  if [[ -n "$backend_pid" ]] && kill -0 "$backend_pid" 2>/dev/null; then
    kill -TERM "$backend_pid" 2>/dev/null || true
    wait "$backend_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$PYTHON" "$CONFIG/backend.py" --host 127.0.0.1 --port "$BACKEND_PORT" &
backend_pid=$!
for _ in $(seq 50); do
  port_busy "$BACKEND_PORT" && break
  kill -0 "$backend_pid" 2>/dev/null || { echo "run-quickstart: the backend failed to start" >&2; exit 1; }
  sleep 0.1
done

"$GANTRY" run --config "$CONFIG" --bind-address 127.0.0.1 --admin-address "$ADMIN_ADDRESS" &
gantry_pid=$!

# Ready = the listener accepts connections (the config has been translated and bound).
ready=0
for _ in $(seq 100); do
  kill -0 "$gantry_pid" 2>/dev/null || break
  if port_busy "$GATEWAY_PORT"; then ready=1; break; fi
  sleep 0.1
done
if [[ $ready == 1 ]]; then
  cat <<MSG

gantry is serving examples/quickstart. Try:

  curl -H 'Host: example.com' http://127.0.0.1:$GATEWAY_PORT/hello

  curl http://$ADMIN_ADDRESS/status     # Gateway API status of every object
  curl http://$ADMIN_ADDRESS/config     # the active routing snapshot
  $GANTRY status --admin-address $ADMIN_ADDRESS

Edit the files in examples/quickstart/ and gantry applies the change live. Ctrl-C to stop.

MSG
elif kill -0 "$gantry_pid" 2>/dev/null; then
  echo "run-quickstart: gantry is running but nothing listens on 127.0.0.1:$GATEWAY_PORT yet;" \
       "check its log above and curl http://$ADMIN_ADDRESS/status" >&2
fi

set +e
wait "$gantry_pid"
rc=$?
gantry_pid=""
exit "$rc"
