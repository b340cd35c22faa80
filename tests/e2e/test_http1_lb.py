"""Upstream selection: weighted round-robin across endpoints and across a rule's backends, retry of a
connection that was refused (never established) on another endpoint, and 503 when no endpoint can be
reached."""

import collections
import http.client
import time

import pytest

from backends.helpers import Blackhole, assert_short_error, roundtrip
from backends.snapshot import Snapshot, free_port


def _spread(port: int, n: int, connections: int = 8, path: str = "/lb", method: str = "GET",
            body: bytes | None = None) -> collections.Counter:
    """n requests over `connections` keep-alive connections; counts X-Echo-Backend per answer."""
    counts = collections.Counter()
    per = n // connections
    for _ in range(connections):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(per):
            c.request(method, path, body=body)
            r = c.getresponse()
            r.read()
            counts[r.getheader("x-echo-backend") or f"status {r.status}"] += 1
        c.close()
    return counts


def _sequence(port: int, n: int, path: str = "/lb") -> list:
    """n requests on ONE keep-alive connection (one worker, one cursor): who answered each."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    seq = []
    for _ in range(n):
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        seq.append(r.getheader("x-echo-backend") or f"status {r.status}")
    c.close()
    return seq


def _assert_ratio(counts, expected: dict, tolerance: float) -> None:
    total = sum(expected.values())
    n = sum(counts.values())
    for name, w in expected.items():
        want = n * w / total
        assert abs(counts[name] - want) <= tolerance * want + 1, \
            f"{name}: {counts[name]} of {n}, expected ~{want:.0f} (weights {expected}); {dict(counts)}"
    assert set(counts) <= set(expected), dict(counts)


def test_endpoint_weights(make_echo, start_gantry):
    e1, e2, e3 = make_echo("e1"), make_echo("e2"), make_echo("e3")
    snap = Snapshot()
    snap.backend("pool", [e1.endpoint(1), e2.endpoint(2), e3.endpoint(3)])
    p = snap.http_port()
    p.route("/", "pool")
    start_gantry(snap)
    counts = _spread(p.port, 1200)
    _assert_ratio(counts, {"e1": 1, "e2": 2, "e3": 3}, 0.25)


def test_round_robin_equal_weights_alternates(make_echo, start_gantry):
    a, b = make_echo("a"), make_echo("b")
    snap = Snapshot()
    snap.backend("pool", [a, b])
    p = snap.http_port()
    p.route("/", "pool")
    start_gantry(snap)
    # One connection = one worker, whose cursor walks the endpoints in turn: a b a b ...
    seq = _sequence(p.port, 40)
    assert all(x != y for x, y in zip(seq, seq[1:])), seq
    assert seq.count("a") == seq.count("b") == 20, seq


def test_endpoint_weights_are_smooth_on_one_connection(make_echo, start_gantry):
    # Weights 1:2:3 repeat with period 6 (upstream::WeightedPicker), so ANY 6 consecutive requests
    # of one worker hold exactly one, two and three of them: no bursts, whatever the start.
    e1, e2, e3 = make_echo("e1"), make_echo("e2"), make_echo("e3")
    snap = Snapshot()
    snap.backend("pool", [e1.endpoint(1), e2.endpoint(2), e3.endpoint(3)])
    p = snap.http_port()
    p.route("/", "pool")
    start_gantry(snap)
    seq = _sequence(p.port, 36)
    for i in range(len(seq) - 5):
        window = seq[i:i + 6]
        assert (window.count("e1"), window.count("e2"), window.count("e3")) == (1, 2, 3), seq


def test_backend_ref_weights(make_echo, start_gantry):
    a, b = make_echo("a"), make_echo("b")
    snap = Snapshot()
    snap.backend("a", [a])
    snap.backend("b", [b])
    p = snap.http_port()
    p.route("/", [("a", 1), ("b", 3)])
    start_gantry(snap)
    counts = _spread(p.port, 800)
    _assert_ratio(counts, {"a": 1, "b": 3}, 0.25)


def test_backend_ref_weight_zero_gets_no_traffic(make_echo, start_gantry):
    a, b = make_echo("a"), make_echo("b")
    snap = Snapshot()
    snap.backend("a", [a])
    snap.backend("b", [b])
    p = snap.http_port()
    p.route("/", [("a", 0), ("b", 1)])
    start_gantry(snap)
    counts = _spread(p.port, 64)
    assert counts == {"b": 64}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_refused_endpoint_retried_on_another(make_echo, start_gantry, method):
    live = make_echo("live")
    dead = free_port()  # nothing listens: connect() is refused, the request was never sent
    snap = Snapshot()
    snap.backend("pool", [("127.0.0.1", dead, 1), live.endpoint(1)])
    p = snap.http_port()
    p.route("/", "pool")
    start_gantry(snap)
    body = b"payload" if method == "POST" else None
    counts = _spread(p.port, 40, connections=4, method=method, body=body)
    assert counts == {"live": 40}, dict(counts)
    if method == "POST":
        assert all(r["body_len"] == 7 for r in live.requests)


def test_all_endpoints_refuse_503(start_gantry):
    snap = Snapshot()
    snap.backend("dead", [("127.0.0.1", free_port(), 1), ("127.0.0.1", free_port(), 1)])
    p = snap.http_port()
    p.route("/", "dead")
    start_gantry(snap)
    assert_short_error(roundtrip(p.port, target="/x"), 503)


def test_no_endpoints_503(start_gantry):
    snap = Snapshot()
    snap.backend("empty", [])
    p = snap.http_port()
    p.route("/", "empty")
    start_gantry(snap)
    assert_short_error(roundtrip(p.port, target="/x"), 503)


@pytest.fixture
def blackhole():
    b = Blackhole()
    yield b
    b.close()


def test_connect_timeout_503(start_gantry, blackhole):
    # The blackhole port never completes the TCP handshake.
    snap = Snapshot()
    snap.backend("blackhole", [("127.0.0.1", blackhole.port, 1)], connect_timeout_ms=300)
    p = snap.http_port()
    p.route("/", "blackhole")
    start_gantry(snap, args=["--upstream-connect-timeout-ms", "300"])
    t0 = time.monotonic()
    r = roundtrip(p.port, target="/x", timeout=15)
    elapsed = time.monotonic() - t0
    assert_short_error(r, 503)
    assert 0.25 <= elapsed < 3, f"connect timeout of 300 ms answered after {elapsed:.2f}s"


def test_connect_timeout_retried_on_another_endpoint(make_echo, start_gantry, blackhole):
    # A connect that timed out was never established either: the request can go elsewhere.
    live = make_echo("live")
    snap = Snapshot()
    snap.backend("pool", [("127.0.0.1", blackhole.port, 1), live.endpoint(1)],
                 connect_timeout_ms=300)
    p = snap.http_port()
    p.route("/", "pool")
    start_gantry(snap, args=["--upstream-connect-timeout-ms", "300"])
    counts = _spread(p.port, 8, connections=8)
    assert counts == {"live": 8}, dict(counts)


def test_invalid_backend_ref_500(make_echo, start_gantry):
    # ir.h: an empty WeightedBackend::backend is an invalid reference whose share gets HTTP 500.
    snap = Snapshot()
    p = snap.http_port()
    p.route("/", [("", 1)])
    start_gantry(snap)
    assert_short_error(roundtrip(p.port, target="/x"), 500)


def test_rule_direct_status(start_gantry):
    snap = Snapshot()
    p = snap.http_port()
    p.route("/", [], direct_status=500)
    start_gantry(snap)
    r = roundtrip(p.port, target="/x")
    assert r.status == 500 and r.complete
    assert r.header("x-echo-backend") is None
