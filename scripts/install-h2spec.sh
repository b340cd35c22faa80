#!/usr/bin/env bash
# Installs h2spec (github.com/summerwind/h2spec, the HTTP/2 conformance tester used by
# tests/e2e/test_http2_h2spec.py) through the Go module proxy, into $GOBIN or $HOME/go/bin.
# The Go module proxy serves h2spec as v2.2.1+incompatible ("latest"; the later GitHub tags are
# not published there). Idempotent and quiet when it is already there. Needs Go (PATH or
# /usr/local/go/bin; Debian's golang-go is installed when neither has it).
set -euo pipefail
H2SPEC_VERSION=${H2SPEC_VERSION:-latest}
export PATH="$PATH:/usr/local/go/bin"
BIN_DIR=${GOBIN:-$HOME/go/bin}
if [ -x "$BIN_DIR/h2spec" ]; then exit 0; fi
if ! command -v go >/dev/null 2>&1; then
  # A fresh Debian machine: Debian's Go (1.19 on bookworm) is enough for `go install`.
  echo "install-h2spec: installing Debian's golang-go"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    golang-go ca-certificates >/dev/null
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-h2spec: Go is not available (needed for 'go install')" >&2
  exit 1
fi
echo "install-h2spec: go install github.com/summerwind/h2spec/cmd/h2spec@$H2SPEC_VERSION"
GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/summerwind/h2spec/cmd/h2spec@$H2SPEC_VERSION"
