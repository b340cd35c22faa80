"""Builds IR snapshots (the JSON read by `gantry run --snapshot FILE`) for tests.

The format is src/ir/json.cc's: keys are the C++ member names of src/ir/ir.h, enums are strings
("HTTP", "PathPrefix", ...), absent keys keep their defaults, unknown keys are rejected.

    snap = Snapshot()
    snap.backend("echo", [echo1, echo2.endpoint(weight=3)])
    port = snap.http_port()                      # a free 127.0.0.1 port
    port.route("/", "echo")                      # any host, PathPrefix "/"
    port.route("/admin", "admin", hostname="app.example", match="Exact")
    path.write_text(snap.to_json())

Routes are matched in the order they are added (the translator's precedence order).
"""

from __future__ import annotations

import json
import random
import socket


def _ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(v) for v in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_HANDED_OUT: set[tuple[int, int]] = set()
_RANDOM = random.SystemRandom()


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing is bound to right now, for a listener the test starts later.

    Not bind(0): that returns an EPHEMERAL port, which the kernel hands out again as soon as it is
    closed -- to this process's next free_port() (a test's "dead" endpoint then equals gantry's own
    listener, and requests loop back into gantry), to another test run's bind(0), or as the source
    port of any outgoing connection (gantry's upstream connections, a benchmark's thousands, even
    a connect to this very port: a TCP self-connect). So the port is drawn at random BELOW the
    ephemeral range, where the kernel never picks on its own, checked free by binding it, and
    never handed out twice by this process."""
    lo, hi = _ephemeral_range()
    first, last = (10000, lo - 1) if lo > 12000 else (hi + 1, 65535)
    for _ in range(200):
        port = _RANDOM.randint(first, last)
        if (kind, port) in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _HANDED_OUT.add((kind, port))
        return port
    with socket.socket(socket.AF_INET, kind) as s:  # nothing free below the range: the old way
        s.bind((host, 0))
        return s.getsockname()[1]


def free_udp_port(host: str = "127.0.0.1") -> int:
    return free_port(host, socket.SOCK_DGRAM)


def _endpoint(e) -> dict:
    if isinstance(e, dict):
        return e
    if hasattr(e, "endpoint"):
        return e.endpoint()
    if len(e) == 2:
        return {"address": e[0], "port": e[1], "weight": 1}
    return {"address": e[0], "port": e[1], "weight": e[2]}


class Listener:
    def __init__(self, name: str, hostname: str = ""):
        self.d = {"name": name, "hostname": hostname, "rules": [], "entries": []}

    def route(self, path: str = "/", backends="echo", hostname: str = "", match: str = "PathPrefix",
              headers=None, method: str = "", **rule_fields) -> int:
        """Adds a rule and one entry pointing at it; returns the rule index.

        backends: a backend name, or [(name, weight), ...]; rule_fields: other ir::Rule members
        (e.g. timeouts={"request_ms": 500}, direct_status=500).
        """
        if isinstance(backends, str):
            backends = [(backends, 1)]
        idx = len(self.d["rules"])
        rule = {
            "route": f"HTTPRoute/e2e/r{idx}",
            "rule_index": 0,
            "backends": [{"backend": b, "weight": w} for b, w in backends],
        }
        rule.update(rule_fields)
        self.d["rules"].append(rule)
        m = {"path": {"type": match, "value": path}}
        if headers:
            m["headers"] = [{"type": "Exact", "name": n.lower(), "value": v} for n, v in headers]
        if method:
            m["method"] = method
        self.d["entries"].append({"hostname": hostname, "match": m, "rule": idx})
        return idx


class Port:
    def __init__(self, port: int, address: str = "127.0.0.1"):
        self.port = port
        self.address = address
        self.listeners: list[Listener] = []

    def listener(self, hostname: str = "", name: str | None = None) -> Listener:
        lst = Listener(name or f"e2e/gw/l{len(self.listeners)}", hostname)
        self.listeners.append(lst)
        return lst

    def route(self, *args, **kw) -> int:
        """Adds a route to the port's first (catch-all by default) listener."""
        if not self.listeners:
            self.listener("")
        return self.listeners[0].route(*args, **kw)

    def to_dict(self) -> dict:
        return {
            "address": self.address,
            "port": self.port,
            "protocol": "HTTP",
            "http_listeners": [lst.d for lst in self.listeners],
        }


class Snapshot:
    def __init__(self, version: int = 1):
        self.version = version
        self.ports: list[Port] = []
        self.backends: dict[str, dict] = {}

    def backend(self, name: str, endpoints, **fields) -> str:
        """Adds an ir::Backend; endpoints: EchoBackend objects, (addr, port[, weight]) or dicts."""
        b = {"name": name, "endpoints": [_endpoint(e) for e in endpoints]}
        b.update(fields)
        self.backends[name] = b
        return name

    def http_port(self, port: int | None = None, address: str = "127.0.0.1") -> Port:
        p = Port(port or free_port(address), address)
        self.ports.append(p)
        return p

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "ports": [p.to_dict() for p in self.ports],
            "backends": list(self.backends.values()),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)
