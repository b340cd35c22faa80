"""Basic proxying, keep-alive (downstream and upstream), routing on host/path, and the header rules
of issue 2: hop-by-hop removal, X-Forwarded-*, Host preserved, no Server header added."""

import http.client
import json
import subprocess
import time

import httpx
import pytest

from backends.echo import header_tokens, header_values
from backends.helpers import conn, one_backend, raw_response_headers, roundtrip, seen
from backends.rawhttp import request
from backends.snapshot import Snapshot


@pytest.fixture
def gw(make_echo, start_gantry):
    return one_backend(make_echo, start_gantry)


def test_curl_get(gw):
    out = subprocess.run(
        ["curl", "-sS", "--http1.1", "-o", "-", "-w", "\n%{http_code}",
         f"http://127.0.0.1:{gw.port}/hello/world?x=1&y=%2F"],
        capture_output=True, timeout=20, text=True,
    )
    body, _, code = out.stdout.rpartition("\n")
    assert code == "200", out.stderr
    rec = json.loads(body)
    assert rec["method"] == "GET"
    assert rec["target"] == "/hello/world?x=1&y=%2F"
    assert header_values(rec["headers"], "host") == [f"127.0.0.1:{gw.port}"]


def test_http_client_post_and_httpx_put(gw):
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    c.request("POST", "/submit", body=b"x" * 1000, headers={"Content-Type": "text/plain"})
    r = c.getresponse()
    rec = json.loads(r.read())
    c.close()
    assert r.status == 200
    assert rec["method"] == "POST" and rec["body_len"] == 1000
    assert header_values(rec["headers"], "content-type") == ["text/plain"]

    with httpx.Client(base_url=gw.g.url(), timeout=10) as hc:
        r = hc.put("/item/7", content=b"abc")
        assert r.status_code == 200
        assert r.json()["method"] == "PUT" and r.json()["body_len"] == 3


def test_downstream_keepalive_reuses_one_connection(gw):
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    local_ports = set()
    for i in range(20):
        c.request("GET", f"/ka/{i}")
        r = c.getresponse()
        assert r.status == 200
        assert json.loads(r.read())["target"] == f"/ka/{i}"
        assert "close" not in (r.getheader("connection") or "").lower()
        local_ports.add(c.sock.getsockname()[1])
    c.close()
    assert len(local_ports) == 1, "gantry closed a keep-alive connection between requests"


def test_upstream_keepalive_reuse_single_downstream(gw):
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    for i in range(30):
        c.request("GET", f"/u/{i}")
        r = c.getresponse()
        r.read()
        assert r.status == 200
    c.close()
    # One downstream connection lives on one worker, whose pool should keep reusing its upstream
    # connection: the backend sees (about) one connection for 30 requests.
    assert gw.echo.connections <= 2, f"backend saw {gw.echo.connections} connections for 30 requests"
    assert max(r["index"] for r in gw.echo.requests) >= 10


def test_upstream_keepalive_reuse_across_downstream_connections(gw):
    n = 24
    for i in range(n):
        r = roundtrip(gw.port, target=f"/d/{i}")
        assert r.status == 200
    # Each worker's pool keeps its idle upstream connection between downstream connections.
    assert gw.echo.connections < n
    assert gw.echo.connections <= 4, f"backend saw {gw.echo.connections} connections for {n} requests"


def test_upstream_connection_close_not_reused(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry,
                    defaults={"x-echo-headers": json.dumps([["Connection", "close"]])})
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    for i in range(10):
        c.request("GET", f"/c{i}")
        r = c.getresponse()
        r.read()
        assert r.status == 200
    c.close()
    # Connection: close from the backend ends that upstream connection (RFC 9112 section 9.6);
    # the client connection itself stays usable.
    assert s.echo.connections == 10


def test_upstream_idle_close_not_seen_by_client(make_echo, start_gantry):
    # The backend closes each idle keep-alive connection 50 ms after answering. gantry must notice
    # (or retry on a fresh connection when a pooled one turns out dead before any response byte)
    # rather than answering 502.
    s = one_backend(make_echo, start_gantry, defaults={"x-echo-close-after-ms": "50"})
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    statuses = []
    for i in range(8):
        c.request("GET", f"/i{i}")
        r = c.getresponse()
        r.read()
        statuses.append(r.status)
        time.sleep(0.3)
    c.close()
    assert statuses == [200] * 8
    assert s.echo.connections == 8


def test_pipelined_requests_answered_in_order(gw):
    with conn(gw.port) as c:
        c.send(b"".join(request("GET", f"/p{i}", "app.example") for i in range(5)))
        for i in range(5):
            r = c.read_response()
            assert seen(r)["target"] == f"/p{i}"


def test_host_preserved(gw):
    r = roundtrip(gw.port, host="App.Example:8443", target="/h")
    rec = seen(r)
    assert header_values(rec["headers"], "host") == ["App.Example:8443"]


def test_no_server_header_added(gw):
    r = roundtrip(gw.port, target="/s")
    assert r.status == 200
    assert r.header_all("server") == [], "gantry added a Server header the backend did not send"
    r = roundtrip(gw.port, target="/s",
                  headers=[("x-echo-headers", json.dumps([["Server", "echo/1.0"]]))])
    assert r.header_all("server") == ["echo/1.0"]


def test_x_forwarded_headers_set(gw):
    r = roundtrip(gw.port, host="app.example:8080", target="/xf")
    hdrs = seen(r)["headers"]
    assert header_tokens(hdrs, "x-forwarded-for") == ["127.0.0.1"]
    assert header_tokens(hdrs, "x-forwarded-proto") == ["http"]
    assert header_tokens(hdrs, "x-forwarded-host") == ["app.example:8080"]


def test_x_forwarded_headers_appended(gw):
    r = roundtrip(gw.port, host="app.example", target="/xf", headers=[
        ("X-Forwarded-For", "203.0.113.7, 198.51.100.2"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "outer.example"),
    ])
    hdrs = seen(r)["headers"]
    # The client-supplied chain is kept and gantry's hop is the last element (whether appended to
    # the same line or sent as another field line: RFC 9110 section 5.3 makes them equivalent).
    assert header_tokens(hdrs, "x-forwarded-for") == ["203.0.113.7", "198.51.100.2", "127.0.0.1"]
    assert header_tokens(hdrs, "x-forwarded-proto")[-1] == "http"
    assert header_tokens(hdrs, "x-forwarded-host")[-1] == "app.example"


def test_x_forwarded_for_multiple_lines(gw):
    r = roundtrip(gw.port, target="/xf", headers=[("X-Forwarded-For", "203.0.113.1"),
                                                  ("X-Forwarded-For", "203.0.113.2")])
    assert header_tokens(seen(r)["headers"], "x-forwarded-for") == [
        "203.0.113.1", "203.0.113.2", "127.0.0.1"]


def test_repeated_fields_kept_in_order(gw):
    rec = seen(roundtrip(gw.port, target="/rep", headers=[
        ("X-Multi", "1"), ("Cookie", "a=1"), ("X-Multi", "2"), ("Cookie", "b=2"), ("X-Multi", "3")]))
    assert header_values(rec["headers"], "x-multi") == ["1", "2", "3"]
    assert header_values(rec["headers"], "cookie") == ["a=1", "b=2"]


def test_client_connection_close_is_hop_by_hop(make_echo, start_gantry):
    gw = one_backend(make_echo, start_gantry, workers=1)  # one worker: one upstream pool
    with conn(gw.port) as c:
        c.send(request("GET", "/first", "a"))
        assert c.read_response().status == 200
        c.send(request("GET", "/bye", "a", [("Connection", "close")]))
        r = c.read_response()
        assert r.status == 200
        assert "close" in [t.strip().lower() for v in r.header_all("connection") for t in v.split(",")]
        closed, extra = c.wait_closed(3)
        assert closed and extra == b"", "gantry kept the connection open after Connection: close"
    rec = gw.echo.requests[-1]
    assert rec["target"] == "/bye"
    assert "close" not in header_tokens(rec["headers"], "connection")
    # The client's close says nothing about the upstream connection: it stays pooled (the next
    # downstream connection is served by the same, only, worker).
    assert roundtrip(gw.port, target="/again").status == 200
    assert gw.echo.connections == 1


def test_http10_keep_alive(gw):
    with conn(gw.port) as c:
        for i in range(3):
            c.send(request("GET", f"/old{i}", "a", [("Connection", "keep-alive")], version="HTTP/1.0"))
            r = c.read_response()
            assert seen(r)["target"] == f"/old{i}"
            assert "keep-alive" in (r.header("connection") or "").lower()
            assert r.header("content-length") is not None


def test_http10_default_close(gw):
    with conn(gw.port) as c:
        c.send(request("GET", "/old", "a", version="HTTP/1.0"))
        assert c.read_response().status == 200
        assert c.wait_closed(3)[0], "HTTP/1.0 connection without keep-alive left open"


def test_other_versions(gw):
    # RFC 9110 2.5: a higher minor version is processed as HTTP/1.1; another major gets 505.
    with conn(gw.port) as c:
        c.send(request("GET", "/minor", "a", version="HTTP/1.2"))
        r = c.read_response()
        assert r.status == 200 and seen(r)["target"] == "/minor"
    with conn(gw.port) as c:
        c.send(request("GET", "/major", "a", version="HTTP/3.0"))
        assert c.read_response().status == 505


def test_hop_by_hop_request_headers_removed(gw):
    r = roundtrip(gw.port, target="/hop", headers=[
        ("Connection", "keep-alive, X-Hop-A, X-Hop-B"),
        ("X-Hop-A", "1"),
        ("X-Hop-B", "2"),
        ("X-End", "kept"),
        ("Keep-Alive", "timeout=5, max=1000"),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
        ("Proxy-Connection", "keep-alive"),
        ("TE", "gzip"),
        ("Upgrade", "foo/1"),
    ])
    hdrs = seen(r)["headers"]
    names = {n.lower() for n, _ in hdrs}
    for h in ("x-hop-a", "x-hop-b", "keep-alive", "proxy-authorization", "proxy-connection",
              "upgrade"):
        assert h not in names, f"hop-by-hop header {h} was forwarded: {hdrs}"
    assert "gzip" not in header_tokens(hdrs, "te"), "client's TE was forwarded"
    assert not {"x-hop-a", "x-hop-b"} & set(header_tokens(hdrs, "connection"))
    assert header_values(hdrs, "x-end") == ["kept"]


def test_hop_by_hop_response_headers_removed(gw):
    extra = [["Connection", "X-Secret"], ["X-Secret", "s"], ["Keep-Alive", "timeout=99"],
             ["Proxy-Authenticate", "Basic realm=x"], ["Proxy-Connection", "keep-alive"],
             ["Upgrade", "foo/2"], ["X-End", "e"]]
    r = roundtrip(gw.port, target="/hop", headers=[("x-echo-headers", json.dumps(extra))])
    assert r.status == 200
    names = {n.lower() for n, _ in r.headers}
    for h in ("x-secret", "proxy-authenticate", "proxy-connection", "upgrade"):
        assert h not in names, f"hop-by-hop response header {h} was forwarded: {r.headers}"
    assert "timeout=99" not in " ".join(r.header_all("keep-alive"))
    assert "x-secret" not in [t.strip().lower() for v in r.header_all("connection")
                              for t in v.split(",")]
    assert r.header_all("x-end") == ["e"]


def test_request_transfer_encoding_reframed(gw):
    with conn(gw.port) as c:
        c.send(b"POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        rec = seen(c.read_response())
    assert rec["body_len"] == 11
    assert rec["body_head"] == "hello world"
    te = header_tokens(rec["headers"], "transfer-encoding")
    assert te in ([], ["chunked"])
    if not te:
        assert header_values(rec["headers"], "content-length") == ["11"]


@pytest.fixture
def routed(make_echo, start_gantry):
    a, b, c = make_echo("a"), make_echo("b"), make_echo("c")
    snap = Snapshot()
    for e in (a, b, c):
        snap.backend(e.name, [e])
    p = snap.http_port()
    p.route("/", "a", hostname="a.example")
    p.route("/api", "b", hostname="b.example")
    p.route("/", "c")
    g = start_gantry(snap)
    return p.port


@pytest.mark.parametrize("host,target,backend", [
    ("a.example", "/anything", "a"),
    ("A.EXAMPLE", "/x", "a"),  # host names are case-insensitive (RFC 9110 section 4.2.3)
    ("a.example:{port}", "/x", "a"),  # the port is not part of the host name
    ("b.example", "/api", "b"),
    ("b.example", "/api/v1/items", "b"),
    ("b.example", "/apix", "c"),  # PathPrefix matches whole path segments
    ("b.example", "/other", "c"),
    ("c.example", "/api", "c"),
    ("127.0.0.1:{port}", "/", "c"),
])
def test_routing_by_host_and_path(routed, host, target, backend):
    r = roundtrip(routed, host=host.format(port=routed), target=target)
    assert r.status == 200
    assert r.header("x-echo-backend") == backend


def test_interim_1xx_then_final(gw):
    raw = (b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
           b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    with conn(gw.port) as c:
        c.send(request("GET", "/hints", "a", raw_response_headers(raw, "keep"))
               + request("GET", "/after", "a"))
        final, interim = c.read_final()
        assert final.status == 200 and final.body == b"ok"
        assert seen(c.read_response())["target"] == "/after"
    # RFC 9110 section 15.2: "A proxy MUST forward 1xx responses unless the proxy itself requested
    # the generation of the 1xx response."
    assert [r.status for r in interim] == [103], interim
    assert interim[0].header("link") == "</a.css>; rel=preload"


@pytest.fixture
def isolated(make_echo, start_gantry):
    exact, wild, other, catch, p2b = (make_echo(n) for n in ("exact", "wild", "other", "catch", "p2"))
    snap = Snapshot()
    for e in (exact, wild, other, catch, p2b):
        snap.backend(e.name, [e])
    p = snap.http_port()
    # Listeners most specific first (ir.h): a request is matched only against the first listener
    # whose hostname matches its Host (Gateway API listener isolation).
    la = p.listener("a.example")
    la.route("/exact", "exact", hostname="a.example", match="Exact")
    lw = p.listener("*.wild.example")
    lw.route("/", "wild", hostname="*.wild.example")
    lc = p.listener("")
    lc.route("/only-here", "other")
    lc.route("/", "catch")
    p2 = snap.http_port()
    p2.route("/", "p2")
    start_gantry(snap)
    return p.port, p2.port


@pytest.mark.parametrize("host,target,expect", [
    ("a.example", "/exact", "exact"),
    ("a.example", "/exact/", 404),  # Exact: no prefix, no trailing-slash leniency
    ("a.example", "/exactly", 404),
    ("a.example", "/only-here", 404),  # isolation: the catch-all listener is not consulted
    ("x.wild.example", "/any", "wild"),
    ("y.x.wild.example", "/any", "wild"),  # a wildcard matches one or more labels
    ("wild.example", "/only-here", "other"),  # "*.wild.example" does not match wild.example
    ("b.example", "/", "catch"),
])
def test_listener_isolation_and_host_matching(isolated, host, target, expect):
    r = roundtrip(isolated[0], host=host, target=target)
    if expect == 404:
        assert r.status == 404 and r.header("x-echo-backend") is None
    else:
        assert r.status == 200 and r.header("x-echo-backend") == expect


def test_second_port_has_its_own_routes(isolated):
    r = roundtrip(isolated[1], host="a.example", target="/exact")
    assert r.status == 200 and r.header("x-echo-backend") == "p2"
