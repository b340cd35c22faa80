"""The published Gateway API CRDs, fetched the way CI can: the Go module proxy's zip of
sigs.k8s.io/gateway-api at a pinned version and sha256, cached once per machine.

The CRDs are never committed: the zip lands in $GANTRY_CACHE_DIR (default ~/.cache/gantry). A
download failure is an error, not a skip: the module proxy is part of the CI environment.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
import zipfile
from pathlib import Path

import yaml

VERSION = "v1.6.3"
URL = f"https://proxy.golang.org/sigs.k8s.io/gateway-api/@v/{VERSION}.zip"
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


def cache_dir() -> Path:
    d = os.environ.get("GANTRY_CACHE_DIR")
    return Path(d) if d else Path.home() / ".cache" / "gantry"


def fetch_zip() -> bytes:
    """The pinned module zip, downloaded at most once (verified by sha256 on every use)."""
    path = cache_dir() / f"gateway-api-{VERSION}.zip"
    if path.exists():
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == SHA256:
            return data
    try:
        with urllib.request.urlopen(URL, timeout=60) as r:
            data = r.read()
    except Exception as e:  # noqa: BLE001 - any network failure is reported the same way
        raise FetchError(
            f"cannot download the Gateway API CRDs from {URL}: {e} "
            "(the Go module proxy must be reachable; set GANTRY_CACHE_DIR to a folder holding "
            f"gateway-api-{VERSION}.zip to run offline)"
        ) from e
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        raise FetchError(f"{URL}: sha256 {got}, expected {SHA256}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def load(channel: str = "experimental") -> dict[str, dict]:
    """kind -> CustomResourceDefinition (parsed) for the given channel."""
    out: dict[str, dict] = {}
    with zipfile.ZipFile(io.BytesIO(fetch_zip())) as z:
        for name in z.namelist():
            if not name.startswith(PREFIX + channel + "/") or not name.endswith(".yaml"):
                continue
            for doc in yaml.safe_load_all(z.read(name)):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                kind = doc["spec"]["names"]["kind"]
                if kind in KINDS:
                    out[kind] = doc
    missing = set(KINDS) - set(out)
    if missing:
        raise FetchError(f"CRDs missing from {URL} ({channel}): {sorted(missing)}")
    return out
