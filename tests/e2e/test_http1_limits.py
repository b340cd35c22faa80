"""Limits: request header size and count (431), keep-alive idle timeout, header-read timeout
(slowloris), max connections per worker."""

import socket
import time

import pytest

from backends.helpers import conn, one_backend, roundtrip, seen
from backends.rawhttp import ConnectionClosed, RawConn, request


@pytest.fixture
def gw(make_echo, start_gantry):
    return one_backend(make_echo, start_gantry)


def _status_or_closed(port: int, raw: bytes, timeout: float = 5) -> int | None:
    """The response status, or None if gantry closed the connection without answering."""
    with conn(port) as c:
        try:
            c.send(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return c.read_response(timeout=timeout).status
        except ConnectionClosed:
            return None


def test_default_header_size_limit_431(gw):
    big = request("GET", "/big", "a", [("X-Big", "b" * (70 * 1024))])
    assert _status_or_closed(gw.port, big) == 431
    assert not gw.echo.requests


def test_headers_under_default_limit_pass(gw):
    hdrs = [(f"X-H{i}", "v" * 9000) for i in range(6)]  # ~54 KiB of fields
    rec = seen(roundtrip(gw.port, target="/ok", headers=hdrs))
    assert [v for n, v in rec["headers"] if n.startswith("X-H")] == ["v" * 9000] * 6


def test_header_size_flag(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry, args=["--max-request-header-bytes", "8192"])
    assert _status_or_closed(s.port, request("GET", "/", "a", [("X-Big", "b" * 9000)])) == 431
    assert roundtrip(s.port, target="/", headers=[("X-Ok", "b" * 6000)]).status == 200


def test_long_request_line_rejected(gw):
    st = _status_or_closed(gw.port, request("GET", "/" + "p" * (70 * 1024), "a"))
    assert st in (414, 431), st


def test_default_header_count_limit_431(gw):
    hdrs = [(f"X-N{i}", "1") for i in range(150)]
    assert _status_or_closed(gw.port, request("GET", "/many", "a", hdrs)) == 431
    hdrs = [(f"X-N{i}", "1") for i in range(80)]
    assert roundtrip(gw.port, target="/fewer", headers=hdrs).status == 200


def test_header_count_flag(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry, args=["--max-request-headers", "10"])
    assert _status_or_closed(s.port, request("GET", "/", "a", [(f"X-{i}", "1") for i in range(12)])) == 431
    assert roundtrip(s.port, target="/", headers=[(f"X-{i}", "1") for i in range(5)]).status == 200


def test_idle_timeout_closes_keepalive_connection(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry,
                    args=["--idle-timeout-ms", "600", "--header-timeout-ms", "10000"])
    with conn(s.port) as c:
        c.send(request("GET", "/1", "a"))
        assert c.read_response().status == 200
        time.sleep(0.2)
        c.send(request("GET", "/2", "a"))  # within the idle timeout: still usable
        assert c.read_response().status == 200
        t0 = time.monotonic()
        closed, extra = c.wait_closed(5)
        elapsed = time.monotonic() - t0
    assert closed, "idle keep-alive connection not closed"
    assert 0.4 <= elapsed <= 2.5, f"idle timeout 600 ms closed after {elapsed:.2f}s"
    assert b"HTTP/1.1 2" not in extra


def test_idle_timeout_closes_silent_connection(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry,
                    args=["--idle-timeout-ms", "600", "--header-timeout-ms", "600"])
    with conn(s.port) as c:
        closed, _ = c.wait_closed(4)
    assert closed, "a connection that never sent a byte was not closed"


def test_slowloris_header_timeout(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry,
                    args=["--header-timeout-ms", "1000", "--idle-timeout-ms", "30000"])
    with conn(s.port) as c:
        t0 = time.monotonic()
        c.send(b"GET /slow HTTP/1.1\r\nHost: a\r\n")
        closed_at = None
        got = b""
        i = 0
        # One header line every 200 ms for at most 6 s: each line would reset an idle timer, but
        # must not reset the header timer.
        while closed_at is None and time.monotonic() - t0 < 6:
            i += 1
            try:
                c.sock.settimeout(0.2)
                c.sock.send(b"X-Drip-%d: 1\r\n" % i)
                d = c.sock.recv(4096)
                if not d:
                    closed_at = time.monotonic()
                got += d
            except socket.timeout:
                pass
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic()
    assert closed_at is not None, "slowloris connection still open after 6 s"
    elapsed = closed_at - t0
    assert 0.8 <= elapsed <= 3.0, f"header timeout 1000 ms closed after {elapsed:.2f}s"
    assert not got or got.startswith(b"HTTP/1.1 408"), got[:200]
    assert not s.echo.requests


def test_max_connections_per_worker(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry, workers=1, args=["--max-connections-per-worker", "3"])
    held = []
    for i in range(3):
        c = conn(s.port)
        c.send(request("GET", f"/held{i}", "a"))
        assert c.read_response().status == 200
        held.append(c)
    # A fourth connection must not be served while three are open.
    served = False
    try:
        extra = RawConn("127.0.0.1", s.port, timeout=3)
        try:
            extra.send(request("GET", "/fourth", "a"))
            r = extra.read_response(timeout=2)
            served = r.status == 200
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
        finally:
            extra.close()
    except OSError:
        pass  # refused
    assert not served, "a fourth connection was served with --max-connections-per-worker 3"
    assert "/fourth" not in [r["target"] for r in s.echo.requests]
    # Closing one makes room again.
    held.pop().close()
    deadline = time.monotonic() + 5
    ok = False
    while time.monotonic() < deadline and not ok:
        try:
            ok = roundtrip(s.port, target="/after", timeout=1).status == 200
        except (OSError, ConnectionClosed):
            time.sleep(0.1)
    for c in held:
        c.close()
    assert ok, "no new connection served after one of the three was closed"
