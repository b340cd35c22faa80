"""Helpers for the TLS end-to-end suites (tests/e2e/test_tls_*.py): HTTPS Gateway manifests, a
TLS client built on Python's ssl module (which runs OpenSSL, like curl and s_client), and
`openssl s_client` runs.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
from pathlib import Path

from backends.tls_pki import Cert


def https_gateway(name: str, port: int, listeners: list[dict], frontend: str = "",
                  ns: str = "default") -> str:
    """listeners: [{"name": "a", "hostname": "a.example.com" (optional), "certs": ["secret", ...],
    "protocol": "HTTPS" (default)}]; frontend: YAML text placed under spec.tls.frontend."""
    out = f"""apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {name}
  namespace: {ns}
spec:
  gatewayClassName: gantry
  addresses:
    - type: IPAddress
      value: 127.0.0.1
  listeners:
"""
    for l in listeners:
        out += f"    - name: {l['name']}\n      protocol: {l.get('protocol', 'HTTPS')}\n"
        out += f"      port: {l.get('port', port)}\n"
        if l.get("hostname"):
            out += f"      hostname: \"{l['hostname']}\"\n"
        if l.get("certs"):
            out += "      tls:\n        mode: Terminate\n        certificateRefs:\n"
            out += "".join(f"          - name: {c}\n" for c in l["certs"])
    if frontend:
        out += "  tls:\n    frontend:\n" + "".join(f"      {ln}\n" for ln in frontend.splitlines())
    return out + "---\n"


def client_context(ca: Cert | None = None, cert: Cert | None = None,
                   max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca is not None:
        ctx.load_verify_locations(cafile=str(ca.crt))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(str(cert.crt), str(cert.key))
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


class TlsClient:
    """One HTTP/1.1-over-TLS connection to 127.0.0.1:port with a given SNI; raw requests, so that
    tests control Host independently of SNI (421) and see exactly what gantry answers."""

    def __init__(self, port: int, sni: str | None, ctx: ssl.SSLContext, session=None,
                 timeout: float = 10.0, suppress_ragged_eofs: bool = True):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        # suppress_ragged_eofs=False: a TCP EOF without close_notify raises SSLEOFError instead
        # of reading as b"".
        self.sock = ctx.wrap_socket(raw, server_hostname=sni, session=session,
                                    suppress_ragged_eofs=suppress_ragged_eofs)
        self.buf = b""

    def request(self, host: str, path: str = "/", method: str = "GET", body: bytes = b"",
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        hdrs = {"Host": host, **(headers or {})}
        if body or method in ("POST", "PUT"):
            hdrs["Content-Length"] = str(len(body))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        self.sock.sendall(head.encode() + b"\r\n" + body)
        return self.read_response(method == "HEAD")

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by gantry")
        self.buf += data

    def read_response(self, head_only: bool = False) -> tuple[int, dict, bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = 0 if head_only else int(headers.get("content-length", "0"))
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
            return status, headers, body
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def echo_json(self, host: str, path: str = "/", **kw) -> dict:
        status, _, body = self.request(host, path, **kw)
        assert status == 200, (status, body[:200])
        return json.loads(body)

    def peer_cert(self) -> dict:
        return self.sock.getpeercert()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def s_client(port: int, *args: str, servername: str | None = None, stdin: bytes = b"Q\n",
             timeout: float = 20.0) -> str:
    """Runs `openssl s_client` against 127.0.0.1:port and returns stdout + stderr."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"]
    cmd += ["-servername", servername] if servername else ["-noservername"]
    cmd += list(args)
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def served_subject(port: int, servername: str | None, *args: str) -> str:
    """The subject line of the certificate gantry serves for this SNI ("" if the handshake
    failed)."""
    out = s_client(port, *args, servername=servername)
    for line in out.splitlines():
        if line.startswith("subject="):
            return line[len("subject="):].strip()
    return ""


def pem_path(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p
