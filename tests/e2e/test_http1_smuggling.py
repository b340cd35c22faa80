"""Request smuggling defences on the downstream side (RFC 9112 sections 2.2, 5, 6.1, 6.3, 7.1):
ambiguous or invalid framing is answered with 400 and the connection is closed, so bytes after the
bad message are never read as another request. Upstream-response checks are in test_http1_errors."""

import random
import socket

import pytest

from backends.helpers import conn, one_backend, roundtrip
from backends.rawhttp import ConnectionClosed

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.fixture
def gw(make_echo, start_gantry):
    return one_backend(make_echo, start_gantry)


def _expect_400_close(gw, raw: bytes) -> None:
    with conn(gw.port) as c:
        c.send(raw)
        r = c.read_response(timeout=5)
        assert r.status == 400, f"expected 400, got {r.status} {r.body[:200]!r}"
        closed, extra = c.wait_closed(3)
    assert closed, "connection not closed after a 400 for bad framing"
    assert extra == b"", f"more bytes after the 400: {extra[:200]!r}"
    assert r.header("x-echo-backend") is None
    # Nothing after the bad message may have become a request.
    assert not [q for q in gw.echo.requests if q["target"] == "/smuggled"], gw.echo.requests


CASES = {
    "cl-and-te": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
                 b"\r\n0\r\n\r\n" + SMUGGLED,
    "te-and-cl": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n"
                 b"\r\n0\r\n\r\n" + SMUGGLED,
    "cl-conflict-lines": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 38\r\n"
                         b"\r\n" + SMUGGLED,
    "cl-conflict-list": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 38\r\n\r\n" + SMUGGLED,
    "cl-alpha": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n" + SMUGGLED,
    "cl-negative": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" + SMUGGLED,
    "cl-plus": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +38\r\n\r\n" + SMUGGLED,
    "cl-hex": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x26\r\n\r\n" + SMUGGLED,
    "cl-space-inside": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 8\r\n\r\n" + SMUGGLED,
    "cl-empty": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n" + SMUGGLED,
    "te-gzip-only": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n" + SMUGGLED,
    "te-chunked-not-last": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                           b"0\r\n\r\n" + SMUGGLED,
    "te-identity": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n" + SMUGGLED,
    "te-xchunked": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"
                   b"0\r\n\r\n" + SMUGGLED,
    "te-two-lines-last-not-chunked": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                                     b"Transfer-Encoding: x\r\n\r\n0\r\n\r\n" + SMUGGLED,
    # RFC 9112 section 5.1: whitespace between field name and colon MUST be rejected with 400.
    "te-space-before-colon": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n"
                             b"Content-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "host-space-before-colon": b"GET / HTTP/1.1\r\nHost : a\r\n\r\n" + SMUGGLED,
    "chunk-size-alpha": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"zz\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-size-negative": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"-5\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-size-0x": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"0x5\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-size-overflow": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"10000000000000005\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-size-empty": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-data-overrun": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"5\r\nhelloXX\r\n0\r\n\r\n" + SMUGGLED,
    # Chunked framing requires CRLF (RFC 9112 section 7.1); the bare-LF leniency of section 2.2 is
    # for the start-line and field lines only.
    "chunk-bare-lf-after-size": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"5\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-bare-lf-after-data": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"5\r\nhello\n0\r\n\r\n" + SMUGGLED,
    # Issue 2: obs-fold is rejected (RFC 9112 section 5.2 allows reject-with-400).
    "obs-fold": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n" + SMUGGLED,
    "obs-fold-te": b"POST / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n Transfer-Encoding: chunked\r\n"
                   b"Content-Length: 0\r\n\r\n" + SMUGGLED,
    # RFC 9112 section 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
    "http10-te": b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"
                 b"\r\n0\r\n\r\n" + SMUGGLED,
    "bad-field-name": b"GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n" + SMUGGLED,
    "empty-field-name": b"GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n" + SMUGGLED,
}


@pytest.mark.parametrize("name", list(CASES))
def test_rejected_with_400_and_close(gw, name):
    _expect_400_close(gw, CASES[name])
    assert gw.g.alive()


def _no_bare_line_ends(rec) -> None:
    raw = rec["raw_head"].encode("latin-1")
    assert b"\r\n" * 2 in raw
    assert raw.replace(b"\r\n", b"").count(b"\n") == 0, f"bare LF forwarded: {raw!r}"
    assert raw.replace(b"\r\n", b"").count(b"\r") == 0, f"bare CR forwarded: {raw!r}"
    assert b"\0" not in raw, f"NUL forwarded: {raw!r}"


@pytest.mark.parametrize("raw,check", [
    # Bare LF as a field line terminator: RFC 9112 section 2.2 MAY accept.
    (b"GET /lf HTTP/1.1\nHost: a\nX-A: 1\nContent-Length: 5\n\nhello",
     lambda rec: rec["body_len"] == 5 and ["X-A", "1"] in rec["headers"]),
    # Bare CR in a value: RFC 9112 section 2.2 reject, or replace by SP.
    (b"GET /cr HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n",
     lambda rec: ["X-A", "a b"] in rec["headers"]),
    # NUL in a value: RFC 9110 section 5.5 reject, or replace by SP.
    (b"GET /nul HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n",
     lambda rec: ["X-A", "a b"] in rec["headers"]),
    # Whitespace-preceded line after the start line: RFC 9112 section 2.2 reject, or ignore it.
    (b"GET /ws HTTP/1.1\r\n X-Evil: 1\r\nHost: a\r\n\r\n",
     lambda rec: not [h for h in rec["headers"] if "evil" in h[0].lower()]),
], ids=["bare-lf-fields", "bare-cr-value", "nul-value", "ws-after-start-line"])
def test_rejected_or_sanitised(gw, raw, check):
    with conn(gw.port) as c:
        c.send(raw)
        r = c.read_response(timeout=5)
        if r.status == 400:
            assert c.wait_closed(3)[0], "connection not closed after 400"
            return
    assert r.status == 200, r
    rec = r.json()
    _no_bare_line_ends(rec)
    assert check(rec), rec


def test_identical_duplicate_content_length(gw):
    # RFC 9110 section 8.6: "5, 5" or two identical lines MAY be accepted as 5, or rejected.
    with conn(gw.port) as c:
        c.send(b"POST /dup HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
               b"hello" + SMUGGLED)
        r = c.read_response(timeout=5)
        if r.status == 400:
            assert c.wait_closed(3)[0]
            assert not [q for q in gw.echo.requests if q["target"] == "/smuggled"]
            return
        assert r.json()["body_len"] == 5
        # Then the next message on the connection is the pipelined request, correctly framed.
        assert r.json()["target"] == "/dup"
        assert c.read_response(timeout=5).json()["target"] == "/smuggled"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_body_of_unrouted_request_not_parsed_as_request(make_echo, start_gantry, framing):
    # A 404 answered before the body is read: the body (which looks like a request) must be
    # discarded or the connection closed; it must never be routed as a request of its own.
    from backends.snapshot import Snapshot

    echo = make_echo()
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    p.route("/", "echo", hostname="routed.example")
    start_gantry(snap)
    if framing == "chunked":
        body = b"%x\r\n" % len(SMUGGLED) + SMUGGLED.replace(b"Host: a", b"Host: routed.example") \
            + b"\r\n0\r\n\r\n"
        head = b"POST /x HTTP/1.1\r\nHost: nowhere.example\r\nTransfer-Encoding: chunked\r\n\r\n"
    else:
        body = SMUGGLED.replace(b"Host: a", b"Host: routed.example")
        head = b"POST /x HTTP/1.1\r\nHost: nowhere.example\r\nContent-Length: %d\r\n\r\n" % len(body)
    with conn(p.port) as c:
        c.send(head + body + b"GET /real HTTP/1.1\r\nHost: routed.example\r\n\r\n")
        r = c.read_response(timeout=5)
        assert r.status == 404
        try:
            r2 = c.read_response(timeout=3)
            assert r2.json()["target"] == "/real"
        except ConnectionClosed:
            pass  # closing instead of discarding the body is fine
    assert not [q for q in echo.requests if q["target"] == "/smuggled"], echo.requests


def test_smuggled_request_after_valid_chunked_body_is_a_real_request(gw):
    # Sanity counterpart: a well-framed pipelined second request IS served (so the checks above
    # are about framing, not about refusing pipelining).
    with conn(gw.port) as c:
        c.send(b"POST /first HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
               + SMUGGLED)
        r1 = c.read_response()
        r2 = c.read_response()
    assert r1.json()["target"] == "/first"
    assert r2.json()["target"] == "/smuggled"


@pytest.mark.parametrize("seed", range(3))
def test_garbage_input_does_not_hurt(gw, seed):
    rnd = random.Random(seed)
    data = bytes(rnd.getrandbits(8) for _ in range(4096)) + b"\r\n\r\n"
    with conn(gw.port) as c:
        try:
            c.send(data)
            r = c.read_response(timeout=5)
            assert r.status == 400
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
    assert gw.g.alive()
    assert roundtrip(gw.port, target="/still-ok").status == 200


def test_request_line_garbage_400(gw):
    with conn(gw.port) as c:
        c.send(b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n")
        try:
            r = c.read_response(timeout=5)
            assert r.status == 400
        except ConnectionClosed:
            pass
    assert not gw.echo.requests
    assert roundtrip(gw.port, target="/").status == 200
