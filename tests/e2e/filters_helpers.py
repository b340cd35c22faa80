"""Shared setup for the HTTPRoute filter suites (tests/e2e/test_httproute_filters_*.py).

One gantry per test module, started on a config folder with real Gateway API manifests (so the
translator and the data plane are exercised together), echo backends as Services, and an httpx
client. Requests go to 127.0.0.1:<listener port> with the Host given per request.

    @pytest.fixture(scope="module")
    def gw(gantry_bin, tmp_path_factory):
        with FilterGateway(gantry_bin, tmp_path_factory, ["echo", "echo2"], ROUTES) as g:
            yield g

    r = gw.get("/set", headers={...})      # httpx.Response
    gw.seen(r)                               # the echo backend's record of the forwarded request
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from backends.echo import EchoBackend, header_values
from backends.snapshot import free_port
from conftest import Gantry
from cp_helpers import Admin, ConfigDir, backend, gateway, gateway_class

REPO = Path(__file__).resolve().parents[2]


class FilterGateway:
    def __init__(self, gantry_bin: str, tmp_path_factory, echo_names: list[str], routes: str = "",
                 extra_gateways: str = "", wait_path: str = "/", wait_host: str = "filters.example",
                 extra_ports: tuple[int, ...] = (), example: tuple | None = None):
        """example: (folder under examples/, its fixed Gateway port, {fixed backend port: echo
        name}) serves that example (ports replaced by free ones) instead of `routes`."""
        self.tmp = tmp_path_factory.mktemp("filters")
        self.echoes = {n: EchoBackend(n) for n in echo_names}
        self.port = free_port()
        cfg = ConfigDir(self.tmp / "cfg")
        if example is None:
            cfg.write("gateway.yaml", gateway_class() + gateway("gw", self.port) + extra_gateways)
            cfg.write("backends.yaml", "".join(backend(n, e.port) for n, e in self.echoes.items()))
            cfg.write("routes.yaml", routes)
        else:
            name, gw_port, fixed = example
            for f in sorted((REPO / "examples" / name).glob("*.yaml")):
                text = f.read_text().replace(f"port: {gw_port}", f"port: {self.port}")
                for fixed_port, echo_name in fixed.items():
                    text = text.replace(str(fixed_port), str(self.echoes[echo_name].port))
                cfg.write(f.name, text)
        admin_port = free_port()
        args = ["run", "--workers", "2", "--admin-address", f"127.0.0.1:{admin_port}", "--config",
                str(cfg.path)]
        ports = [("127.0.0.1", self.port)] + [("127.0.0.1", p) for p in extra_ports]
        self.gantry = Gantry(gantry_bin, args, self.tmp / "gantry.log", ports, admin_port)
        self.gantry.wait_ready()
        self.admin = Admin(self.gantry.admin_address)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10.0,
                                   follow_redirects=False)
        # The listener is bound before the first snapshot may be complete: wait for a route.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.get(wait_path, host=wait_host).status_code != 404:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)

    def __enter__(self) -> "FilterGateway":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()
        self.gantry.stop()
        for e in self.echoes.values():
            e.close()

    def log(self) -> str:
        return self.gantry.log()

    def request(self, method: str, path: str, host: str = "filters.example",
                headers: dict | list | None = None, backend_headers: list | None = None,
                port: int | None = None) -> httpx.Response:
        """backend_headers: [[name, value], ...] the echo backend adds to its response."""
        h = httpx.Headers(headers or {})
        h["host"] = host
        if backend_headers is not None:
            h["x-echo-headers"] = json.dumps(backend_headers)
        if port is not None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as c:
                return c.request(method, path, headers=h)
        return self.client.request(method, path, headers=h)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.request("GET", path, **kw)

    @staticmethod
    def seen(r: httpx.Response) -> dict:
        assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
        return r.json()

    @staticmethod
    def seen_values(rec: dict, name: str) -> list[str]:
        return header_values(rec["headers"], name)

    def route_condition(self, name: str, ctype: str, ns: str = "default") -> dict | None:
        o = self.admin.obj("HTTPRoute", ns, name)
        if not o or not o["status"].get("parents"):
            return None
        for c in o["status"]["parents"][0]["conditions"]:
            if c["type"] == ctype:
                return c
        return None


def route(name: str, rules_yaml: str, hostnames: list[str] | None = None, parent: str = "gw") -> str:
    """An HTTPRoute in namespace default; rules_yaml is the indented list under `rules:`."""
    hosts = ""
    if hostnames:
        hosts = "  hostnames:\n" + "".join(f"    - \"{h}\"\n" for h in hostnames)
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {name}
  namespace: default
spec:
  parentRefs:
    - name: {parent}
{hosts}  rules:
{rules_yaml}---
"""


def joined(values: list[str]) -> str:
    """Field lines of one name as one list value (RFC 9110 5.3), the way the conformance suite
    compares them."""
    return ",".join(v.strip() for v in values)
