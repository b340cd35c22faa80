"""The published Gateway API CRDs, fetched the way CI can: the Go module sigs.k8s.io/gateway-api
at a pinned version, downloaded with the ordinary Go client (`go mod download`, which checks the
module against the Go checksum database) into Go's module cache, and checked again here against a
pinned sha256 of its zip.

The CRDs are never committed. A download failure is an error, not a skip: the Go module proxy is
part of the CI environment (scripts/install-deps.sh --test installs Go). To run offline, set
GANTRY_CACHE_DIR to a folder holding gateway-api-<VERSION>.zip (the module zip).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import yaml

VERSION = "v1.6.3"
MODULE = f"sigs.k8s.io/gateway-api@{VERSION}"
SHA256 = "7c5d0a931d6ffb3e08ac4d5318969faaa6acf25a40ad13cc5978c22117e9b64b"
PREFIX = f"sigs.k8s.io/gateway-api@{VERSION}/config/crd/"

# The kinds gantry reads (issue 3), and the channel it claims: experimental, a superset of
# standard (src/api/parse.h).
KINDS = (
    "GatewayClass",
    "Gateway",
    "ListenerSet",
    "HTTPRoute",
    "GRPCRoute",
    "TLSRoute",
    "TCPRoute",
    "UDPRoute",
    "ReferenceGrant",
    "BackendTLSPolicy",
)


class FetchError(RuntimeError):
    pass


def go_binary() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else None)
    if not go:
        raise FetchError("Go is not installed (scripts/install-deps.sh --test installs it)")
    return go


def fetch_zip() -> bytes:
    """The pinned module zip (verified by sha256 on every use)."""
    offline = os.environ.get("GANTRY_CACHE_DIR")
    if offline:
        path = Path(offline) / f"gateway-api-{VERSION}.zip"
    else:
        # Outside any Go module, `go mod download path@version` fetches into the module cache and
        # prints where the zip is; a second call finds it there without the network.
        try:
            r = subprocess.run(
                [go_binary(), "mod", "download", "-json", MODULE],
                cwd=Path(__file__).resolve().parent,
                env={**os.environ, "GOFLAGS": "-mod=mod", "GO111MODULE": "on"},
                capture_output=True,
                text=True,
                timeout=180,
            )
            info = json.loads(r.stdout or "{}")
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
            raise FetchError(f"go mod download {MODULE}: {e}") from e
        if r.returncode != 0 or "Zip" not in info:
            raise FetchError(
                f"go mod download {MODULE} failed: {info.get('Error') or r.stderr.strip()} "
                "(the Go module proxy must be reachable; set GANTRY_CACHE_DIR to a folder holding "
                f"gateway-api-{VERSION}.zip to run offline)"
            )
        path = Path(info["Zip"])
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FetchError(f"{path}: {e}") from e
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        raise FetchError(f"{path}: sha256 {got}, expected {SHA256}")
    return data


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


@functools.lru_cache(maxsize=None)
def load(channel: str = "experimental") -> dict[str, dict]:
    """kind -> CustomResourceDefinition (parsed) for the given channel."""
    out: dict[str, dict] = {}
    with zipfile.ZipFile(io.BytesIO(fetch_zip())) as z:
        for name in z.namelist():
            if not name.startswith(PREFIX + channel + "/") or not name.endswith(".yaml"):
                continue
            for doc in yaml.load_all(z.read(name), Loader=_Loader):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                kind = doc["spec"]["names"]["kind"]
                if kind in KINDS:
                    out[kind] = doc
    missing = set(KINDS) - set(out)
    if missing:
        raise FetchError(f"CRDs missing from {MODULE} ({channel}): {sorted(missing)}")
    return out
