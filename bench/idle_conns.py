#!/usr/bin/env python3
"""Memory per idle keep-alive connection of a running proxy.

    idle_conns.py --port PORT --pid PID [--count 5000] [--host-header bench.example.com]

Opens COUNT connections to 127.0.0.1:PORT; on each sends one HTTP/1.1 request and reads the whole
response, then leaves the connection open and idle (keep-alive). Reports the proxy's RSS (VmRSS of
PID and its direct children, e.g. an nginx master and worker) before and after, and the delta per
connection. Checks that the proxy kept every connection open: a proxy that closes idle connections
would look cheap. Prints one machine-readable line:

    RESULT <rss_before_kib> <rss_after_kib> <bytes_per_conn> <open_conns>
"""
import argparse
import os
import resource
import socket
import sys
import time


def proxy_pids(pid):
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return pids


def rss_kib(pid):
    total = 0
    for p in proxy_pids(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def request(sock, host):
    sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"connection" and b"close" in value.lower():
            raise ConnectionError("the proxy answered Connection: close")
    if length is None:
        raise ConnectionError("no Content-Length in the response (not measurable as keep-alive)")
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the response body")
        body += chunk
    if status != b"200":
        raise ConnectionError(f"status {status.decode()}")


def still_open(sock):
    # Non-blocking peek: nothing to read = open and idle; b"" = the proxy closed it.
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--host-header", default="bench.example.com")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds to wait before measuring")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.count + 64
    if soft < want:
        if hard < want:
            sys.exit(f"idle_conns: need {want} file descriptors, hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    # Warm up: a few requests on short-lived connections so that lazily allocated state
    # (upstream connection, first buffers) is already in the baseline.
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", args.port), timeout=5) as s:
            request(s, args.host_header)
    time.sleep(args.settle)
    before = rss_kib(args.pid)

    socks = []
    t0 = time.monotonic()
    try:
        for i in range(args.count):
            s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
            socks.append(s)
            request(s, args.host_header)
    except (OSError, ConnectionError) as e:
        sys.exit(f"idle_conns: connection {len(socks)}: {e}")
    opened = time.monotonic() - t0
    time.sleep(args.settle)
    after = rss_kib(args.pid)
    alive = sum(still_open(s) for s in socks)
    per_conn = (after - before) * 1024 / args.count
    print(
        f"idle_conns: {args.count} connections opened in {opened:.1f} s, {alive} still open; "
        f"RSS {before} KiB -> {after} KiB; {per_conn:.0f} bytes per idle connection",
        file=sys.stderr,
    )
    print(f"RESULT {before} {after} {per_conn:.0f} {alive}")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
