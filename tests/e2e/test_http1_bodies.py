"""Message bodies: Content-Length and chunked streamed both ways (without buffering), 100-continue,
trailers, HEAD/204/304 framing (RFC 9112 section 6.3), short request bodies, and memory bounds
(the 1 GiB upload with gantry's RSS under 64 MiB)."""

import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import time

import httpx
import pytest

from backends.echo import header_values, pattern, pattern_sha256
from backends.helpers import conn, one_backend, roundtrip, seen
from backends.rawhttp import request
from backends.snapshot import Snapshot

MiB = 1 << 20


@pytest.fixture
def gw(make_echo, start_gantry):
    return one_backend(make_echo, start_gantry)


def _pattern_stream(n, piece=256 * 1024):
    off = 0
    while off < n:
        k = min(piece, n - off)
        yield pattern(off, k)
        off += k


# ---------------------------------------------------------------------------------------------
# Streaming both ways.


def test_upload_content_length_streamed(gw):
    n = 8 * MiB
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    c.request("POST", "/up", body=_pattern_stream(n), headers={"Content-Length": str(n)})
    r = c.getresponse()
    rec = json.loads(r.read())
    c.close()
    assert r.status == 200
    assert rec["body_len"] == n
    assert rec["body_sha256"] == pattern_sha256(n)


def test_upload_chunked_streamed(gw):
    n = 8 * MiB + 12345
    with httpx.Client(timeout=30) as hc:
        r = hc.post(gw.g.url("/up"), content=_pattern_stream(n, 100_000))
    assert r.status_code == 200
    rec = r.json()
    assert rec["body_len"] == n
    assert rec["body_sha256"] == pattern_sha256(n)


def test_upload_with_curl_from_stdin(gw):
    n = 3 * MiB
    data = pattern(0, n)
    out = subprocess.run(
        ["curl", "-sS", "--http1.1", "-T", "-", "-o", "-", "-w", "\n%{http_code}",
         f"http://127.0.0.1:{gw.port}/curl-up"],
        input=data, capture_output=True, timeout=30,
    )
    body, _, code = out.stdout.rpartition(b"\n")
    assert code == b"200", out.stderr
    rec = json.loads(body)
    assert rec["method"] == "PUT" and rec["body_len"] == n
    assert rec["body_sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_download_streamed(gw, chunked):
    n = 16 * MiB + 7
    h = hashlib.sha256()
    got = 0
    headers = {"x-echo-response-bytes": str(n), "x-echo-chunk-size": "65536"}
    if chunked:
        headers["x-echo-chunked"] = "1"
    with httpx.Client(timeout=30) as hc, hc.stream("GET", gw.g.url("/down"), headers=headers) as r:
        assert r.status_code == 200
        if chunked:
            assert r.headers.get("content-length") is None
        else:
            assert r.headers["content-length"] == str(n)
        for piece in r.iter_raw():
            h.update(piece)
            got += len(piece)
    assert got == n
    assert h.hexdigest() == pattern_sha256(n)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_response_not_buffered(gw, chunked):
    # The backend sends 1000 body bytes, then pauses 1.5 s: the client must get them before the
    # pause ends (the proxy streams; it does not wait for the whole body).
    hdrs = [("x-echo-response-bytes", "3000"), ("x-echo-pause-after", "1000"),
            ("x-echo-pause-ms", "1500")]
    if chunked:
        hdrs.append(("x-echo-chunked", "1"))
    with conn(gw.port) as c:
        t0 = time.monotonic()
        c.send(request("GET", "/slow", "a", hdrs))
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 1000:
            chunk = c.sock.recv(65536)
            assert chunk, "connection closed early"
            data += chunk
        elapsed = time.monotonic() - t0
    assert elapsed < 1.2, f"first 1000 body bytes took {elapsed:.2f}s: response is buffered"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_request_not_buffered(gw, chunked):
    # The client sends half of the body and waits: the backend must receive that half before the
    # client sends the rest.
    with conn(gw.port) as c:
        if chunked:
            c.send(b"POST /half HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"3e8\r\n" + b"a" * 1000 + b"\r\n")
        else:
            c.send(b"POST /half HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n" + b"a" * 1000)
        ok = gw.echo.wait_for(
            lambda e: any(r["target"] == "/half" and r["body_len"] >= 1000 for r in e.requests), 3)
        assert ok, "backend did not receive the first half of the body while the client waited"
        if chunked:
            c.send(b"3e8\r\n" + b"b" * 1000 + b"\r\n0\r\n\r\n")
        else:
            c.send(b"b" * 1000)
        rec = seen(c.read_response())
    assert rec["body_len"] == 2000


def test_bidirectional_streaming(gw):
    # The backend answers at once and echoes each request chunk as it arrives; the client waits for
    # each echo before sending the next chunk, so this only completes if both directions stream
    # concurrently (a response may start before the request body ends, RFC 9110 section 6.4).
    with conn(gw.port) as c:
        c.send(b"POST /duplex HTTP/1.1\r\nHost: a\r\nx-echo-stream-echo: 1\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        received = b""
        for i in range(5):
            piece = f"piece-{i};".encode()
            c.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
            deadline = time.monotonic() + 3
            while piece not in received:
                assert time.monotonic() < deadline, f"echo of chunk {i} not received: {received!r}"
                c.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    d = c.sock.recv(65536)
                except socket.timeout:
                    continue
                assert d, "connection closed"
                received += d
        c.send(b"0\r\n\r\n")
        assert received.startswith(b"HTTP/1.1 200")


def test_early_response_relayed_during_upload(gw):
    # The backend answers 413 after the head and never reads the (64 MiB) body. A client sending a
    # body should watch for an early response (RFC 9112 section 9.3, RFC 9110 section 15.5.14);
    # gantry must relay it instead of blocking on writing a body the backend will not read.
    n = 64 * MiB
    with conn(gw.port, timeout=10) as c:
        c.send(f"POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: {n}\r\n"
               "x-echo-skip-body: hold\r\nx-echo-status: 413\r\n\r\n".encode())

        def pump():
            block = b"u" * MiB
            try:
                for _ in range(n // MiB):
                    c.sock.sendall(block)
            except OSError:
                pass

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        try:
            r = c.read_response(timeout=4)
        except socket.timeout:
            pytest.fail("the backend's early 413 was not relayed while the upload was blocked")
        assert r.status == 413


# ---------------------------------------------------------------------------------------------
# 100-continue (RFC 9110 section 10.1.1).


def test_expect_100_continue(gw):
    with conn(gw.port) as c:
        c.send(b"POST /expect HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
               b"Content-Length: 10\r\n\r\n")
        interim = c.read_response(timeout=3)
        assert interim.status == 100, "no 100 Continue before the body was sent"
        c.send(b"0123456789")
        final, _ = c.read_final()
        rec = seen(final)
    assert rec["body_len"] == 10


def test_expect_100_continue_final_status_without_body(gw):
    # The backend answers 413 without reading the body: a client that gets a final status instead
    # of 100 must not have to send the body (RFC 9110 section 10.1.1).
    with conn(gw.port) as c:
        c.send(b"POST /expect HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
               b"Content-Length: 100000\r\nx-echo-skip-body: 1\r\nx-echo-status: 413\r\n\r\n")
        r = c.read_response(timeout=5)
        if r.status == 100:
            c.send(b"z" * 100000)
            r, _ = c.read_final(timeout=5)
        assert r.status == 413


def test_expect_100_continue_no_route(make_echo, start_gantry):
    echo = make_echo()
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    p.route("/only", "echo")
    start_gantry(snap)
    # The final status (404) is known from the head alone: it must be sent without waiting for
    # the body (RFC 9110 section 10.1.1, proxy requirements).
    with conn(p.port) as c:
        c.send(b"POST /elsewhere HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
               b"Content-Length: 5000\r\n\r\n")
        r, _ = c.read_final(timeout=3)
        assert r.status == 404


def test_curl_expect_100_continue(gw):
    n = 2 * MiB
    out = subprocess.run(
        ["curl", "-sS", "--http1.1", "-H", "Expect: 100-continue", "--expect100-timeout", "10",
         "--data-binary", "@-", "-o", "-", "-w", "\n%{http_code} %{time_total}",
         f"http://127.0.0.1:{gw.port}/curl-expect"],
        input=pattern(0, n), capture_output=True, timeout=30,
    )
    body, _, tail = out.stdout.rpartition(b"\n")
    code, total = tail.split()
    assert code == b"200", out.stderr
    assert json.loads(body)["body_len"] == n
    assert float(total) < 5, "curl waited for its expect timeout: no 100 Continue was relayed"


# ---------------------------------------------------------------------------------------------
# Trailers (RFC 9112 section 7.1.2, RFC 9110 section 6.5).


def test_request_trailers_forwarded(gw):
    with conn(gw.port) as c:
        c.send(b"POST /tr HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n"
               b"\r\n5\r\nhello\r\n0\r\nX-Checksum: abc123\r\n\r\n")
        rec = seen(c.read_response())
    assert rec["body_len"] == 5
    assert ["X-Checksum", "abc123"] in [[n, v] for n, v in rec["trailers"]], rec


def test_response_trailers_forwarded(gw):
    trailers = [["X-Digest", "sha-256=:abc:"], ["X-Count", "3"]]
    with conn(gw.port) as c:
        c.send(request("GET", "/trailers", "a", [
            ("TE", "trailers"), ("x-echo-chunked", "1"), ("x-echo-response-bytes", "100000"),
            ("x-echo-trailers", json.dumps(trailers)),
            ("x-echo-headers", json.dumps([["Trailer", "X-Digest, X-Count"]]))]))
        r = c.read_response()
    assert r.status == 200 and r.complete and r.chunked
    assert len(r.body) == 100000
    assert [[n.lower(), v] for n, v in r.trailers] == [["x-digest", "sha-256=:abc:"],
                                                        ["x-count", "3"]]


# ---------------------------------------------------------------------------------------------
# Bodiless responses (RFC 9112 section 6.3 rules 1 and 2).


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_head_response_has_no_body(gw, chunked):
    hdrs = [("x-echo-response-bytes", "5000")] + ([("x-echo-chunked", "1")] if chunked else [])
    with conn(gw.port) as c:
        # HEAD then GET pipelined on one connection: a proxy that waited for (or sent) a HEAD body
        # would hang or corrupt the second response.
        c.send(request("HEAD", "/head", "a", hdrs) + request("GET", "/after", "a"))
        h = c.read_response("HEAD", timeout=5)
        g = c.read_response(timeout=5)
    assert h.status == 200
    if not chunked:
        assert h.header("content-length") == "5000"
    assert seen(g)["target"] == "/after"


@pytest.mark.parametrize("status,extra", [
    (204, []),
    (304, [["ETag", "\"v1\""], ["Content-Length", "1234"]]),
    (304, [["ETag", "\"v2\""]]),
])
def test_bodiless_status(gw, status, extra):
    with conn(gw.port) as c:
        c.send(request("GET", "/nobody", "a", [("x-echo-status", str(status)),
                                               ("x-echo-headers", json.dumps(extra))])
               + request("GET", "/after", "a"))
        r = c.read_response(timeout=5)
        assert r.status == status
        if status == 204:
            # RFC 9110 section 8.6: no Content-Length in a 204; RFC 9112 section 6.1: nor
            # Transfer-Encoding.
            assert r.header("content-length") is None
        assert r.header("transfer-encoding") is None
        if status == 304 and r.header("content-length") is not None:
            assert r.header("content-length") == "1234"
        # Nothing but the next response follows the bodiless one.
        g = c.read_response(timeout=5)
        assert seen(g)["target"] == "/after"


def test_http10_client_gets_no_chunked_response(gw):
    # RFC 9112 section 6.1: a server MUST NOT send Transfer-Encoding in a response to HTTP/1.0.
    with conn(gw.port) as c:
        c.send(request("GET", "/old", "a", [("x-echo-chunked", "1"),
                                            ("x-echo-response-bytes", "20000")], version="HTTP/1.0"))
        r = c.read_response()
        assert r.status == 200
        assert r.header("transfer-encoding") is None
        if r.header("content-length") is None:
            assert c.eof, "close-delimited body expected"
        assert r.body == pattern(0, 20000)


# ---------------------------------------------------------------------------------------------
# Short request bodies: the upstream connection that carried a truncated body must not be reused.


def test_truncated_request_body_not_reused_upstream(gw):
    with conn(gw.port) as c:
        c.send(b"POST /short HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        assert gw.echo.wait_for(lambda e: any(r["target"] == "/short" for r in e.requests), 5)
        time.sleep(0.2)
    # The client is gone mid-body; if gantry put that upstream connection back into its pool, the
    # next requests' bytes would be read by the backend as the rest of the first body.
    for i in range(6):
        rec = seen(roundtrip(gw.port, target=f"/next{i}"))
        assert rec["target"] == f"/next{i}"
    for r in gw.echo.requests:
        assert "GET /next" not in r["body_head"] and "Host:" not in r["body_head"], r


# ---------------------------------------------------------------------------------------------
# Memory: bodies stream with backpressure.


class _RssSampler(threading.Thread):
    def __init__(self, g):
        super().__init__(daemon=True)
        self.g = g
        self.max_rss = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.max_rss = max(self.max_rss, self.g.proc_status_kib("VmRSS"))
            except (OSError, KeyError):
                return
            time.sleep(0.05)


def test_1gib_upload_rss_bounded(gw):
    n = 1 << 30
    sampler = _RssSampler(gw.g)
    sampler.start()
    block = os.urandom(MiB)
    h = hashlib.sha256()
    t0 = time.monotonic()
    with conn(gw.port, timeout=60) as c:
        c.send(f"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: {n}\r\n\r\n".encode())
        for i in range(n // MiB):
            # Every block differs (its index in front), so lost or repeated blocks show in the hash.
            piece = i.to_bytes(8, "big") + block[8:]
            h.update(piece)
            c.sock.sendall(piece)
        r = c.read_response(timeout=60)
    elapsed = time.monotonic() - t0
    sampler.stop.set()
    sampler.join()
    hwm = gw.g.proc_status_kib("VmHWM")
    rec = seen(r)
    assert rec["body_len"] == n
    assert rec["body_sha256"] == h.hexdigest()
    assert elapsed < 60, f"1 GiB upload took {elapsed:.1f}s"
    assert hwm < 64 * 1024, f"gantry VmHWM {hwm} KiB >= 64 MiB (sampled VmRSS max {sampler.max_rss})"
    print(f"1 GiB upload: {elapsed:.1f}s, gantry VmHWM {hwm} KiB, VmRSS max {sampler.max_rss} KiB")


def test_slow_reader_download_rss_bounded(gw):
    # A 1 GiB response to a client that stops reading: gantry must stop reading from the backend
    # (backpressure) instead of buffering the response.
    with conn(gw.port, timeout=30) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        c.send(request("GET", "/huge", "a", [("x-echo-response-bytes", str(1 << 30)),
                                             ("x-echo-chunk-size", "262144")]))
        first = c.sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        time.sleep(2.5)
        hwm = gw.g.proc_status_kib("VmHWM")
    assert hwm < 64 * 1024, f"gantry VmHWM {hwm} KiB with a stalled 1 GiB download"
    # Once the client is gone, gantry must drop the unfinished upstream connection too.
    assert gw.echo.wait_for(lambda e: e.open_connections == 0, 5), \
        "upstream connection of an aborted response was kept open"
