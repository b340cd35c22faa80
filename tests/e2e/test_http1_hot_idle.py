"""Hot idle keep-alive connections (dataplane Worker::enterHotIdle): after a response, a busy
connection waits for its next request inside its coroutine with its buffers; the worker tick
(<= 100 ms) demotes it to a cold idle connection (no coroutine, no buffer) after a whole tick
without a request; at most 64 are hot per worker. Whatever the state, a keep-alive connection must
behave the same: served, closed on client close, idle timeout and drain."""

import os
import signal
import threading
import time

from backends.helpers import conn, one_backend, seen
from backends.rawhttp import request


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))



def run_clients(client, count, timeout):
    """Runs client(n) for n in range(count) on threads at once; each reports its own errors."""
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)

def test_connection_served_hot_then_cold_then_hot(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry, workers=1)
    with conn(s.port) as c:
        for i in range(20):  # back to back: hot between requests
            c.send(request("GET", f"/hot/{i}", "a"))
            r = c.read_response()
            assert r.status == 200 and seen(r)["target"] == f"/hot/{i}"
        time.sleep(0.6)  # several ticks: demoted to a cold idle connection
        c.send(request("GET", "/cold", "a"))
        r = c.read_response()
        assert r.status == 200 and seen(r)["target"] == "/cold"
        # Pipelined pair right after: the second is served from the buffer, then hot again.
        c.send(request("GET", "/p1", "a") + request("GET", "/p2", "a"))
        assert seen(c.read_response())["target"] == "/p1"
        assert seen(c.read_response())["target"] == "/p2"
        time.sleep(0.05)
        c.send(request("GET", "/again", "a"))
        assert seen(c.read_response())["target"] == "/again"


def test_more_busy_connections_than_hot_slots(make_echo, start_gantry):
    # 80 connections on one worker, more than its 64 hot slots: the rest go cold at once; every
    # request on every connection is answered, in three rounds separated by demotion-length pauses.
    s = one_backend(make_echo, start_gantry, workers=1)
    errors = []

    def client(n: int) -> None:
        try:
            with conn(s.port, timeout=20) as c:
                for rnd in range(3):
                    for i in range(3):
                        c.send(request("GET", f"/c{n}/{rnd}/{i}", "a"))
                        r = c.read_response(timeout=20)
                        if r.status != 200 or seen(r)["target"] != f"/c{n}/{rnd}/{i}":
                            errors.append((n, rnd, i, r.status))
                    time.sleep(0.3)
        except Exception as e:  # reported below
            errors.append((n, repr(e)))

    run_clients(client, 80, timeout=60)
    assert not errors, errors[:5]


def test_client_close_while_hot_releases_connection(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry, workers=1)
    with conn(s.port) as c:  # warm up: upstream pool and buffers exist before the baseline
        c.send(request("GET", "/warm", "a"))
        assert c.read_response().status == 200
    time.sleep(0.3)
    base = _open_fds(s.g.pid)
    for i in range(50):
        with conn(s.port) as c:
            c.send(request("GET", f"/{i}", "a"))
            assert c.read_response().status == 200
        # closed right after the response: the connection was hot idle
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _open_fds(s.g.pid) > base:
        time.sleep(0.1)
    assert _open_fds(s.g.pid) <= base, "closed hot idle connections were not released"


def test_drain_closes_hot_idle_connections_at_once(make_echo, start_gantry):
    s = one_backend(make_echo, start_gantry, workers=1, args=["--drain-timeout-ms", "20000"])
    conns = []
    for i in range(10):
        c = conn(s.port)
        c.send(request("GET", f"/{i}", "a"))
        assert c.read_response().status == 200
        conns.append(c)
    t0 = time.monotonic()
    s.g.signal(signal.SIGTERM)  # idle (hot or cold) connections are closed without waiting
    rc = s.g.wait(15)
    elapsed = time.monotonic() - t0
    for c in conns:
        closed, _ = c.wait_closed(5)
        assert closed
        c.close()
    assert rc == 0
    assert elapsed < 10, f"drain waited {elapsed:.1f}s for idle connections"


def test_half_close_after_request_is_answered_then_closed(make_echo, start_gantry):
    # The waits for a client's next request skip the read attempt when the last read was short
    # (dataplane/io/read_readiness.h); a FIN that came with the request bytes must still end the
    # connection right after the response, hot or cold (more clients than hot slots), not at the
    # idle timeout.
    s = one_backend(make_echo, start_gantry, workers=1, args=["--idle-timeout-ms", "60000"])
    errors = []

    def client(n: int) -> None:
        try:
            with conn(s.port, timeout=20) as c:
                c.send(request("GET", f"/k{n}", "a"))  # keep-alive first: the next wait is idle
                r = c.read_response(timeout=20)
                if r.status != 200:
                    errors.append((n, "first", r.status))
                c.sock.sendall(request("GET", f"/h{n}", "a"))
                c.shutdown_write()  # FIN right behind the request bytes
                r = c.read_response(timeout=20)
                if r.status != 200 or seen(r)["target"] != f"/h{n}":
                    errors.append((n, "second", r.status))
                closed, _ = c.wait_closed(10)
                if not closed:
                    errors.append((n, "not closed"))
        except Exception as e:  # reported below
            errors.append((n, repr(e)))

    t0 = time.monotonic()
    run_clients(client, 80, timeout=60)
    assert not errors, errors[:5]
    assert time.monotonic() - t0 < 30


def test_many_sequential_requests_hot_and_cold_mixed(make_echo, start_gantry):
    # More busy keep-alive connections than hot slots, requests back to back with short random
    # pauses: connections move between hot, cold and busy while reads skip their attempt; every
    # request must be answered (a lost readiness edge would stall a client until the timeout).
    import random
    s = one_backend(make_echo, start_gantry, workers=1)
    errors = []

    def client(n: int) -> None:
        rnd = random.Random(n)
        try:
            with conn(s.port, timeout=20) as c:
                for i in range(25):
                    c.send(request("GET", f"/m{n}/{i}", "a"))
                    r = c.read_response(timeout=20)
                    if r.status != 200 or seen(r)["target"] != f"/m{n}/{i}":
                        errors.append((n, i, r.status))
                    if rnd.random() < 0.2:
                        time.sleep(rnd.choice([0.001, 0.02, 0.15]))
        except Exception as e:  # reported below
            errors.append((n, repr(e)))

    run_clients(client, 80, timeout=90)
    assert not errors, errors[:5]
