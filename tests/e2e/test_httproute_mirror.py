"""HTTPRoute RequestMirror (Gateway API v1.6 HTTPRequestMirrorFilter): copies of requests go to the
mirror backend(s), fire-and-forget; responses are discarded; percent and fraction sample requests;
a slow, stuck or dead mirror never slows or fails the primary request. Request bodies up to 64 KiB
are mirrored whole; larger ones are not mirrored. Mirrors conformance HTTPRouteRequestMirror,
HTTPRouteRequestMultipleMirrors and HTTPRouteRequestPercentageMirror, asserting what each backend
saw."""

from __future__ import annotations

import hashlib
import os
import time

import httpx

from backends.snapshot import Snapshot, free_port


def _mirror(backend, percent=None, fraction=None):
    m = {"backend": backend}
    if percent is not None:
        m.update(numerator=percent, denominator=100)
    if fraction is not None:
        m.update(numerator=fraction[0], denominator=fraction[1])
    return {"type": "RequestMirror", "mirror": m}


def _setup(make_echo, start_gantry, mirror_names, filters, mirror_defaults=None, **rule):
    primary = make_echo("primary")
    mirrors = {n: make_echo(n, defaults=mirror_defaults) for n in mirror_names}
    snap = Snapshot()
    snap.backend("primary", [primary])
    for n, e in mirrors.items():
        snap.backend(n, [e])
    p = snap.http_port()
    p.route("/", "primary", filters=filters, **rule)
    return primary, mirrors, snap, p


def _client(p):
    return httpx.Client(base_url=f"http://127.0.0.1:{p.port}", timeout=10)


def test_mirror_sees_every_request(make_echo, start_gantry):
    primary, m, snap, p = _setup(make_echo, start_gantry, ["m1"], [_mirror("m1")])
    start_gantry(snap)
    c = _client(p)
    for i in range(10):
        r = c.get(f"/mirror?i={i}", headers={"x-test": "yes"})
        assert r.status_code == 200 and r.headers["x-echo-backend"] == "primary"
    assert m["m1"].wait_for(lambda e: len(e.done_requests()) == 10, 5)
    got = sorted(r["target"] for r in m["m1"].done_requests())
    assert got == sorted(f"/mirror?i={i}" for i in range(10))
    rec = m["m1"].done_requests()[0]
    assert ["x-test", "yes"] in [[n.lower(), v] for n, v in rec["headers"]]
    assert len(primary.done_requests()) == 10


def test_multiple_mirrors(make_echo, start_gantry):
    primary, m, snap, p = _setup(make_echo, start_gantry, ["m1", "m2"],
                                 [_mirror("m1"), _mirror("m2")])
    start_gantry(snap)
    c = _client(p)
    for i in range(5):
        assert c.get(f"/multi-mirror/{i}").status_code == 200
    for name in ("m1", "m2"):
        assert m[name].wait_for(lambda e: len(e.done_requests()) == 5, 5), name


def test_percentage_and_fraction(make_echo, start_gantry):
    primary, m, snap, p = _setup(make_echo, start_gantry, ["half", "quarter", "none"],
                                 [_mirror("half", percent=50), _mirror("quarter", fraction=(1, 4)),
                                  _mirror("none", percent=0)])
    start_gantry(snap)
    c = _client(p)
    n = 400
    for i in range(n):
        assert c.get(f"/p/{i}").status_code == 200
    time.sleep(0.5)
    m["half"].wait_for(lambda e: len(e.done_requests()) >= 150, 5)
    half, quarter = len(m["half"].done_requests()), len(m["quarter"].done_requests())
    # Binomial(400, p): mean +- ~5 sigma.
    assert 150 <= half <= 250, half
    assert 60 <= quarter <= 140, quarter
    assert len(m["none"].requests) == 0


def test_stuck_mirror_does_not_hold_the_client(make_echo, start_gantry):
    primary, m, snap, p = _setup(make_echo, start_gantry, ["stuck"], [_mirror("stuck")],
                                 mirror_defaults={"x-echo-sleep-ms": "5000"})
    start_gantry(snap)
    c = _client(p)
    t0 = time.monotonic()
    for i in range(5):
        assert c.get(f"/s/{i}").status_code == 200
    assert time.monotonic() - t0 < 2.0
    assert m["stuck"].wait_for(lambda e: len(e.requests) == 5, 5)


def test_dead_or_failing_mirror_does_not_fail_the_primary(make_echo, start_gantry):
    primary = make_echo("primary")
    failing = make_echo("failing", defaults={"x-echo-mode": "reset"})
    snap = Snapshot()
    snap.backend("primary", [primary])
    snap.backend("dead", [("127.0.0.1", free_port())])
    snap.backend("failing", [failing])
    p = snap.http_port()
    p.route("/", "primary", filters=[_mirror("dead"), _mirror("failing")])
    start_gantry(snap)
    c = _client(p)
    for i in range(5):
        r = c.get(f"/d/{i}")
        assert r.status_code == 200 and r.headers["x-echo-backend"] == "primary"
    assert failing.wait_for(lambda e: len(e.requests) == 5, 5)


def test_request_body_mirrored_when_it_fits(make_echo, start_gantry):
    primary, m, snap, p = _setup(make_echo, start_gantry, ["m1"], [_mirror("m1")])
    start_gantry(snap)
    c = _client(p)
    body = os.urandom(30_000)
    r = c.post("/upload", content=body)
    assert r.status_code == 200 and r.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert m["m1"].wait_for(lambda e: len(e.done_requests()) == 1, 5)
    rec = m["m1"].done_requests()[0]
    assert rec["method"] == "POST" and rec["body_sha256"] == hashlib.sha256(body).hexdigest()
    # Larger than the replay buffer: forwarded to the primary, not mirrored.
    big = os.urandom(150_000)
    r = c.post("/big", content=big)
    assert r.status_code == 200 and r.json()["body_len"] == len(big)
    time.sleep(0.3)
    assert [x["target"] for x in m["m1"].requests] == ["/upload"]


def test_mirror_with_header_modifier_on_backend_ref(make_echo, start_gantry):
    """A RequestMirror on a backendRef mirrors only the requests sent to that backendRef."""
    a, b, mirror = make_echo("a"), make_echo("b"), make_echo("m")
    snap = Snapshot()
    snap.backend("a", [a])
    snap.backend("b", [b])
    snap.backend("m", [mirror])
    p = snap.http_port()
    p.route("/", [("a", 1), ("b", 1)])
    p.listeners[0].d["rules"][0]["backends"][0]["filters"] = [_mirror("m")]
    start_gantry(snap, workers=1)
    c = _client(p)
    for i in range(10):
        assert c.get(f"/w/{i}").status_code == 200
    assert mirror.wait_for(lambda e: len(e.done_requests()) == len(a.done_requests()), 5)
    assert {x["target"] for x in mirror.done_requests()} == {x["target"] for x in a.done_requests()}
    assert len(a.done_requests()) == 5


def test_mirror_and_modify_headers(make_echo, start_gantry):
    """Conformance /mirror-and-modify-headers: the mirror gets the request as modified by the
    rule's RequestHeaderModifier, exactly like the primary backend."""
    modifier = {"type": "RequestHeaderModifier", "header_modifier": {
        "set": [{"name": "X-Header-Set", "value": "set-overwrites-values"}],
        "add": [{"name": "X-Header-Add", "value": "header-val-1"},
                {"name": "X-Header-Add-Append", "value": "header-val-2"}],
        "remove": ["x-header-remove"]}}
    primary, m, snap, p = _setup(make_echo, start_gantry, ["m1", "m2"],
                                 [modifier, _mirror("m1"), _mirror("m2")])
    start_gantry(snap)
    r = _client(p).get("/mirror-and-modify-headers", headers={
        "X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1",
        "X-Header-Set": "original"})
    assert r.status_code == 200

    def fields(rec):
        out = {}
        for n, v in rec["headers"]:
            out.setdefault(n.lower(), []).append(v)
        return out

    want = fields(primary.done_requests()[0])
    assert want["x-header-set"] == ["set-overwrites-values"]
    assert want["x-header-add"] == ["header-val-1"]
    assert ",".join(want["x-header-add-append"]).replace(" ", "") == "append-val-1,header-val-2"
    assert "x-header-remove" not in want
    for name in ("m1", "m2"):
        assert m[name].wait_for(lambda e: len(e.done_requests()) == 1, 5), name
        assert fields(m[name].done_requests()[0]) == want, name


# --- HTTP/2 clients (h2c prior knowledge) to HTTP/1.1 backends. ---

def test_h2_client_requests_are_mirrored(make_echo, start_gantry):
    primary, m, snap, p = _setup(make_echo, start_gantry, ["m1"], [_mirror("m1")])
    start_gantry(snap)
    body = os.urandom(30_000)
    with httpx.Client(base_url=f"http://127.0.0.1:{p.port}", http1=False, http2=True,
                      timeout=10) as c:
        for i in range(5):
            r = c.get(f"/h2?i={i}", headers={"x-test": "h2"})
            assert r.http_version == "HTTP/2"
            assert r.status_code == 200 and r.headers["x-echo-backend"] == "primary"
        r = c.post("/h2-post", content=body)
        assert r.status_code == 200 and r.json()["body_len"] == len(body)
    assert m["m1"].wait_for(lambda e: len(e.done_requests()) == 6, 5)
    recs = m["m1"].done_requests()
    assert sorted(r["target"] for r in recs if r["method"] == "GET") == sorted(
        f"/h2?i={i}" for i in range(5))
    post = [r for r in recs if r["method"] == "POST"][0]
    assert post["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_h2_client_not_slowed_by_a_stuck_mirror(make_echo, start_gantry):
    primary, m, snap, p = _setup(make_echo, start_gantry, ["slow"], [_mirror("slow")],
                                 mirror_defaults={"x-echo-sleep-ms": "3000"})
    start_gantry(snap)
    with httpx.Client(base_url=f"http://127.0.0.1:{p.port}", http1=False, http2=True,
                      timeout=10) as c:
        t0 = time.monotonic()
        for i in range(4):
            assert c.get(f"/q{i}").status_code == 200
        assert time.monotonic() - t0 < 2.0


# --- h2c primary and mirror backends (appProtocol kubernetes.io/h2c). ---

def test_h2c_primary_mirrored_to_h2c_and_http1_backends(make_echo, start_gantry):
    from backends.h2echo import H2EchoBackend

    primary, m2 = H2EchoBackend("primary"), H2EchoBackend("m2")
    try:
        m1 = make_echo("m1")
        snap = Snapshot()
        snap.backend("primary", [primary.endpoint()], app_protocol="H2C")
        snap.backend("m2", [m2.endpoint()], app_protocol="H2C")
        snap.backend("m1", [m1])
        p = snap.http_port()
        p.route("/", "primary", filters=[_mirror("m1"), _mirror("m2")])
        start_gantry(snap)
        body = os.urandom(20_000)
        for http2 in (False, True):
            with httpx.Client(base_url=f"http://127.0.0.1:{p.port}", http1=not http2,
                              http2=http2, timeout=10) as c:
                r = c.get(f"/get-{int(http2)}", headers={"x-test": "m"})
                assert r.status_code == 200 and r.headers["x-backend"] == "primary"
                r = c.post(f"/post-{int(http2)}", content=body)
                assert r.status_code == 200 and r.json()["body_len"] == len(body)
        want = {"/get-0", "/get-1", "/post-0", "/post-1"}
        assert m1.wait_for(lambda e: {r["target"] for r in e.done_requests()} == want, 5)
        deadline = time.monotonic() + 5
        while {r["path"] for r in m2.requests} != want and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {r["path"] for r in m2.requests} == want
        for rec in m2.requests:
            if rec["path"].startswith("/post"):
                assert rec["body_sha256"] == hashlib.sha256(body).hexdigest()
            else:
                assert ["x-test", "m"] in rec["headers"]
        for rec in m1.done_requests():
            if rec["target"].startswith("/post"):
                assert rec["body_sha256"] == hashlib.sha256(body).hexdigest()
        assert len(primary.requests) == 4
    finally:
        primary.close()
        m2.close()


def test_http1_primary_mirrored_to_h2c_backend(make_echo, start_gantry):
    """A request to an HTTP/1.1 primary is mirrored to an h2c mirror backend as an HTTP/2 stream
    (the mirror backend speaks only HTTP/2), from HTTP/1.1 and HTTP/2 clients; chunked bodies
    are de-framed."""
    from backends.h2echo import H2EchoBackend

    m2 = H2EchoBackend("m2")
    try:
        primary = make_echo("primary")
        snap = Snapshot()
        snap.backend("primary", [primary])
        snap.backend("m2", [m2.endpoint()], app_protocol="H2C")
        p = snap.http_port()
        p.route("/", "primary", filters=[_mirror("m2")])
        start_gantry(snap)
        body = os.urandom(10_000)
        for http2 in (False, True):
            v = int(http2)
            with httpx.Client(base_url=f"http://127.0.0.1:{p.port}", http1=not http2,
                              http2=http2, timeout=10) as c:
                r = c.get(f"/g{v}", headers={"x-test": "h2m"})
                assert r.headers["x-echo-backend"] == "primary"
                assert c.post(f"/p{v}", content=body).status_code == 200
                r = c.post(f"/c{v}", content=iter([body[:3000], body[3000:]]))
                assert r.status_code == 200
        want = {f"/{k}{v}" for k in "gpc" for v in (0, 1)}
        deadline = time.monotonic() + 5
        while len(m2.requests) < len(want) and time.monotonic() < deadline:
            time.sleep(0.05)
        got = {r["path"]: r for r in m2.requests}
        assert set(got) == want
        for v in (0, 1):
            assert ["x-test", "h2m"] in got[f"/g{v}"]["headers"]
            assert got[f"/g{v}"]["authority"].startswith("127.0.0.1")
            for k in "pc":
                assert got[f"/{k}{v}"]["method"] == "POST"
                assert got[f"/{k}{v}"]["body_sha256"] == hashlib.sha256(body).hexdigest()
    finally:
        m2.close()
