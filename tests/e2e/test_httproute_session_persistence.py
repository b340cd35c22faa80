"""HTTPRoute sessionPersistence (Gateway API v1.6 SessionPersistence): gantry hands the client an
opaque token naming the endpoint that served it (a cookie, or a header), and requests carrying a
valid token go to that endpoint while it exists. Absolute and idle timeouts end a session;
Permanent cookies carry Max-Age, Session cookies do not; a tampered token is ignored."""

from __future__ import annotations

import base64
import collections
import time

import httpx

from backends.snapshot import Snapshot


def _setup(make_echo, start_gantry, sp, n=3):
    echoes = [make_echo(f"e{i}") for i in range(n)]
    snap = Snapshot()
    snap.backend("pool", echoes)
    p = snap.http_port()
    p.route("/", "pool", session_persistence=sp)
    g = start_gantry(snap, workers=1)
    return echoes, snap, p, g


def _times(token):
    """(created, last used) seconds inside a token (readable, but covered by its MAC)."""
    raw = base64.urlsafe_b64decode(token)
    return int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")


def _url(p, path="/"):
    return f"http://127.0.0.1:{p.port}{path}"


def test_cookie_pins_the_endpoint(make_echo, start_gantry):
    echoes, snap, p, g = _setup(make_echo, start_gantry, {"type": "Cookie", "name": "gsess"})
    with httpx.Client(timeout=10) as c:  # keeps cookies like a browser
        r = c.get(_url(p))
        first = r.headers["x-echo-backend"]
        sc = r.headers["set-cookie"]
        assert sc.startswith("gsess=") and "Path=/" in sc and "HttpOnly" in sc
        assert "Max-Age" not in sc and "Expires" not in sc  # a session cookie
        token = c.cookies["gsess"]
        for e in echoes:  # opaque: no address or port in it
            assert str(e.port) not in token
        assert "127.0.0.1" not in token
        for _ in range(12):
            r = c.get(_url(p, "/again"))
            assert r.headers["x-echo-backend"] == first
            assert "set-cookie" not in r.headers  # still valid, nothing to refresh
    # Without the cookie, round robin spreads requests.
    spread = collections.Counter(httpx.get(_url(p)).headers["x-echo-backend"] for _ in range(9))
    assert len(spread) == 3


def test_tampered_cookie_starts_a_new_session(make_echo, start_gantry):
    echoes, snap, p, g = _setup(make_echo, start_gantry, {"type": "Cookie", "name": "gsess"})
    r = httpx.get(_url(p))
    token = r.cookies["gsess"]
    bad = token[:-1] + ("A" if token[-1] != "A" else "B")
    r2 = httpx.get(_url(p), headers={"cookie": f"other=1; gsess={bad}"})
    assert r2.status_code == 200
    assert r2.cookies.get("gsess") not in (None, bad)
    # The real token still works, among other cookies.
    first = r.headers["x-echo-backend"]
    for _ in range(4):
        r3 = httpx.get(_url(p), headers={"cookie": f"a=b; gsess={token}; c=d"})
        assert r3.headers["x-echo-backend"] == first


def test_header_type(make_echo, start_gantry):
    echoes, snap, p, g = _setup(make_echo, start_gantry, {"type": "Header", "name": "x-session"})
    r = httpx.get(_url(p))
    token = r.headers["x-session"]
    first = r.headers["x-echo-backend"]
    for _ in range(8):
        r = httpx.get(_url(p), headers={"x-session": token})
        assert r.headers["x-echo-backend"] == first
        assert r.headers["x-session"] == token


def test_permanent_cookie_and_absolute_timeout(make_echo, start_gantry):
    echoes, snap, p, g = _setup(make_echo, start_gantry, {
        "type": "Cookie", "name": "gsess", "permanent_cookie": True, "absolute_timeout_s": 2})
    r = httpx.get(_url(p))
    assert "Max-Age=2" in r.headers["set-cookie"]
    token = r.cookies["gsess"]
    first = r.headers["x-echo-backend"]
    r = httpx.get(_url(p), headers={"cookie": f"gsess={token}"})
    assert r.headers["x-echo-backend"] == first and "set-cookie" not in r.headers
    time.sleep(3.1)  # the session is over: the old token is not honoured, a new one is issued
    r = httpx.get(_url(p), headers={"cookie": f"gsess={token}"})
    assert r.cookies.get("gsess") not in (None, token)
    assert _times(r.cookies["gsess"])[0] > _times(token)[0]


def test_idle_timeout_refreshes_and_expires(make_echo, start_gantry):
    """Token times have a resolution of one second: the sleeps leave a second of margin."""
    echoes, snap, p, g = _setup(make_echo, start_gantry, {
        "type": "Header", "name": "x-session", "idle_timeout_s": 3})
    r = httpx.get(_url(p))
    token = r.headers["x-session"]
    first = r.headers["x-echo-backend"]
    time.sleep(1.5)
    r = httpx.get(_url(p), headers={"x-session": token})
    assert r.headers["x-echo-backend"] == first
    refreshed = r.headers["x-session"]
    time.sleep(1.8)  # 3.3 s after the first use, 1.8 s after the refresh: still valid
    r = httpx.get(_url(p), headers={"x-session": refreshed})
    assert r.headers["x-echo-backend"] == first
    last = r.headers["x-session"]
    created = _times(token)[0]
    assert _times(refreshed)[0] == created and _times(last)[0] == created  # the same session
    assert _times(last)[1] > _times(token)[1]  # ... whose last use moved
    time.sleep(4.1)
    r = httpx.get(_url(p), headers={"x-session": last})
    assert _times(r.headers["x-session"])[0] > created  # idle too long: a new session


def test_session_moves_when_its_endpoint_is_down(make_echo, start_gantry):
    """The session's endpoint stops accepting connections: the request is served by another
    endpoint, and the client gets a new session naming it."""
    echoes, snap, p, g = _setup(make_echo, start_gantry, {"type": "Cookie", "name": "gsess"})
    r = httpx.get(_url(p))
    token, first = r.cookies["gsess"], r.headers["x-echo-backend"]
    next(e for e in echoes if e.name == first).close()
    r = httpx.get(_url(p), headers={"cookie": f"gsess={token}"})
    assert r.status_code == 200 and r.headers["x-echo-backend"] != first
    new = r.cookies["gsess"]
    assert new != token
    second = r.headers["x-echo-backend"]
    for _ in range(4):
        assert httpx.get(_url(p), headers={"cookie": f"gsess={new}"}).headers[
            "x-echo-backend"] == second


# --- HTTP/2 clients (h2c prior knowledge) to HTTP/1.1 backends. ---

def _h2():
    return httpx.Client(http1=False, http2=True, timeout=10)


def test_h2_client_cookie_and_header_sessions(make_echo, start_gantry):
    echoes, snap, p, g = _setup(make_echo, start_gantry, {"type": "Cookie", "name": "gsess"})
    with _h2() as c:
        r = c.get(_url(p))
        assert r.http_version == "HTTP/2"
        first = r.headers["x-echo-backend"]
        assert r.headers["set-cookie"].startswith("gsess=")
        token = c.cookies["gsess"]
        for _ in range(8):
            r = c.get(_url(p, "/again"))
            assert r.headers["x-echo-backend"] == first and "set-cookie" not in r.headers
        # The same token works on HTTP/1.1 too (one token format for every protocol).
        r = httpx.get(_url(p), headers={"cookie": f"gsess={token}"})
        assert r.headers["x-echo-backend"] == first
    with _h2() as c:  # without the cookie: round robin
        spread = collections.Counter()
        for _ in range(9):
            c.cookies.clear()
            spread[c.get(_url(p)).headers["x-echo-backend"]] += 1
        assert len(spread) == 3


def test_h2_client_header_session(make_echo, start_gantry):
    echoes, snap, p, g = _setup(make_echo, start_gantry, {"type": "Header", "name": "x-session"})
    with _h2() as c:
        r = c.get(_url(p))
        token, first = r.headers["x-session"], r.headers["x-echo-backend"]
        for _ in range(6):
            r = c.get(_url(p), headers={"x-session": token})
            assert r.headers["x-echo-backend"] == first and r.headers["x-session"] == token


# --- h2c backends (appProtocol kubernetes.io/h2c), from HTTP/1.1 and HTTP/2 clients. ---

def test_h2c_backend_cookie_session(start_gantry):
    from backends.h2echo import H2EchoBackend

    bs = [H2EchoBackend(f"h{i}") for i in range(3)]
    try:
        snap = Snapshot()
        snap.backend("pool", [b.endpoint() for b in bs], app_protocol="H2C")
        p = snap.http_port()
        p.route("/", "pool", session_persistence={"type": "Cookie", "name": "gsess"})
        start_gantry(snap, workers=1)
        for http2 in (False, True):
            with httpx.Client(http1=not http2, http2=http2, timeout=10) as c:
                r = c.get(_url(p))
                first = r.headers["x-backend"]
                assert r.headers["set-cookie"].startswith("gsess=")
                for _ in range(6):
                    r = c.get(_url(p, "/again"))
                    assert r.headers["x-backend"] == first and "set-cookie" not in r.headers
                spread = collections.Counter()
                for _ in range(9):
                    c.cookies.clear()
                    spread[c.get(_url(p)).headers["x-backend"]] += 1
                assert len(spread) == 3
    finally:
        for b in bs:
            b.close()
