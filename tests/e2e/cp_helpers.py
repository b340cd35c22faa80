"""Helpers for the control plane end-to-end suites (tests/e2e/test_controlplane_*.py).

Manifests are built as text (the provider reads YAML exactly as a user writes it), written to a temp
folder the way tools do (write + rename, or in place), and gantry's admin API is read with urllib.

    d = ConfigDir(tmp_path / "cfg")
    d.write("gw.yaml", gateway_class() + gateway("gw", port))
    d.write("svc.yaml", backend("echo", echo.port))
    d.write("route.yaml", http_route("r", backend_name="echo", hostnames=["a.example"]))
    g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)])
    admin = Admin(g.admin_address)
    wait_until(lambda: admin.route_condition("HTTPRoute", "default", "r", "Accepted") == "True")
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

GW_GROUP = "gateway.networking.k8s.io"
CONTROLLER = "gantry.io/gateway-controller"


# ------------------------------------------------------------------------------------------------
# Manifests
# ------------------------------------------------------------------------------------------------

def gateway_class(name: str = "gantry", controller: str = CONTROLLER) -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: {name}
spec:
  controllerName: {controller}
---
"""


def namespace(name: str, labels: dict | None = None) -> str:
    lab = ""
    if labels:
        lab = "  labels:\n" + "".join(f"    {k}: \"{v}\"\n" for k, v in labels.items())
    return f"""apiVersion: v1
kind: Namespace
metadata:
  name: {name}
{lab}---
"""


def gateway(name: str, port: int, ns: str = "default", address: str = "127.0.0.1",
            listener: str = "http", hostname: str | None = None, allowed_from: str = "Same",
            selector: dict | None = None) -> str:
    host = f"      hostname: \"{hostname}\"\n" if hostname else ""
    sel = ""
    if selector:
        sel = "          selector:\n            matchLabels:\n" + "".join(
            f"              {k}: \"{v}\"\n" for k, v in selector.items())
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {name}
  namespace: {ns}
spec:
  gatewayClassName: gantry
  addresses:
    - type: IPAddress
      value: {address}
  listeners:
    - name: {listener}
      protocol: HTTP
      port: {port}
{host}      allowedRoutes:
        namespaces:
          from: {allowed_from}
{sel}---
"""


def backend(name: str, target_port: int, ns: str = "default", address: str = "127.0.0.1") -> str:
    """A Service (port 80 -> target_port) and its EndpointSlice on `address`."""
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  ports:
    - name: http
      port: 80
      targetPort: {target_port}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-1
  namespace: {ns}
  labels:
    kubernetes.io/service-name: {name}
addressType: IPv4
ports:
  - name: http
    port: {target_port}
endpoints:
  - addresses: ["{address}"]
    conditions:
      ready: true
---
"""


def http_route(name: str, ns: str = "default", parent: str = "gw", parent_ns: str | None = None,
               hostnames: list[str] | None = None, rules: list[dict] | None = None,
               backend_name: str = "echo", path: str = "/") -> str:
    """rules: [{"path": "/x", "type": "PathPrefix", "headers": {"h": "v"},
                "backends": [("svc", weight), ...]}]; default one rule path -> backend_name."""
    if rules is None:
        rules = [{"path": path, "backends": [(backend_name, 1)]}]
    pns = f"      namespace: {parent_ns}\n" if parent_ns else ""
    hosts = ""
    if hostnames:
        hosts = "  hostnames:\n" + "".join(f"    - \"{h}\"\n" for h in hostnames)
    out = f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {name}
  namespace: {ns}
spec:
  parentRefs:
    - name: {parent}
{pns}{hosts}  rules:
"""
    for r in rules:
        out += "    - matches:\n"
        out += f"        - path:\n            type: {r.get('type', 'PathPrefix')}\n"
        out += f"            value: \"{r.get('path', '/')}\"\n"
        if r.get("headers"):
            out += "          headers:\n" + "".join(
                f"            - name: {k}\n              value: \"{v}\"\n"
                for k, v in r["headers"].items())
        out += "      backendRefs:\n"
        for b, w in r.get("backends", [(backend_name, 1)]):
            out += f"        - name: {b}\n          port: 80\n          weight: {w}\n"
    return out + "---\n"


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------

class ConfigDir:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def write(self, rel: str, text: str) -> float:
        """Atomic write (temp file + rename, as editors and deploy tools do). Returns the time."""
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.parent / f".{p.name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, p)
        return time.monotonic()

    def write_in_place(self, rel: str, text: str) -> float:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return time.monotonic()

    def remove(self, rel: str) -> None:
        (self.path / rel).unlink()


# ------------------------------------------------------------------------------------------------
# Admin API
# ------------------------------------------------------------------------------------------------

def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Admin:
    def __init__(self, address: str):
        self.base = f"http://{address}"

    def get(self, path: str) -> tuple[int, bytes]:
        return http_get(self.base + path)

    def json(self, path: str):
        code, body = self.get(path)
        assert code == 200, f"GET {path}: {code} {body[:300]!r}"
        return json.loads(body)

    def status(self) -> list[dict]:
        return self.json("/status")["items"]

    def errors(self) -> list[dict]:
        return self.json("/errors")["errors"]

    def snapshots(self) -> int:
        """Snapshots published by the controller so far (GET /stats)."""
        return self.json("/stats")["snapshots"]

    def obj(self, kind: str, ns: str | None, name: str) -> dict | None:
        for it in self.status():
            md = it["metadata"]
            if it["kind"] == kind and md["name"] == name and md.get("namespace") == ns:
                return it
        return None

    def condition(self, kind: str, ns: str | None, name: str, ctype: str) -> dict | None:
        o = self.obj(kind, ns, name)
        if not o:
            return None
        return find_condition(o["status"].get("conditions", []), ctype)

    def route_condition(self, kind: str, ns: str, name: str, ctype: str, parent: int = 0):
        """The `ctype` condition's status ("True"/"False") for the route's parent #parent."""
        o = self.obj(kind, ns, name)
        if not o or len(o["status"].get("parents", [])) <= parent:
            return None
        c = find_condition(o["status"]["parents"][parent]["conditions"], ctype)
        return c["status"] if c else None


def find_condition(conditions: list[dict], ctype: str) -> dict | None:
    for c in conditions:
        if c["type"] == ctype:
            return c
    return None


def wait_until(pred: Callable[[], object], timeout: float = 5.0, interval: float = 0.005,
               what: str = "condition"):
    """Polls pred() until truthy; returns its value. Raises AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except (OSError, AssertionError, KeyError, ValueError) as e:  # not up yet / mid-reload
            last_exc = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_exc})" if last_exc else ""))


def get_via(port: int, host: str, path: str = "/", headers: dict | None = None,
            timeout: float = 5.0) -> tuple[int, dict | bytes]:
    """GET through gantry with a Host header; the echo backend's JSON record when it parses."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host,
                                                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            code = r.status
    except urllib.error.HTTPError as e:
        body, code = e.read(), e.code
    try:
        return code, json.loads(body)
    except ValueError:
        return code, body


def served_by(port: int, host: str, path: str = "/", headers: dict | None = None) -> str | None:
    """Name of the echo backend that answered, or None (non-200 / not an echo answer)."""
    try:
        code, body = get_via(port, host, path, headers, timeout=2.0)
    except OSError:
        return None
    if code != 200 or not isinstance(body, dict):
        return None
    return body.get("backend")


# ------------------------------------------------------------------------------------------------
# A running setup
# ------------------------------------------------------------------------------------------------

class Setup:
    """gantry on a config folder with one GatewayClass, Gateway `gw` (HTTP on a free port) and the
    given echo backends as Services; no routes unless `route` is given."""

    def __init__(self, tmp_path: Path, start_gantry, echoes: list, route: str | None = None,
                 extra: dict[str, str] | None = None, args=()):
        from backends.snapshot import free_port  # conftest puts tests/e2e on sys.path

        self.port = free_port()
        self.dir = ConfigDir(tmp_path / "cfg")
        self.dir.write("gateway.yaml", gateway_class() + gateway("gw", self.port))
        self.dir.write("backends.yaml", "".join(backend(e.name, e.port) for e in echoes))
        if route is not None:
            self.dir.write("route.yaml", route)
        for rel, text in (extra or {}).items():
            self.dir.write(rel, text)
        self.gantry = start_gantry(config_dir=self.dir.path, wait_ports=[("127.0.0.1", self.port)],
                                   args=list(args))
        self.admin = Admin(self.gantry.admin_address)
