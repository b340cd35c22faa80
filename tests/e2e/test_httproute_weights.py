"""HTTPRoute backendRef weights through the control plane (issue 4 "Backends"): a 90/10 canary split
over 10,000 requests lands within +/-2 percentage points of the weights; weight 0 gets nothing;
all-zero and all-invalid backendRefs give HTTP 500 (HTTPBackendRef: "If all entries in
BackendRefs are invalid, and there are also no filters specified in this route rule, all traffic
which matches this rule MUST receive a 500 status code")."""

from __future__ import annotations

import collections
import http.client
import json
import threading

from cp_helpers import Setup, find_condition, http_route, served_by, wait_until


def _count(port: int, host: str, total: int, connections: int = 4) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    lock = threading.Lock()
    errors: list = []

    def worker(n: int) -> None:
        local: collections.Counter = collections.Counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for _ in range(n):
                c.request("GET", "/", headers={"Host": host})
                r = c.getresponse()
                body = r.read()
                local[json.loads(body)["backend"] if r.status == 200 else r.status] += 1
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=worker, args=(total // connections,))
               for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return counts


def test_canary_90_10_over_10000_requests(tmp_path, start_gantry, make_echo):
    stable, canary = make_echo("stable"), make_echo("canary")
    route = http_route("split", hostnames=["shop.example"],
                       rules=[{"path": "/", "backends": [("stable", 90), ("canary", 10)]}])
    s = Setup(tmp_path, start_gantry, [stable, canary], route=route)
    wait_until(lambda: served_by(s.port, "shop.example") is not None, what="route")
    counts = _count(s.port, "shop.example", 10_000)
    assert sum(counts.values()) == 10_000 and set(counts) == {"stable", "canary"}, counts
    share = counts["canary"] / 10_000
    assert abs(share - 0.10) <= 0.02, counts
    assert abs(counts["stable"] / 10_000 - 0.90) <= 0.02, counts


def test_weight_zero_gets_nothing(tmp_path, start_gantry, make_echo):
    a, b = make_echo("a"), make_echo("b")
    route = http_route("z", rules=[{"path": "/", "backends": [("a", 0), ("b", 5)]}])
    s = Setup(tmp_path, start_gantry, [a, b], route=route)
    wait_until(lambda: served_by(s.port, "any.example") is not None, what="route")
    counts = _count(s.port, "any.example", 400)
    assert counts == {"b": 400}, counts


def test_all_zero_weights_500(tmp_path, start_gantry, make_echo):
    a, b = make_echo("a"), make_echo("b")
    route = http_route("z", rules=[{"path": "/", "backends": [("a", 0), ("b", 0)]}])
    s = Setup(tmp_path, start_gantry, [a, b], route=route)
    wait_until(lambda: _count(s.port, "any.example", 4, connections=1) == {500: 4},
               what="500 for all-zero weights")
    assert not a.requests and not b.requests


def test_all_invalid_backend_refs_500(tmp_path, start_gantry, make_echo):
    a = make_echo("a")
    route = http_route("bad", rules=[{"path": "/", "backends": [("missing-1", 1),
                                                                ("missing-2", 3)]}])
    s = Setup(tmp_path, start_gantry, [a], route=route)
    wait_until(lambda: _count(s.port, "any.example", 8, connections=1) == {500: 8},
               what="500 for invalid backendRefs")
    route_obj = s.admin.obj("HTTPRoute", "default", "bad")
    cond = find_condition(route_obj["status"]["parents"][0]["conditions"], "ResolvedRefs")
    assert cond["status"] == "False" and cond["reason"] == "BackendNotFound", cond


def _sequence(port: int, host: str, n: int) -> list:
    """n requests on ONE keep-alive connection (so one worker and its one cursor): who answered."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    seq = []
    for _ in range(n):
        c.request("GET", "/", headers={"Host": host})
        r = c.getresponse()
        seq.append(json.loads(r.read())["backend"] if r.status == 200 else r.status)
    c.close()
    return seq


def _longest_run(seq: list) -> int:
    best = cur = 0
    for i, v in enumerate(seq):
        cur = cur + 1 if i > 0 and seq[i - 1] == v else 1
        best = max(best, cur)
    return best


def test_fifty_fifty_alternates_in_small_windows(tmp_path, start_gantry, make_echo):
    # A 50/50 split must hold over short windows, not only over a long run: the smooth weighted
    # choice (dataplane/upstream/weighted.h) alternates A B A B on one worker. (A new snapshot
    # restarts the worker's cursor, which may repeat one backend once: runs of 2 are tolerated.)
    a, b = make_echo("a"), make_echo("b")
    route = http_route("half", hostnames=["half.example"],
                       rules=[{"path": "/", "backends": [("a", 50), ("b", 50)]}])
    s = Setup(tmp_path, start_gantry, [a, b], route=route)
    wait_until(lambda: served_by(s.port, "half.example") is not None, what="route")
    seq = _sequence(s.port, "half.example", 40)
    assert set(seq) == {"a", "b"}, seq
    assert _longest_run(seq) <= 2, seq
    for i in range(0, 40, 4):  # every window of 4 has both, 2 each but for a restart
        assert 1 <= seq[i:i + 4].count("a") <= 3, seq
    assert abs(seq.count("a") - 20) <= 1, seq


def test_ninety_ten_spreads_the_canary(tmp_path, start_gantry, make_echo):
    # 90/10: the canary answers once in every 10 consecutive requests rather than 10 in a row.
    stable, canary = make_echo("stable"), make_echo("canary")
    route = http_route("split", hostnames=["shop.example"],
                       rules=[{"path": "/", "backends": [("stable", 90), ("canary", 10)]}])
    s = Setup(tmp_path, start_gantry, [stable, canary], route=route)
    wait_until(lambda: served_by(s.port, "shop.example") is not None, what="route")
    seq = _sequence(s.port, "shop.example", 60)
    assert 5 <= seq.count("canary") <= 7, seq
    for i in range(0, 51):  # never bunched: at most 2 (a cursor restart) in any 10 in a row
        assert seq[i:i + 10].count("canary") <= 2, seq
    assert _longest_run(seq) <= 18, seq
