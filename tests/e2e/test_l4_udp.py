"""UDPRoute end to end: a Gateway UDP listener relaying datagrams to UDP echo backends.

Sessions are per client address and port: each test client socket is one flow. Backends are
l4_helpers.UdpBackend (answer b"<name>:" + datagram, remember the source addresses they saw).
"""

from __future__ import annotations

import socket
import time

import pytest

from backends.snapshot import free_port, free_udp_port
from cp_helpers import ConfigDir, wait_until
from l4_helpers import UdpBackend, gateway, l4_route, service
from l4_helpers import udp_backends  # noqa: F401 - pytest fixture


def start(tmp_path, start_gantry, route: str, services: str, args=()):
    port = free_udp_port()
    d = ConfigDir(tmp_path / "cfg")
    # An HTTP listener too: its TCP port tells us when gantry is up (UDP has no accept).
    http = free_port()
    d.write("gw.yaml", gateway([{"name": "udp", "protocol": "UDP", "port": port},
                                {"name": "http", "protocol": "HTTP", "port": http}]))
    d.write("svc.yaml", services)
    d.write("route.yaml", route)
    g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", http)], args=list(args))
    return g, port, d


def ask(sock: socket.socket, port: int, payload: bytes, timeout: float = 2.0) -> bytes | None:
    sock.settimeout(timeout)
    sock.sendto(payload, ("127.0.0.1", port))
    try:
        data, _ = sock.recvfrom(65535)
        return data
    except socket.timeout:
        return None


def new_client() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def flow_backend(port: int, timeout: float = 1.0) -> str | None:
    with new_client() as c:
        r = ask(c, port, b"ping", timeout)
    return r.split(b":", 1)[0].decode() if r else None


def test_udp_relay_and_session_stickiness(tmp_path, start_gantry, udp_backends):
    a, b = udp_backends("udp-a"), udp_backends("udp-b")
    _, port, _ = start(tmp_path, start_gantry, l4_route("UDPRoute", "r", [("a", 1), ("b", 1)]),
                       service("a", [a.port], "UDP") + service("b", [b.port], "UDP"))
    wait_until(lambda: flow_backend(port) is not None, 10, what="UDPRoute served")
    with new_client() as c:
        first = ask(c, port, b"hello")
        assert first is not None and first.split(b":", 1)[1] == b"hello"
        name = first.split(b":", 1)[0]
        # One client address is one session: every datagram goes to the same backend, intact.
        for i in range(30):
            payload = b"x" * (i * 100) + b"#%d" % i
            assert ask(c, port, payload) == name + b":" + payload
        big = bytes(range(256)) * 200  # 51200 bytes in one datagram
        assert ask(c, port, big) == name + b":" + big


def test_udp_weights_over_flows(tmp_path, start_gantry, udp_backends):
    a, b = udp_backends("udp-a"), udp_backends("udp-b")
    _, port, _ = start(tmp_path, start_gantry, l4_route("UDPRoute", "r", [("a", 3), ("b", 1)]),
                       service("a", [a.port], "UDP") + service("b", [b.port], "UDP"))
    wait_until(lambda: flow_backend(port) is not None, 10, what="UDPRoute served")
    counts = {"udp-a": 0, "udp-b": 0}
    n = 400
    for _ in range(n):
        name = None
        for _ in range(3):  # a datagram may be lost on a loaded machine: retry the flow
            name = flow_backend(port)
            if name:
                break
        assert name is not None
        counts[name] += 1
    assert 255 <= counts["udp-a"] <= 345, counts


def test_udp_session_idle_timeout(tmp_path, start_gantry, udp_backends):
    a = udp_backends("udp-a")
    _, port, _ = start(tmp_path, start_gantry, l4_route("UDPRoute", "r", [("a", 1)]),
                       service("a", [a.port], "UDP"), args=["--idle-timeout-ms", "500"])
    wait_until(lambda: flow_backend(port) is not None, 10, what="UDPRoute served")
    with new_client() as c:
        assert ask(c, port, b"one") == b"udp-a:one"
        seen = set(a.peers)
        assert ask(c, port, b"two") == b"udp-a:two"
        assert set(a.peers) == seen  # same session: same source socket at the backend
        time.sleep(1.5)  # > idle timeout: the session ends
        assert ask(c, port, b"three") == b"udp-a:three"
        assert len(set(a.peers) - seen) == 1  # a new session, from a new socket


def test_udp_route_change_new_flows_only(tmp_path, start_gantry, udp_backends):
    a, b = udp_backends("udp-a"), udp_backends("udp-b")
    _, port, d = start(tmp_path, start_gantry, l4_route("UDPRoute", "r", [("a", 1)]),
                       service("a", [a.port], "UDP") + service("b", [b.port], "UDP"))
    wait_until(lambda: flow_backend(port) == "udp-a", 10, what="UDPRoute served")
    with new_client() as old:
        assert ask(old, port, b"1") == b"udp-a:1"
        d.write("route.yaml", l4_route("UDPRoute", "r", [("b", 1)]))
        wait_until(lambda: flow_backend(port) == "udp-b", 10, what="new route")
        # An existing session keeps its backend.
        assert ask(old, port, b"2") == b"udp-a:2"


def test_udp_no_endpoint_drops(tmp_path, start_gantry, udp_backends):
    _, port, _ = start(tmp_path, start_gantry, l4_route("UDPRoute", "r", [("missing", 1)]), "")
    time.sleep(0.3)
    with new_client() as c:
        assert ask(c, port, b"nobody", 0.5) is None
