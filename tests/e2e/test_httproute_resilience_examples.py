"""The examples for timeouts/retries, request mirroring and session persistence, served for real
from their Gateway API manifests (so the translator's HTTPRouteTimeouts, HTTPRouteRetry,
RequestMirror and SessionPersistence conversion is covered end to end, not only the data plane)."""

from __future__ import annotations

import time

import httpx

from cp_helpers import served_by, wait_until
from test_controlplane_examples import serve_example


def _get(port, host, path="/", headers=None, cookies=None):
    return httpx.get(f"http://127.0.0.1:{port}{path}", headers={"host": host, **(headers or {})},
                     cookies=cookies, timeout=10)


def test_timeouts_retries_example(tmp_path, start_gantry, make_echo):
    g, port, echoes = serve_example("timeouts-retries", tmp_path, start_gantry, make_echo, 8086,
                                    {9601: "orders-a", 9602: "orders-b"})
    host = "api.example.com"
    wait_until(lambda: served_by(port, host, "/ready"), what="orders route")
    # A 503 from one endpoint is retried on the other.
    r = _get(port, host, "/o/1", {"x-echo-fail-times": "1", "x-echo-fail-with": "503",
                                  "x-echo-fail-key": "k"})
    assert r.status_code == 200
    # Each GET attempt is cut at 300 ms; after 2 retries the client gets 504, well before 2 s.
    t0 = time.monotonic()
    r = _get(port, host, "/o/slow", {"x-echo-sleep-ms": "4000"})
    dt = time.monotonic() - t0
    assert r.status_code == 504 and 0.8 <= dt < 2.5, (r.status_code, dt)
    slow = [x for e in echoes.values() for x in e.requests if x["target"] == "/o/slow"]
    assert len(slow) == 3
    # POSTs have only the 5 s request timeout: a 1 s answer is fine, and is not retried.
    r = httpx.post(f"http://127.0.0.1:{port}/o", headers={"host": host, "x-echo-sleep-ms": "1000"},
                   content=b"order", timeout=10)
    assert r.status_code == 200


def test_request_mirror_example(tmp_path, start_gantry, make_echo):
    g, port, echoes = serve_example("request-mirror", tmp_path, start_gantry, make_echo, 8087,
                                    {9603: "catalog", 9604: "catalog-next"})
    host = "catalog.example.com"
    wait_until(lambda: served_by(port, host, "/ready") == "catalog", what="catalog route")
    echoes["catalog-next"].reset()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"host": host}) as c:
        for i in range(200):
            assert c.get(f"/item/{i}").headers["x-echo-backend"] == "catalog"
    time.sleep(0.5)
    mirrored = len(echoes["catalog-next"].requests)
    assert 20 <= mirrored <= 85, mirrored  # 25% of 200, +- ~5 sigma


def test_session_persistence_example(tmp_path, start_gantry, make_echo):
    g, port, echoes = serve_example("session-persistence", tmp_path, start_gantry, make_echo, 8088,
                                    {9605: "cart-a", 9606: "cart-b"})
    host = "cart.example.com"
    wait_until(lambda: served_by(port, host, "/ready"), what="cart route")
    r = _get(port, host, "/cart")
    assert "Max-Age=3600" in r.headers["set-cookie"]
    token, first = r.cookies["cart-session"], r.headers["x-echo-backend"]
    for i in range(10):
        r = _get(port, host, f"/cart/{i}", headers={"cookie": f"cart-session={token}"})
        assert r.headers["x-echo-backend"] == first
