#!/usr/bin/env python3
"""The example's backend: HTTPS on 127.0.0.1:9443 (certs/backend.crt, for backend.internal) that
only accepts clients with a certificate from certs/client-ca.crt, and answers with what it saw:

    {"client": "gantry-client", "sni": "backend.internal", "tls": "TLSv1.3", "path": "/"}
"""

import argparse
import http.server
import json
import ssl
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        peer = self.connection.getpeercert()
        body = json.dumps({
            "client": dict(x[0] for x in peer["subject"]).get("commonName"),
            "sni": getattr(self.connection, "sni", None),
            "tls": self.connection.version(),
            "path": self.path,
        }).encode() + b"\n"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9443)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(HERE / "certs" / "backend.crt", HERE / "certs" / "backend.key")
    ctx.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no handshake
    ctx.load_verify_locations(HERE / "certs" / "client-ca.crt")
    ctx.sni_callback = lambda sock, name, _: setattr(sock, "sni", name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"backend on https://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
