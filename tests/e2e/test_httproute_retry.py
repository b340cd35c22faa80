"""HTTPRoute retry (Gateway API v1.6 HTTPRouteRetry): responses whose status is in `codes` are
retried, connection errors (refused, reset, closed) and backendRequest timeouts are retried whenever
a retry stanza is set, `attempts` counts retries (attempts=2: up to 3 requests), `backoff` is the
minimum wait; a retry prefers another endpoint; a request body is replayed when it fit in the 64 KiB
replay buffer, and a larger one is never retried. Mirrors conformance HTTPRouteRetry and
HTTPRouteRetryConnectionError, and asserts what each backend saw."""

from __future__ import annotations

import hashlib
import os
import time

import httpx

from backends.snapshot import Snapshot, free_port


def _client(port):
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)


def _one(make_echo, start_gantry, retry, **rule):
    echo = make_echo("echo")
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    p.route("/", "echo", retry=retry, **rule)
    start_gantry(snap)
    return echo, _client(p.port)


def _fail(n, key, how="500"):
    return {"x-echo-fail-times": str(n), "x-echo-fail-key": key, "x-echo-fail-with": how}


def test_retry_codes_and_attempts(make_echo, start_gantry):
    """Conformance HTTPRouteRetry, /retry/code-500-attempts-3 and /retry/code-all-attempts-2."""
    echo, c = _one(make_echo, start_gantry, {"codes": [500], "attempts": 3})
    r = c.get("/a", headers=_fail(2, "a"))
    assert r.status_code == 200 and echo.fail_counts["a"] == 3
    r = c.get("/b", headers=_fail(4, "b"))
    assert r.status_code == 500 and r.headers["x-echo-backend"] == "echo"  # the backend's answer
    assert echo.fail_counts["b"] == 4  # 1 request + 3 retries
    r = c.get("/c", headers=_fail(2, "c", "503"))  # 503 is not in codes: no retry
    assert r.status_code == 503 and echo.fail_counts["c"] == 1


def test_retry_all_5xx_codes(make_echo, start_gantry):
    echo, c = _one(make_echo, start_gantry, {"codes": [500, 502, 503, 504], "attempts": 2})
    for code in ("500", "502", "503", "504"):
        r = c.get("/ok", headers=_fail(1, "ok" + code, code))
        assert r.status_code == 200, (code, r.status_code)
        r = c.get("/ko", headers=_fail(3, "ko" + code, code))
        assert r.status_code == int(code), (code, r.status_code)
        assert echo.fail_counts["ko" + code] == 3


def test_retry_on_503_lands_on_the_other_endpoint(make_echo, start_gantry):
    bad = make_echo("bad", defaults={"x-echo-status": "503"})
    good = make_echo("good")
    snap = Snapshot()
    snap.backend("pool", [bad, good])
    p = snap.http_port()
    p.route("/", "pool", retry={"codes": [503], "attempts": 1})
    start_gantry(snap, workers=1)
    c = _client(p.port)
    for i in range(10):
        r = c.get(f"/r{i}")
        assert r.status_code == 200 and r.headers["x-echo-backend"] == "good"
    assert len(good.done_requests()) == 10
    # Round robin sends half of the first attempts to `bad`, each retried once on `good` (the retry
    # does not advance the round robin, so first attempts keep alternating).
    assert len(bad.done_requests()) == 5


def test_connection_errors_are_retried(make_echo, start_gantry):
    """Conformance HTTPRouteRetryConnectionError: resets are retried up to `attempts`; when they run
    out the client gets a 5xx from gantry."""
    echo, c = _one(make_echo, start_gantry, {"attempts": 3})
    r = c.get("/a", headers=_fail(2, "a", "reset"))
    assert r.status_code == 200 and echo.fail_counts["a"] == 3
    r = c.get("/b", headers=_fail(4, "b", "reset"))
    assert r.status_code in (500, 502, 503) and r.headers.get("x-echo-backend") is None
    assert echo.fail_counts["b"] == 4
    r = c.get("/c", headers=_fail(1, "c", "close"))  # closed without an answer
    assert r.status_code == 200


def test_refused_endpoint_retried_elsewhere(make_echo, start_gantry):
    good = make_echo("good")
    snap = Snapshot()
    snap.backend("pool", [("127.0.0.1", free_port()), good])  # nothing listens on the first
    p = snap.http_port()
    p.route("/", "pool", retry={"attempts": 1})
    start_gantry(snap)
    c = _client(p.port)
    assert all(c.get(f"/x{i}").status_code == 200 for i in range(6))


def test_request_body_is_replayed(make_echo, start_gantry):
    echo, c = _one(make_echo, start_gantry, {"codes": [503], "attempts": 2})
    body = os.urandom(40_000)
    r = c.post("/upload", content=body, headers=_fail(2, "up", "503"))
    assert r.status_code == 200
    rec = r.json()
    assert rec["body_len"] == len(body) and rec["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert echo.fail_counts["up"] == 3
    # Chunked request bodies are replayed too.
    r = c.post("/chunked", content=iter([body[:1000], body[1000:]]), headers=_fail(1, "ch", "503"))
    assert r.status_code == 200 and r.json()["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_large_body_is_not_retried(make_echo, start_gantry):
    """A body larger than the replay buffer (64 KiB) was streamed past what can be replayed: the
    failing answer goes to the client, the backend saw exactly one request."""
    echo, c = _one(make_echo, start_gantry, {"codes": [503], "attempts": 3})
    body = os.urandom(200_000)
    r = c.post("/big", content=body, headers=_fail(5, "big", "503"))
    assert r.status_code == 503
    assert echo.fail_counts["big"] == 1


def test_backoff_is_a_minimum(make_echo, start_gantry):
    echo, c = _one(make_echo, start_gantry, {"codes": [500], "attempts": 2, "backoff_ms": 200})
    t0 = time.monotonic()
    r = c.get("/b", headers=_fail(9, "b"))
    dt = time.monotonic() - t0
    assert r.status_code == 500 and echo.fail_counts["b"] == 3
    assert dt >= 0.55, f"two backoffs (200 ms, then 400 ms) took only {dt:.2f}s"


def test_no_retry_without_policy(make_echo, start_gantry):
    echo = make_echo("echo")
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    p.route("/", "echo")
    start_gantry(snap)
    r = _client(p.port).get("/n", headers=_fail(1, "n"))
    assert r.status_code == 500 and echo.fail_counts["n"] == 1


# --- HTTP/2 clients (h2c prior knowledge) to HTTP/1.1 backends: the same policy per stream. ---

def _h2(port):
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", http1=False, http2=True, timeout=10)


def test_h2_client_retry_codes_connection_errors_and_body(make_echo, start_gantry):
    echo = make_echo("echo")
    snap = Snapshot()
    snap.backend("echo", [echo])
    p = snap.http_port()
    p.route("/", "echo", retry={"codes": [500], "attempts": 2})
    start_gantry(snap)
    with _h2(p.port) as c:
        r = c.get("/a", headers=_fail(2, "h2a"))
        assert r.http_version == "HTTP/2"
        assert r.status_code == 200 and echo.fail_counts["h2a"] == 3
        r = c.get("/b", headers=_fail(5, "h2b"))
        assert r.status_code == 500 and echo.fail_counts["h2b"] == 3  # 1 request + 2 retries
        r = c.get("/c", headers=_fail(1, "h2c", "reset"))
        assert r.status_code == 200 and echo.fail_counts["h2c"] == 2
        body = os.urandom(40_000)
        r = c.post("/up", content=body, headers=_fail(2, "h2up"))
        assert r.status_code == 200 and echo.fail_counts["h2up"] == 3
        assert r.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
        big = os.urandom(200_000)  # past the replay bound: streamed, never retried
        r = c.post("/big", content=big, headers=_fail(5, "h2big"))
        assert r.status_code == 500 and echo.fail_counts["h2big"] == 1


def test_h2_client_refused_endpoint_retried_elsewhere(make_echo, start_gantry):
    good = make_echo("good")
    snap = Snapshot()
    snap.backend("pool", [("127.0.0.1", free_port()), good])
    p = snap.http_port()
    p.route("/", "pool", retry={"attempts": 1})
    start_gantry(snap)
    with _h2(p.port) as c:
        assert all(c.get(f"/x{i}").status_code == 200 for i in range(6))


# --- h2c backends (appProtocol kubernetes.io/h2c), from HTTP/1.1 and HTTP/2 clients. ---

import pytest  # noqa: E402

from backends.h2echo import H2EchoBackend  # noqa: E402


@pytest.fixture
def h2echo():
    made = []

    def _make(name="h2echo"):
        b = H2EchoBackend(name)
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


def _h2fail(n, key, how="500"):
    return {"x-h2-fail-times": str(n), "x-h2-fail-key": key, "x-h2-fail-with": how}


@pytest.mark.parametrize("http2", [False, True], ids=["h1-client", "h2-client"])
def test_h2c_backend_retry(h2echo, start_gantry, http2):
    b = h2echo()
    snap = Snapshot()
    snap.backend("h2", [b.endpoint()], app_protocol="H2C")
    p = snap.http_port()
    p.route("/", "h2", retry={"codes": [500, 503], "attempts": 2})
    start_gantry(snap)
    with httpx.Client(base_url=f"http://127.0.0.1:{p.port}", http1=not http2, http2=http2,
                      timeout=10) as c:
        r = c.get("/a", headers=_h2fail(2, "a"))
        assert r.status_code == 200 and b.fail_counts["a"] == 3
        r = c.get("/b", headers=_h2fail(5, "b", "503"))
        assert r.status_code == 503 and b.fail_counts["b"] == 3  # 1 request + 2 retries
        r = c.get("/c", headers=_h2fail(1, "c", "reset"))  # RST_STREAM: a connection error
        assert r.status_code == 200 and b.fail_counts["c"] == 2
        body = os.urandom(30_000)
        r = c.post("/up", content=body, headers=_h2fail(2, "up"))
        assert r.status_code == 200 and b.fail_counts["up"] == 3
        assert r.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
        big = os.urandom(150_000)  # past the replay bound: not retried
        r = c.post("/big", content=big, headers=_h2fail(3, "big"))
        assert r.status_code == 500 and b.fail_counts["big"] == 1


def test_h2c_backend_refused_endpoint_retried_elsewhere(h2echo, start_gantry):
    b = h2echo()
    snap = Snapshot()
    snap.backend("h2", [("127.0.0.1", free_port()), b.endpoint()], app_protocol="H2C")
    p = snap.http_port()
    p.route("/", "h2", retry={"attempts": 1})
    start_gantry(snap)
    for http2 in (False, True):
        with httpx.Client(base_url=f"http://127.0.0.1:{p.port}", http1=not http2, http2=http2,
                          timeout=10) as c:
            assert all(c.get(f"/x{i}").status_code == 200 for i in range(4))
