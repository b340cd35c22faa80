"""Request-target handling: path normalisation (RFC 3986 section 6.2.2: only unreserved %XX decoded,
dot segments removed, %2F %5C %23 %00 kept, no slash merging), one path used for both routing and
forwarding (the CVE-2019-9901 class), absolute-form targets (RFC 9112 section 3.2.2) and Host
validation (RFC 9112 section 3.2)."""

import re

import pytest

from backends.echo import header_values
from backends.helpers import conn, roundtrip, seen
from backends.rawhttp import request
from backends.snapshot import Snapshot


@pytest.fixture
def gw(make_echo, start_gantry):
    public, admin, abs_ = make_echo("public"), make_echo("admin"), make_echo("abs")
    snap = Snapshot()
    for e in (public, admin, abs_):
        snap.backend(e.name, [e])
    p = snap.http_port()
    p.route("/", "abs", hostname="abs.example")
    p.route("/admin", "admin")
    p.route("/", "public")
    start_gantry(snap)
    return p.port


def _hexcase(s: str) -> str:
    """Upper-cases the hex digits of escapes in the path (the query must be forwarded as is)."""
    path, q, query = s.partition("?")
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), path) + q + query


def _routes_to_admin(path: str) -> bool:
    path = path.split("?", 1)[0]
    return path == "/admin" or path.startswith("/admin/")


# (sent request-target, path the backend must receive, backend that must receive it)
CASES = [
    ("/a/./b/../c", "/a/c", "public"),
    ("/public/../admin/x", "/admin/x", "admin"),
    ("/public/a/../../../../admin", "/admin", "admin"),
    ("/admin/../public", "/public", "public"),
    ("/admin/./x", "/admin/x", "admin"),
    ("/%61dmin/x", "/admin/x", "admin"),  # %61 = 'a', unreserved: decoded
    ("/%2e%2e/admin", "/admin", "admin"),  # %2e = '.', decoded, then a dot segment
    ("/public/%2E%2E/admin/y", "/admin/y", "admin"),
    ("/public/%2e/x", "/public/x", "public"),
    ("/admin%2Fx", "/admin%2Fx", "public"),  # %2F stays: one segment "admin%2Fx"
    ("/public/..%2Fadmin", "/public/..%2Fadmin", "public"),  # "..%2Fadmin" is no dot segment
    ("/public/%2e%2e%2Fadmin", "/public/..%2Fadmin", "public"),
    ("/public/a%5C..%5Cadmin", "/public/a%5C..%5Cadmin", "public"),
    ("/public/%23frag", "/public/%23frag", "public"),
    ("/public/%00", "/public/%00", "public"),
    ("/public/%20sp", "/public/%20sp", "public"),  # space is not unreserved: stays encoded
    ("/public/x%2d%5f%7e%41", "/public/x-_~A", "public"),
    ("//admin/x", "//admin/x", "public"),  # slashes are not merged by default
    ("/admin", "/admin", "admin"),
    ("/adminx", "/adminx", "public"),
    ("/public/a/.", "/public/a/", "public"),
    ("/public/a/..", "/public/", "public"),
    ("/..", "/", "public"),
    ("/public/./a?x=/../admin&y=%2e%2E", "/public/a?x=/../admin&y=%2e%2E", "public"),  # query as is
]


@pytest.mark.parametrize("sent,expected,backend", CASES, ids=[c[0] for c in CASES])
def test_path_normalisation_routes_and_forwards_same_path(gw, sent, expected, backend):
    r = roundtrip(gw, target=sent, host="app.example")
    rec = seen(r)
    got = rec["target"]
    # The hex digits of a kept escape may be upper-cased (RFC 3986 section 6.2.2.1).
    assert _hexcase(got) == _hexcase(expected), f"{sent} forwarded as {got}, expected {expected}"
    assert r.header("x-echo-backend") == backend, f"{sent} routed to {r.header('x-echo-backend')}"
    # Whatever happened, the backend that got it must be the one its forwarded path routes to.
    assert (r.header("x-echo-backend") == "admin") == _routes_to_admin(got)


def test_lowercase_reserved_escape_kept(gw):
    rec = seen(roundtrip(gw, target="/public/a%2fb"))
    assert rec["target"] in ("/public/a%2fb", "/public/a%2Fb")


# ---------------------------------------------------------------------------------------------
# Absolute-form (RFC 9112 section 3.2.2).


def test_absolute_form_forwarded_as_origin_form(gw):
    r = roundtrip(gw, target="http://app.example/public/x?q=1", host="app.example")
    rec = seen(r)
    assert rec["target"] == "/public/x?q=1"
    assert header_values(rec["headers"], "host") == ["app.example"]


def test_absolute_form_authority_overrides_host(gw):
    # "the server MUST ignore the received Host header field ... and instead use the host
    # information of the request-target".
    r = roundtrip(gw, target="http://abs.example/y", host="other.example")
    assert r.header("x-echo-backend") == "abs"
    rec = seen(r)
    assert rec["target"] == "/y"
    assert header_values(rec["headers"], "host") == ["abs.example"]


def test_absolute_form_path_normalised(gw):
    r = roundtrip(gw, target="http://app.example/public/../admin/z", host="app.example")
    assert r.header("x-echo-backend") == "admin"
    assert seen(r)["target"] == "/admin/z"


# ---------------------------------------------------------------------------------------------
# Host validation (RFC 9112 section 3.2: 400 for a missing, repeated or invalid Host).


def _expect_400(port: int, raw: bytes) -> None:
    with conn(port) as c:
        c.send(raw)
        r = c.read_response(timeout=5)
    assert r.status == 400, f"expected 400, got {r.status}"
    assert r.header("x-echo-backend") is None


def test_missing_host_400(gw):
    _expect_400(gw, b"GET /public HTTP/1.1\r\nAccept: */*\r\n\r\n")


@pytest.mark.parametrize("second", ["app.example", "other.example"])
def test_duplicate_host_400(gw, second):
    _expect_400(gw, f"GET /public HTTP/1.1\r\nHost: app.example\r\nHost: {second}\r\n\r\n".encode())


@pytest.mark.parametrize("host", [
    # Not "": an empty Host is valid syntax (reg-name may be empty) and RFC 9112 section 3.3 then
    # uses the server's default name.
    "exa mple.example",
    "app.example/evil",
    "user@app.example",
    "app.example:80x",
    "app.example:80:80",
    "[::1",
    "app\\example",
    "app.example?x",
    "app.example#x",
    "a<b>.example",
])
def test_malformed_host_400(gw, host):
    _expect_400(gw, f"GET /public HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())


@pytest.mark.parametrize("host", ["app.example", "APP.example:8080", "127.0.0.1", "[::1]:8080",
                                  "xn--bcher-kva.example", "a-b_c.example"])
def test_valid_host_accepted(gw, host):
    r = roundtrip(gw, target="/public/ok", host=host)
    assert header_values(seen(r)["headers"], "host") == [host]


def test_http10_without_host_accepted(gw):
    # Host is required in HTTP/1.1 only (RFC 9112 section 3.2).
    with conn(gw) as c:
        c.send(b"GET /public/old HTTP/1.0\r\n\r\n")
        r = c.read_response()
    assert r.status == 200
