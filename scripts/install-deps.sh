#!/usr/bin/env bash
# Installs what gantry needs to build, run and test, from Debian packages and PyPI.
# Idempotent and quiet when everything is already present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_BUILD=(build-essential g++ cmake ninja-build pkg-config
  libasio-dev libssl-dev libnghttp2-dev node-llhttp libre2-dev
  libfyaml-dev libsimdjson-dev libfmt-dev libspdlog-dev libcli11-dev
  libprotobuf-dev protobuf-compiler
  libgoogle-perftools-dev)  # tcmalloc_minimal: the allocator (CMake GANTRY_MALLOC)
DEB_TEST=(libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  curl nghttp2-client wrk nginx-light haproxy openssl python3 python3-pip procps iproute2)

want=("${DEB_BUILD[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${DEB_TEST[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts nginx/haproxy on install where it can; the benchmarks start their own.
  $SUDO service nginx stop >/dev/null 2>&1 || true
  $SUDO service haproxy stop >/dev/null 2>&1 || true
fi

if [ "${1:-}" = "--test" ]; then
  PY=${PYTHON:-python3}
  if ! $PY -c "import sys; import importlib.util as u; sys.exit(0 if all(u.find_spec(m) for m in ['pytest','httpx','websockets','h2','grpc','grpc_tools']) else 1)" 2>/dev/null; then
    echo "install-deps: installing Python test tools"
    $PY -m pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt
  fi
  # h2spec (HTTP/2 conformance, tests/e2e/test_http2_h2spec.py) is a Go module, not a package.
  scripts/install-h2spec.sh || echo "install-deps: h2spec could not be installed" >&2
fi
