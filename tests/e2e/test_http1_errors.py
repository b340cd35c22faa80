"""Error mapping (no route 404, upstream reset/malformed 502, upstream timeout 504, each with a short
body), responses cut short by the upstream, and the smuggling checks on upstream responses (502)."""

import time

import pytest

from backends.echo import pattern
from backends.helpers import (assert_short_error, conn, one_backend, raw_response_headers,
                              roundtrip, seen)
from backends.rawhttp import ConnectionClosed, request
from backends.snapshot import Snapshot


@pytest.fixture
def gw(make_echo, start_gantry):
    return one_backend(make_echo, start_gantry, args=["--upstream-response-timeout-ms", "1000"])


def test_no_route_path_404(make_echo, start_gantry):
    echo = make_echo()
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    p.route("/only", "echo")
    start_gantry(snap)
    assert_short_error(roundtrip(p.port, target="/other"), 404)
    assert roundtrip(p.port, target="/only/x").status == 200
    assert echo.requests[-1]["target"] == "/only/x" and len(echo.requests) == 1


def test_no_route_host_404(make_echo, start_gantry):
    echo = make_echo()
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    p.route("/", "echo", hostname="a.example")
    start_gantry(snap)
    assert_short_error(roundtrip(p.port, host="b.example", target="/"), 404)
    assert roundtrip(p.port, host="a.example", target="/").status == 200


@pytest.mark.parametrize("mode", ["reset", "close"])
def test_upstream_dies_before_response_502(gw, mode):
    assert_short_error(roundtrip(gw.port, target="/die", headers=[("x-echo-mode", mode)]), 502)
    assert gw.g.alive()


@pytest.mark.parametrize("raw", [
    b"garbage\r\n\r\n",
    b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nokk",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok",
], ids=["garbage", "bad-status", "no-colon", "cl-alpha", "cl-negative", "cl-conflict-lines",
        "cl-conflict-list", "cl-and-te", "te-and-cl", "obs-fold", "space-in-name"])
def test_malformed_upstream_response_502(gw, raw):
    # The backend keeps its connection open after the bad head: gantry must detect the error
    # itself, not wait for the close.
    t0 = time.monotonic()
    r = roundtrip(gw.port, target="/bad", headers=raw_response_headers(raw, "hold:3000"))
    assert time.monotonic() - t0 < 2.5
    assert_short_error(r, 502)


def _ok_or_502(r, body: bytes) -> None:
    if r.status == 502:
        assert_short_error(r, 502)
        return
    assert r.status == 200 and r.complete and r.body == body, r
    for n, v in r.headers:
        assert n == n.strip() and " " not in n, f"header name forwarded with whitespace: {n!r}"
        assert "\r" not in v and "\n" not in v and "\0" not in v, f"bad bytes forwarded: {v!r}"


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
], ids=["bare-lf", "bare-cr", "space-before-colon"])
def test_lenient_or_502_upstream_response(gw, raw):
    # RFC 9112 lets a recipient accept bare LF as a line end (section 2.2), replace a bare CR with
    # SP (section 2.2) and requires a proxy to remove whitespace before a response field's colon
    # (section 5.1): gantry may accept these if it then forwards a well-formed response, or 502.
    r = roundtrip(gw.port, target="/lenient", headers=raw_response_headers(raw, "close"))
    _ok_or_502(r, b"ok")


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
], ids=["alpha", "negative", "overflow", "data-overrun", "bare-lf"])
def test_invalid_upstream_chunking(gw, raw):
    # Invalid chunked framing from the backend: 502 if gantry has not yet sent the response head,
    # otherwise the client connection must be closed without a terminating chunk, so the client
    # sees a truncated message rather than a complete (smuggled) one. gantry must notice by itself
    # (the backend holds the connection open).
    t0 = time.monotonic()
    with conn(gw.port) as c:
        c.send(request("GET", "/badchunk", "a", raw_response_headers(raw, "hold:3000")))
        try:
            r = c.read_response(timeout=5)
        except ConnectionClosed as e:
            pytest.fail(f"connection closed with neither a 502 nor a response head (got {e.partial!r})")
        if r.status == 502:
            assert_short_error(r, 502)
        else:
            assert not r.complete, f"a response with invalid chunking was forwarded complete: {r}"
            assert c.eof
    assert time.monotonic() - t0 < 2.5


def test_upstream_timeout_504(gw):
    t0 = time.monotonic()
    r = roundtrip(gw.port, target="/slow", headers=[("x-echo-sleep-ms", "4000")])
    elapsed = time.monotonic() - t0
    assert_short_error(r, 504)
    assert 0.8 <= elapsed < 3, f"--upstream-response-timeout-ms 1000 answered after {elapsed:.2f}s"


def test_no_timeout_below_limit(gw):
    rec = seen(roundtrip(gw.port, target="/slowish", headers=[("x-echo-sleep-ms", "300")]))
    assert rec["target"] == "/slowish"


@pytest.mark.parametrize("mode", ["reset-mid-body", "short-body"])
def test_upstream_cut_mid_body(gw, mode):
    with conn(gw.port) as c:
        c.send(request("GET", "/cut", "a", [("x-echo-mode", mode),
                                            ("x-echo-response-bytes", "200000")]))
        r = c.read_response(timeout=5)
        if r.status == 502:
            assert_short_error(r, 502)
        else:
            assert r.status == 200
            assert not r.complete and len(r.body) < 200000, "truncated body delivered as complete"
            assert c.eof, "client connection must be closed after a truncated body"
    # gantry itself keeps serving.
    assert roundtrip(gw.port, target="/after").status == 200


def test_upstream_chunked_cut(gw):
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    with conn(gw.port) as c:
        c.send(request("GET", "/cut", "a", raw_response_headers(raw, "close")))
        r = c.read_response(timeout=5)
        if r.status == 502:
            assert_short_error(r, 502)
        else:
            assert r.status == 200 and not r.complete, "gantry completed a cut chunked response"
            assert c.eof


def test_upstream_close_delimited_response(gw):
    # A response without Content-Length or chunked is delimited by the close (RFC 9112 section 6.3
    # rule 8); gantry must deliver all of it with its own framing.
    with conn(gw.port) as c:
        c.send(request("GET", "/cd", "a", [("x-echo-no-framing", "1"),
                                           ("x-echo-response-bytes", "50000")]))
        r = c.read_response(timeout=5)
    assert r.status == 200 and r.body == pattern(0, 50000)


@pytest.mark.parametrize("method,raw", [
    ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nspoofed"),
    ("GET", b"HTTP/1.1 204 No Content\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nspoofed"),
    ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\nspoofed"),
    ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"
             b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nspoofed"),
], ids=["extra-after-content-length", "body-after-204", "body-after-304", "body-after-head"])
def test_upstream_extra_bytes_never_answer_another_request(make_echo, start_gantry, method, raw):
    # Bytes a backend sends beyond the framed response must not be relayed, and the upstream
    # connection they arrived on must not be reused: otherwise they would become the answer to the
    # next request (response desync). One worker, so the next requests use the same pool.
    s = one_backend(make_echo, start_gantry, workers=1)
    with conn(s.port) as c:
        c.send(request(method, "/first", "a", raw_response_headers(raw, "keep")))
        first = c.read_response(method, timeout=5)
        assert first.status in (200, 204, 304, 502)
        for i in range(3):
            c.send(request("GET", f"/next{i}", "a"))
            try:
                r = c.read_response(timeout=5)
            except ConnectionClosed:
                c.close()
                c = conn(s.port)
                c.send(request("GET", f"/next{i}", "a"))
                r = c.read_response(timeout=5)
            assert b"spoofed" not in r.body, "a backend's extra bytes answered another request"
            assert seen(r)["target"] == f"/next{i}"
        c.close()
