"""HTTPRoute timeouts (Gateway API v1.6 HTTPRouteTimeouts): `request` bounds the whole exchange
from gantry receiving the request to the response being complete, `backendRequest` bounds each
attempt to a backend; expiry before the response head -> 504; "0s" disables a timeout. Mirrors the
conformance tests HTTPRouteTimeoutRequest and HTTPRouteTimeoutBackendRequest with a real client
(httpx) and measures when the 504 arrives (generous bounds: the worker's timeout sweep runs every
10-100 ms and the machine is loaded)."""

from __future__ import annotations

import time

import httpx

from backends.snapshot import Snapshot


def _gantry(make_echo, start_gantry, **rules):
    """One echo backend; one PathPrefix rule per keyword (path "/<name>") with those fields."""
    echo = make_echo("echo")
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    for name, fields in rules.items():
        p.route("/" + name.replace("_", "-"), "echo", **fields)
    start_gantry(snap)
    return echo, httpx.Client(base_url=f"http://127.0.0.1:{p.port}", timeout=10)


def _timed(client, path, **kw):
    t0 = time.monotonic()
    r = client.get(path, **kw)
    return r, time.monotonic() - t0


def test_request_timeout(make_echo, start_gantry):
    echo, c = _gantry(make_echo, start_gantry,
                      request_timeout={"timeouts": {"request_ms": 500}},
                      disable_request_timeout={"timeouts": {"request_ms": 0}})
    r, _ = _timed(c, "/request-timeout")
    assert r.status_code == 200
    r, dt = _timed(c, "/request-timeout", headers={"x-echo-sleep-ms": "1500"})
    assert r.status_code == 504, r.text
    assert r.headers.get("x-echo-backend") is None
    assert 0.4 <= dt < 1.4, f"504 after {dt:.2f}s, request timeout 500ms"
    r, dt = _timed(c, "/disable-request-timeout", headers={"x-echo-sleep-ms": "1000"})
    assert r.status_code == 200 and dt >= 0.9


def test_backend_request_timeout(make_echo, start_gantry):
    echo, c = _gantry(make_echo, start_gantry,
                      backend_timeout={"timeouts": {"backend_request_ms": 500}},
                      disable_backend_timeout={"timeouts": {"backend_request_ms": 0}})
    assert _timed(c, "/backend-timeout")[0].status_code == 200
    r, dt = _timed(c, "/backend-timeout", headers={"x-echo-sleep-ms": "1500"})
    assert r.status_code == 504 and 0.4 <= dt < 1.4, (r.status_code, dt)
    r, _ = _timed(c, "/disable-backend-timeout", headers={"x-echo-sleep-ms": "1000"})
    assert r.status_code == 200
    # The connection that timed out is not reused for a later request: the next answer is right.
    r = c.get("/backend-timeout", params={"after": "1"})
    assert r.status_code == 200 and r.json()["target"] == "/backend-timeout?after=1"


def test_request_timeout_covers_the_response_body(make_echo, start_gantry):
    """The request timeout spans until the response is complete: a body still streaming when it
    expires is cut (the client sees a truncated message, never a complete wrong one)."""
    echo, c = _gantry(make_echo, start_gantry, slow_body={"timeouts": {"request_ms": 600}})
    t0 = time.monotonic()
    try:
        r = c.get("/slow-body", headers={"x-echo-response-bytes": "100000",
                                         "x-echo-pause-after": "1000", "x-echo-pause-ms": "3000"})
        truncated = len(r.content) < 100000
    except httpx.HTTPError:
        truncated = True
    assert truncated
    assert time.monotonic() - t0 < 2.5


def test_request_timeout_bounds_all_retries(make_echo, start_gantry):
    """With retries, the request timeout bounds all attempts and backoffs together (conformance
    HTTPRouteRetryWithTimeouts: 'fails with 504 when retry delays exceed the request timeout')."""
    echo, c = _gantry(make_echo, start_gantry, retry={
        "timeouts": {"request_ms": 400, "backend_request_ms": 200},
        "retry": {"codes": [500], "attempts": 5}})
    fail = {"x-echo-fail-times": "4", "x-echo-fail-delay-ms": "150", "x-echo-fail-key": "a"}
    r, dt = _timed(c, "/retry", headers=fail)
    assert r.status_code == 504 and dt < 1.2, (r.status_code, dt)
    # Succeeds when the retries fit in the budget.
    r, dt = _timed(c, "/retry", headers={"x-echo-fail-times": "1", "x-echo-fail-key": "b"})
    assert r.status_code == 200, r.text


def test_backend_request_timeout_per_attempt_is_retried(make_echo, start_gantry):
    """backendRequest bounds each attempt; an attempt that times out is retried (conformance:
    'succeeds after 2 retries on backend timeout with max attempts 3'), and 504 when attempts run
    out."""
    echo, c = _gantry(make_echo, start_gantry, retry={
        "timeouts": {"backend_request_ms": 300}, "retry": {"attempts": 2}})
    slow = {"x-echo-fail-with": "500", "x-echo-fail-delay-ms": "1000"}
    r, dt = _timed(c, "/retry", headers={**slow, "x-echo-fail-times": "2", "x-echo-fail-key": "a"})
    assert r.status_code == 200, r.text
    assert 0.5 <= dt < 2.5, dt
    assert echo.fail_counts["a"] == 3
    r, dt = _timed(c, "/retry", headers={**slow, "x-echo-fail-times": "3", "x-echo-fail-key": "b"})
    assert r.status_code == 504 and dt < 2.5, (r.status_code, dt)
    assert echo.wait_for(lambda e: e.fail_counts.get("b") == 3, 2)


# --- HTTP/2 clients (h2c prior knowledge) to HTTP/1.1 backends. ---

def test_h2_client_request_and_backend_timeouts(make_echo, start_gantry):
    echo = make_echo("echo")
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    p.route("/request", "echo", timeouts={"request_ms": 500})
    p.route("/backend", "echo", timeouts={"backend_request_ms": 500})
    p.route("/retry", "echo", timeouts={"backend_request_ms": 300}, retry={"attempts": 2})
    p.route("/body", "echo", timeouts={"request_ms": 600})
    start_gantry(snap)
    with httpx.Client(base_url=f"http://127.0.0.1:{p.port}", http1=False, http2=True,
                      timeout=10) as c:
        assert c.get("/request").status_code == 200
        for path in ("/request", "/backend"):
            r, dt = _timed(c, path, headers={"x-echo-sleep-ms": "1500"})
            assert r.http_version == "HTTP/2"
            assert r.status_code == 504 and 0.4 <= dt < 1.4, (path, r.status_code, dt)
        slow = {"x-echo-fail-with": "500", "x-echo-fail-delay-ms": "1000"}
        r, dt = _timed(c, "/retry", headers={**slow, "x-echo-fail-times": "2",
                                              "x-echo-fail-key": "h2"})
        assert r.status_code == 200 and echo.fail_counts["h2"] == 3, (r.status_code, dt)
        # The request timeout spans the response body: a stalled body is cut (stream reset).
        t0 = time.monotonic()
        try:
            r = c.get("/body", headers={"x-echo-response-bytes": "100000",
                                        "x-echo-pause-after": "1000", "x-echo-pause-ms": "3000"})
            truncated = len(r.content) < 100000
        except httpx.HTTPError:
            truncated = True
        assert truncated and time.monotonic() - t0 < 2.5
        assert c.get("/request").status_code == 200  # the connection is still fine


# --- h2c backends (appProtocol kubernetes.io/h2c), from HTTP/1.1 and HTTP/2 clients. ---

def test_h2c_backend_timeouts_and_retried_attempt(start_gantry):
    from backends.h2echo import H2EchoBackend

    b = H2EchoBackend("h2")
    try:
        snap = Snapshot()
        snap.backend("h2", [b.endpoint()], app_protocol="H2C")
        p = snap.http_port()
        p.route("/request", "h2", timeouts={"request_ms": 500})
        p.route("/backend", "h2", timeouts={"backend_request_ms": 500})
        p.route("/retry", "h2", timeouts={"backend_request_ms": 400}, retry={"attempts": 2})
        start_gantry(snap)
        for http2 in (False, True):
            with httpx.Client(base_url=f"http://127.0.0.1:{p.port}", http1=not http2,
                              http2=http2, timeout=10) as c:
                for path in ("/request", "/backend"):
                    assert c.get(path).status_code == 200
                    r, dt = _timed(c, path, headers={"x-h2-sleep-ms": "1500"})
                    assert r.status_code == 504 and 0.4 <= dt < 1.4, (http2, path, r.status_code,
                                                                       dt)
                # Every attempt times out: 3 attempts of 400 ms, then 504.
                n0 = len(b.requests)
                r, dt = _timed(c, "/retry", headers={"x-h2-sleep-ms": "1500"})
                assert r.status_code == 504 and 1.0 <= dt < 2.8, (http2, r.status_code, dt)
                assert len(b.requests) - n0 == 3
    finally:
        b.close()
