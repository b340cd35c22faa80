#!/usr/bin/env python3
"""Demo backend for the gantry quick start: answers every request with JSON describing it.

    python3 backend.py [--host 127.0.0.1] [--port 9000]

The response body is {"method", "path", "headers", "body_length", "server"}, so that a curl through
gantry shows what the proxy forwarded (Host preserved, X-Forwarded-* added, hop-by-hop removed).
Standard library only; HTTP/1.1 with keep-alive; request bodies are read (Content-Length or
chunked) and counted, not stored.
"""
import argparse
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server_version = "gantry-demo-backend"
    sys_version = ""

    def _body_length(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer section ends with an empty line (RFC 9112 section 7.1).
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return total
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, 1 << 16))
                    if not chunk:
                        return total
                    remaining -= len(chunk)
                    total += len(chunk)
                self.rfile.readline(3)  # CRLF after the chunk data
        length = int(self.headers.get("Content-Length", "0") or 0)
        remaining = length
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)
        return length - remaining

    def _answer(self):
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items()},
                "body_length": self._body_length(),
                "server": self.server.name,
            },
            indent=2,
        ).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _answer

    def log_message(self, fmt, *args):
        sys.stderr.write("backend: %s %s\n" % (self.address_string(), fmt % args))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--name", default="demo-backend", help="reported as \"server\"")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args()
    if args.quiet:
        EchoHandler.log_message = lambda *a: None
    server = ThreadingHTTPServer((args.host, args.port), EchoHandler)
    server.daemon_threads = True
    server.name = args.name
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"backend: listening on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
