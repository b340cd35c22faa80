"""HTTP/1.1 clients proxied to an h2c backend (Service appProtocol kubernetes.io/h2c): the request
goes out as an HTTP/2 stream of gantry's multiplexed upstream pool, the response comes back as
HTTP/1.1. The backend (backends/h2echo.py, the `h2` library) records what it saw."""

import concurrent.futures
import hashlib
import http.client
import json
import socket
import time

import httpx
import pytest

from backends.h2echo import H2EchoBackend, pattern
from backends.helpers import assert_short_error, conn, roundtrip
from backends.rawhttp import request
from backends.snapshot import Snapshot, free_port


@pytest.fixture
def make_h2():
    made = []

    def _make(**kw) -> H2EchoBackend:
        b = H2EchoBackend(**kw)
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


def _gantry(start_gantry, backend_endpoints, workers=1, **rule_fields):
    snap = Snapshot()
    snap.backend("h2", backend_endpoints, app_protocol="H2C")
    p = snap.http_port()
    p.route("/", "h2", **rule_fields)
    g = start_gantry(snap, workers=workers)
    return g, p.port


def _fields(rec) -> dict:
    out = {}
    for n, v in rec["headers"]:
        out.setdefault(n, []).append(v)
    return out


def test_request_mapping(make_h2, start_gantry):
    b = make_h2()
    g, port = _gantry(start_gantry, [b.endpoint()])
    r = roundtrip(port, "GET", "/a/./b/%7Euser?q=1&r=%20", host="app.example:8080", headers=[
        ("X-Custom", "Value One"), ("Connection", "keep-alive, X-Hop"), ("X-Hop", "secret"),
        ("Keep-Alive", "timeout=5"), ("TE", "trailers, deflate"), ("X-Forwarded-For", "10.0.0.1"),
        ("Proxy-Authorization", "x"),
    ])
    assert r.status == 200, r.body
    assert r.header("x-backend") == "h2echo"
    assert r.header("content-type") == "application/json"
    assert int(r.header("content-length")) == len(r.body)
    rec = json.loads(r.body)
    assert rec["method"] == "GET"
    assert rec["path"] == "/a/b/~user?q=1&r=%20"  # the normalised path gantry routed on
    assert rec["authority"] == "app.example:8080"
    assert rec["scheme"] == "http"
    f = _fields(rec)
    assert f["x-custom"] == ["Value One"]
    for name in ("host", "connection", "keep-alive", "x-hop", "proxy-authorization",
                 "transfer-encoding", "upgrade"):
        assert name not in f, (name, f)
    assert f["te"] == ["trailers"]  # RFC 9113 8.2.2: only "trailers" survives
    assert f["x-forwarded-for"] == ["10.0.0.1, 127.0.0.1"]
    assert f["x-forwarded-proto"] == ["http"]
    assert f["x-forwarded-host"] == ["app.example:8080"]
    assert rec["body_len"] == 0


def test_post_body_and_status(make_h2, start_gantry):
    b = make_h2()
    g, port = _gantry(start_gantry, [b.endpoint()])
    body = b"hello h2c " * 1000
    with httpx.Client(timeout=10) as c:
        r = c.post(f"http://127.0.0.1:{port}/submit", content=body,
                   headers={"x-h2-status": "201", "Content-Type": "text/plain"})
        assert r.status_code == 201
        rec = r.json()
        assert rec["method"] == "POST"
        assert rec["body_len"] == len(body)
        assert rec["body_sha256"] == hashlib.sha256(body).hexdigest()
        assert _fields(rec)["content-length"] == [str(len(body))]
        # Keep-alive on the client side: the next request uses the same client connection.
        r2 = c.get(f"http://127.0.0.1:{port}/again")
        assert r2.status_code == 200 and r2.json()["path"] == "/again"
    # Both streams went over one upstream connection.
    assert b.connections == 1


def test_large_streamed_body_both_ways(make_h2, start_gantry):
    """A 24 MiB chunked upload echoed back: flow control both ways, nothing buffered whole."""
    b = make_h2()
    g, port = _gantry(start_gantry, [b.endpoint()])
    size = 24 * 1024 * 1024
    data = pattern(size)

    def gen():
        for i in range(0, size, 256 * 1024):
            yield data[i:i + 256 * 1024]

    with httpx.Client(timeout=60) as c:
        with c.stream("POST", f"http://127.0.0.1:{port}/echo", content=gen(),
                      headers={"x-h2-echo-body": "1"}) as r:
            assert r.status_code == 200
            assert r.headers.get("transfer-encoding") == "chunked"  # no length from the backend
            h = hashlib.sha256()
            n = 0
            for chunk in r.iter_raw():
                h.update(chunk)
                n += len(chunk)
    assert n == size
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()
    rec = b.requests[-1]
    assert rec["body_len"] == size
    assert "content-length" not in _fields(rec)
    # gantry's memory stayed bounded (the backend holds the whole body, gantry must not).
    assert g.proc_status_kib("VmHWM") < 96 * 1024


def test_slow_reader_download(make_h2, start_gantry):
    """A 16 MiB response read slowly: the backend is paused by flow control, not gantry's RSS."""
    b = make_h2()
    g, port = _gantry(start_gantry, [b.endpoint()])
    size = 16 * 1024 * 1024
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.sendall(request("GET", "/big", "app.example", [("x-h2-response-bytes", str(size))]))
    time.sleep(1.0)  # let everything that is not flow-controlled pile up somewhere
    rss_stalled = g.proc_status_kib("VmRSS")
    got = bytearray()
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
        if got.endswith(b"\r\n0\r\n\r\n"):
            break
    s.close()
    head, _, rest = bytes(got).partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    body = bytearray()
    while True:
        line, _, rest = rest.partition(b"\r\n")
        n = int(line, 16)
        if n == 0:
            break
        body += rest[:n]
        rest = rest[n + 2:]
    assert len(body) == size and bytes(body) == pattern(size)
    assert rss_stalled < 64 * 1024, f"gantry RSS {rss_stalled} KiB while the client was not reading"


def test_response_trailers_and_head(make_h2, start_gantry):
    b = make_h2()
    g, port = _gantry(start_gantry, [b.endpoint()])
    tr = json.dumps([["grpc-status", "0"], ["x-checksum", "abc"]])
    r = roundtrip(port, "GET", "/t", headers=[("TE", "trailers"), ("x-h2-response-bytes", "1000"),
                                              ("x-h2-trailers", tr)])
    assert r.status == 200 and r.chunked and r.complete
    assert r.body == pattern(1000)
    assert ["grpc-status", "0"] in r.trailers and ["x-checksum", "abc"] in r.trailers
    h = roundtrip(port, "HEAD", "/h")
    assert h.status == 200 and h.body == b""
    assert b.requests[-1]["method"] == "HEAD"
    # HTTP/1.0 client, no length from the backend: close-delimited.
    with conn(port) as c:
        c.send(request("GET", "/old", "app.example", [("x-h2-response-bytes", "5000")],
                       version="HTTP/1.0"))
        r10 = c.read_response()
        assert r10.status == 200 and r10.body == pattern(5000)
        assert r10.header("transfer-encoding") is None


def test_concurrent_requests_share_one_connection(make_h2, start_gantry):
    b = make_h2()
    g, port = _gantry(start_gantry, [b.endpoint()], workers=1)

    def one(i):
        with conn(port, timeout=20) as c:
            c.send(request("GET", f"/c/{i}", "app.example", [("x-h2-sleep-ms", "400")]))
            return c.read_response()

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        rs = list(ex.map(one, range(16)))
    assert all(r.status == 200 for r in rs), [r.status for r in rs]
    assert sorted(json.loads(r.body)["path"] for r in rs) == sorted(f"/c/{i}" for i in range(16))
    assert b.connections == 1
    assert b.max_active > 1, "streams were not multiplexed"


def test_max_concurrent_streams_opens_more_connections(make_h2, start_gantry):
    b = make_h2(max_concurrent_streams=2)
    g, port = _gantry(start_gantry, [b.endpoint()], workers=1)
    # Let the pool learn the server's SETTINGS first.
    assert roundtrip(port, "GET", "/warm").status == 200

    def one(i):
        with conn(port, timeout=20) as c:
            c.send(request("GET", f"/m/{i}", "app.example", [("x-h2-sleep-ms", "500")]))
            return c.read_response()

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        rs = list(ex.map(one, range(6)))
    assert all(r.status == 200 for r in rs), [(r.status, r.body[:100]) for r in rs]
    assert b.max_active <= 2
    assert b.connections >= 3


def test_goaway_and_refused_stream(make_h2, start_gantry):
    b = make_h2()
    g, port = _gantry(start_gantry, [b.endpoint()], workers=1)
    r = roundtrip(port, "GET", "/bye", headers=[("x-h2-goaway", "1")])
    assert r.status == 200
    time.sleep(0.2)
    r2 = roundtrip(port, "GET", "/after")
    assert r2.status == 200
    assert json.loads(r2.body)["conn"] == 2, "a connection that sent GOAWAY must not get new streams"
    # RST_STREAM(REFUSED_STREAM): the request was not processed; gantry sends it again.
    r3 = roundtrip(port, "POST", "/refused", headers=[("x-h2-refuse", "k1")], body=b"payload")
    assert r3.status == 200, r3.body
    assert json.loads(r3.body)["body_len"] == 7
    assert b.refusals == 1


def test_errors(make_h2, start_gantry):
    b = make_h2()
    dead = free_port()
    snap = Snapshot()
    snap.backend("h2", [b.endpoint()], app_protocol="H2C")
    snap.backend("down", [("127.0.0.1", dead)], app_protocol="H2C")
    p = snap.http_port()
    p.route("/down", "down")
    p.route("/slow", "h2", timeouts={"backend_request_ms": 300})
    p.route("/", "h2")
    start_gantry(snap, workers=1)
    assert_short_error(roundtrip(p.port, "GET", "/down"), 503)
    t0 = time.monotonic()
    assert_short_error(roundtrip(p.port, "GET", "/slow", headers=[("x-h2-sleep-ms", "3000")]), 504)
    assert time.monotonic() - t0 < 2.5
    assert_short_error(roundtrip(p.port, "GET", "/reset", headers=[("x-h2-reset", "1")]), 502)
    # The pool is still healthy afterwards.
    assert roundtrip(p.port, "GET", "/ok").status == 200


def test_header_modifiers_and_rewrite(make_h2, start_gantry):
    """HTTPRoute filters apply on the h2c path as on the HTTP/1 one."""
    b = make_h2()
    snap = Snapshot()
    snap.backend("h2", [b.endpoint()], app_protocol="H2C")
    p = snap.http_port()
    p.route("/", "h2", filters=[
        {"type": "RequestHeaderModifier",
         "header_modifier": {"set": [{"name": "X-Set", "value": "s"}],
                             "add": [{"name": "X-Add", "value": "a"}], "remove": ["x-drop"]}},
        {"type": "ResponseHeaderModifier",
         "header_modifier": {"set": [{"name": "X-Resp", "value": "r"}], "remove": ["x-backend"]}},
        {"type": "URLRewrite", "rewrite": {"hostname": "internal.example"}},
    ])
    start_gantry(snap, workers=1)
    r = roundtrip(p.port, "GET", "/f", headers=[("X-Set", "old"), ("X-Drop", "1"), ("X-Add", "0")])
    assert r.status == 200, r.body
    assert r.header("x-resp") == "r" and r.header("x-backend") is None
    rec = json.loads(r.body)
    f = _fields(rec)
    assert rec["authority"] == "internal.example"
    assert f["x-set"] == ["s"] and "x-drop" not in f
    assert sorted(f["x-add"]) == ["0", "a"]


def test_http2_client_to_h2c_backend(make_h2, start_gantry):
    """h2c prior knowledge downstream -> h2c upstream (HTTPRouteBackendProtocolH2C)."""
    b = make_h2()
    dead = free_port()
    snap = Snapshot()
    snap.backend("h2", [b.endpoint()], app_protocol="H2C")
    snap.backend("down", [("127.0.0.1", dead)], app_protocol="H2C")
    p = snap.http_port()
    p.route("/down", "down")
    p.route("/", "h2")
    start_gantry(snap, workers=1)
    body = pattern(3 * 1024 * 1024)
    with httpx.Client(http1=False, http2=True, timeout=30) as c:
        r = c.get(f"http://127.0.0.1:{p.port}/x?y=1", headers={"x-custom": "v"})
        assert r.http_version == "HTTP/2" and r.status_code == 200
        rec = r.json()
        assert rec["method"] == "GET" and rec["path"] == "/x?y=1"
        assert rec["authority"] == f"127.0.0.1:{p.port}"
        assert _fields(rec)["x-custom"] == ["v"]
        r = c.post(f"http://127.0.0.1:{p.port}/echo", content=body, headers={"x-h2-echo-body": "1"})
        assert r.status_code == 200 and r.content == body
        r = c.get(f"http://127.0.0.1:{p.port}/down")
        assert r.status_code == 503
    assert b.connections == 1
