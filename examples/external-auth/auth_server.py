#!/usr/bin/env python3
"""A toy HTTP authorization server for the external-auth example: 200 + x-user for the bearer
token "letmein", 401 with a challenge otherwise."""
import argparse
import http.server


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _check(self):
        if self.headers.get("authorization") == "Bearer letmein":
            self.send_response(200)
            self.send_header("x-user", "alice")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = b"login required\n"
        self.send_response(401)
        self.send_header("www-authenticate", 'Bearer realm="example"')
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _check


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9602)
    http.server.ThreadingHTTPServer(("127.0.0.1", ap.parse_args().port), Handler).serve_forever()
