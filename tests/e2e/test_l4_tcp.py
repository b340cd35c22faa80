"""TCPRoute end to end: a Gateway TCP listener, Services with EndpointSlices, real sockets.

Each test starts gantry on a config folder (the full path: manifests -> translator -> data plane)
and talks to it with plain Python sockets; the backends are l4_helpers.TcpBackend (greeting with
their name, echo, "bye <n>" after the client's half-close).
"""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest

from backends.snapshot import free_port
from cp_helpers import Admin, ConfigDir, wait_until
from l4_helpers import gateway, l4_route, read_line, service
from l4_helpers import tcp_backends  # noqa: F401 - pytest fixture


def start(tmp_path, start_gantry, route: str, services: str, args=()):
    port = free_port()
    d = ConfigDir(tmp_path / "cfg")
    d.write("gw.yaml", gateway([{"name": "tcp", "protocol": "TCP", "port": port}]))
    d.write("svc.yaml", services)
    d.write("route.yaml", route)
    g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)], args=list(args))
    return g, port, d


def greeting(port: int, timeout: float = 5.0) -> str:
    """Name of the backend a new connection reaches ("" if gantry closed it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        return read_line(s).decode().strip()


def route_ready(port: int, name: str) -> bool:
    try:
        return greeting(port, 2.0) == name
    except OSError:
        return False


def test_tcp_echo_and_half_close(tmp_path, start_gantry, tcp_backends):
    a = tcp_backends("tcp-a")
    g, port, _ = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("a", 1)]),
                       service("a", [a.port]))
    wait_until(lambda: route_ready(port, "tcp-a"), 10, what="TCPRoute served")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        assert read_line(s) == b"tcp-a\n"
        s.sendall(b"hello ")
        s.sendall(b"world\n")
        assert read_line(s) == b"hello world\n"
        # Half-close: our FIN reaches the backend, which still answers; then its FIN reaches us.
        s.shutdown(socket.SHUT_WR)
        assert read_line(s) == b"bye 12\n"
        assert s.recv(10) == b""
    admin = Admin(g.admin_address)
    st = admin.json("/status")
    assert "TCPRoute" in str(st)


def test_tcp_large_transfer_both_ways(tmp_path, start_gantry, tcp_backends):
    """16 MiB each way through one connection, writer and reader concurrent (backpressure)."""
    a = tcp_backends("tcp-a")
    _, port, _ = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("a", 1)]),
                       service("a", [a.port]))
    wait_until(lambda: route_ready(port, "tcp-a"), 10, what="TCPRoute served")
    total = 16 * 1024 * 1024
    chunk = bytes(range(256)) * 256  # 64 KiB
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        assert read_line(s) == b"tcp-a\n"

        def writer():
            sent = 0
            while sent < total:
                s.sendall(chunk)
                sent += len(chunk)
            s.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=writer)
        t.start()
        got = bytearray()
        while True:
            data = s.recv(1 << 20)
            if not data:
                break
            got += data
        t.join()
    assert len(got) == total + len(f"bye {total}\n")
    assert got[:total] == chunk * (total // len(chunk))
    assert got[total:] == f"bye {total}\n".encode()


def test_tcp_weights_over_connections(tmp_path, start_gantry, tcp_backends):
    a, b = tcp_backends("tcp-a"), tcp_backends("tcp-b")
    _, port, _ = start(tmp_path, start_gantry,
                       l4_route("TCPRoute", "r", [("a", 3), ("b", 1), ("zero", 0)]),
                       service("a", [a.port]) + service("b", [b.port]) +
                       service("zero", [a.port]))
    wait_until(lambda: greeting(port, 2.0) in ("tcp-a", "tcp-b"), 10, what="TCPRoute served")
    n = 400
    counts = {"tcp-a": 0, "tcp-b": 0}
    for _ in range(n):
        counts[greeting(port)] += 1
    # 3:1 -> 300 expected; binomial sd ~8.7, so +-45 is more than 5 sd.
    assert 255 <= counts["tcp-a"] <= 345, counts
    assert counts["tcp-a"] + counts["tcp-b"] == n


def test_tcp_endpoints_of_one_service_share_load(tmp_path, start_gantry, tcp_backends):
    a1, a2 = tcp_backends("pod-1"), tcp_backends("pod-2")
    _, port, _ = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("a", 1)]),
                       service("a", [a1.port, a2.port]))
    wait_until(lambda: greeting(port, 2.0) in ("pod-1", "pod-2"), 10, what="TCPRoute served")
    seen = {greeting(port) for _ in range(40)}
    assert seen == {"pod-1", "pod-2"}


def test_tcp_connect_failure_closes(tmp_path, start_gantry, tcp_backends):
    dead = free_port()  # nothing listens there
    _, port, _ = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("a", 1)]),
                       service("a", [dead]))
    for _ in range(3):
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            try:
                assert s.recv(10) == b""
            except ConnectionResetError:
                pass
        assert time.monotonic() - t0 < 4


def test_tcp_invalid_backend_ref_rejects(tmp_path, start_gantry, tcp_backends):
    """A backendRef to a missing Service: connections are refused (closed), not hung."""
    _, port, _ = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("missing", 1)]), "")
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            try:
                assert s.recv(10) == b""
            except ConnectionResetError:
                pass


def test_tcp_route_change_keeps_existing_connections(tmp_path, start_gantry, tcp_backends):
    a, b = tcp_backends("tcp-a"), tcp_backends("tcp-b")
    _, port, d = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("a", 1)]),
                       service("a", [a.port]) + service("b", [b.port]))
    wait_until(lambda: route_ready(port, "tcp-a"), 10, what="TCPRoute served")
    old = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        assert read_line(old) == b"tcp-a\n"
        d.write("route.yaml", l4_route("TCPRoute", "r", [("b", 1)]))
        wait_until(lambda: route_ready(port, "tcp-b"), 10, what="new route")
        # New connections use the new route; the old one still reaches its backend.
        assert greeting(port) == "tcp-b"
        old.sendall(b"still here\n")
        assert read_line(old) == b"still here\n"
    finally:
        old.close()


def test_tcp_idle_timeout(tmp_path, start_gantry, tcp_backends):
    a = tcp_backends("tcp-a")
    _, port, _ = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("a", 1)]),
                       service("a", [a.port]), args=["--idle-timeout-ms", "600"])
    wait_until(lambda: route_ready(port, "tcp-a"), 10, what="TCPRoute served")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        assert read_line(s) == b"tcp-a\n"
        t0 = time.monotonic()
        try:
            assert s.recv(10) == b""
        except ConnectionResetError:
            pass
        assert 0.4 < time.monotonic() - t0 < 8


def test_tcp_drain_closes_at_deadline(tmp_path, start_gantry, tcp_backends):
    a = tcp_backends("tcp-a")
    g, port, _ = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("a", 1)]),
                       service("a", [a.port]), args=["--drain-timeout-ms", "1500"])
    wait_until(lambda: route_ready(port, "tcp-a"), 10, what="TCPRoute served")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        assert read_line(s) == b"tcp-a\n"
        t0 = time.monotonic()
        g.signal(signal.SIGTERM)
        time.sleep(0.3)
        # During the drain the connection still works...
        s.sendall(b"draining\n")
        assert read_line(s) == b"draining\n"
        # ...and it is closed at the drain deadline, after which gantry exits.
        try:
            assert s.recv(10) == b""
        except ConnectionResetError:
            pass
        elapsed = time.monotonic() - t0
        assert 1.0 < elapsed < 8, elapsed
        assert g.wait(10) == 0
    finally:
        s.close()


def test_tcp_backend_half_close(tmp_path, start_gantry, tcp_backends):
    """The backend shuts its write side: the client sees EOF and can still send."""
    a = tcp_backends("tcp-a")
    _, port, _ = start(tmp_path, start_gantry, l4_route("TCPRoute", "r", [("a", 1)]),
                       service("a", [a.port]))
    wait_until(lambda: route_ready(port, "tcp-a"), 10, what="TCPRoute served")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        assert read_line(s) == b"tcp-a\n"
        n_before = len(a.finished)
        s.sendall(b"QUIT\n")
        assert read_line(s) == b"closing\n"
        assert s.recv(10) == b""  # the backend's FIN, propagated
        s.sendall(b"after-eof")  # our direction is still open
        s.shutdown(socket.SHUT_WR)
        # The readiness probe's own connections may finish in the meantime (with 0 bytes): wait
        # for ours, recognised by what it carried.
        want = len(b"QUIT\n") + len(b"after-eof")
        wait_until(lambda: want in a.finished[n_before:], 10, what="backend saw our EOF")
