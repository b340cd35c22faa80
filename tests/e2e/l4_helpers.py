"""Helpers for the L4 end-to-end suites (tests/e2e/test_l4_*.py): TLSRoute, TCPRoute, UDPRoute.

Backends (real sockets on 127.0.0.1, free ports, threads; closed by the fixtures):
  TcpBackend(name)      on connect sends "<name>\\n", then echoes every byte; when the client
                        half-closes it sends "bye <bytes received>\\n" and closes.
  UdpBackend(name)      answers each datagram with b"<name>:" + datagram.
  TlsBackend(name, pki) a TLS server with its own certificate (CN=<name>): after the handshake
                        it sends "<name> sni=<sni>\\n" and echoes; speaks just enough HTTP/1.1
                        for curl (a request gets "200, body <name>").
Manifests: gateway with TLS/TCP/UDP listeners, Secrets, Services, TLSRoute/TCPRoute/UDPRoute.
Certificates: made with the openssl CLI (Debian's openssl, installed by scripts/install-deps.sh).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from backends.tls_pki import tls_secret_pem


# ------------------------------------------------------------------------------------------------
# Certificates
# ------------------------------------------------------------------------------------------------

class Pki:
    """Self-signed certificates in a folder, one per name (CN=name, SAN=the given DNS names)."""

    def __init__(self, folder: Path):
        self.dir = Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)

    def cert(self, name: str, sans: list[str] | None = None) -> tuple[Path, Path]:
        crt, key = self.dir / f"{name}.crt", self.dir / f"{name}.key"
        if not crt.exists():
            san = ",".join(f"DNS:{s}" for s in (sans or [name]))
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                 "-addext", f"subjectAltName={san}", "-keyout", str(key), "-out", str(crt)],
                check=True, capture_output=True)
        return crt, key


_CN_CACHE: dict[bytes, str] = {}


def peer_cn(sock: ssl.SSLSocket) -> str:
    """CN of the certificate the server presented (verification off: read the DER ourselves)."""
    der = sock.getpeercert(binary_form=True)
    if der in _CN_CACHE:
        return _CN_CACHE[der]
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject",
                          "-nameopt", "multiline"], input=der, capture_output=True, check=True)
    for line in out.stdout.decode().splitlines():
        line = line.strip()
        if line.startswith("commonName"):
            _CN_CACHE[der] = line.split("=", 1)[1].strip()
            return _CN_CACHE[der]
    return ""


def tls_client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_connect(port: int, sni: str | None, timeout: float = 5.0) -> ssl.SSLSocket:
    """A TLS connection to 127.0.0.1:port sending `sni` (None: no server_name extension)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return tls_client_context().wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


def read_line(sock, limit: int = 4096) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


# ------------------------------------------------------------------------------------------------
# Backends
# ------------------------------------------------------------------------------------------------

class _Server:
    def __init__(self, name: str):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.closed = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve_safe, args=(c,), daemon=True).start()

    def _serve_safe(self, c):
        try:
            c.settimeout(30)
            self.serve(c)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def serve(self, c):
        raise NotImplementedError

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


class TcpBackend(_Server):
    """Greets with its name, echoes; "QUIT" in the input makes it answer "closing" and half-close
    (shutdown its write side) while still counting what arrives. At the client's EOF it records
    the bytes received in `finished` and, if it has not half-closed, sends "bye <n>"."""

    def __init__(self, name: str):
        self.finished: list[int] = []
        super().__init__(name)

    def serve(self, c):
        c.sendall(self.name.encode() + b"\n")
        total = 0
        write_closed = False
        while True:
            data = c.recv(65536)
            if not data:
                break
            total += len(data)
            if write_closed:
                continue
            if b"QUIT" in data:
                c.sendall(b"closing\n")
                c.shutdown(socket.SHUT_WR)
                write_closed = True
                continue
            c.sendall(data)
        self.finished.append(total)
        if not write_closed:
            c.sendall(f"bye {total}\n".encode())


class TlsBackend(_Server):
    def __init__(self, name: str, pki: Pki, sans: list[str] | None = None):
        crt, key = pki.cert(name, sans)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(crt), str(key))
        # The SNI this backend received, remembered on the connection's SSLSocket.
        self.ctx.sni_callback = lambda s, n, c: setattr(s, "gantry_sni", n)
        super().__init__(name)

    def serve(self, c):
        t = self.ctx.wrap_socket(c, server_side=True)
        sni = getattr(t, "gantry_sni", None)
        first = t.recv(65536)
        if first.startswith(b"GET ") or first.startswith(b"HEAD "):
            body = self.name.encode()
            t.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                      % (len(body), body))
            return
        t.sendall(f"{self.name} sni={sni}\n".encode())
        data = first
        while data:
            t.sendall(data)
            data = t.recv(65536)


class UdpBackend:
    def __init__(self, name: str):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peers: set = set()
        self.closed = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.closed:
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                return
            self.peers.add(addr)
            try:
                self.sock.sendto(self.name.encode() + b":" + data, addr)
            except OSError:
                pass

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


# ------------------------------------------------------------------------------------------------
# Manifests
# ------------------------------------------------------------------------------------------------

GATEWAY_CLASS = """apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: gantry
spec:
  controllerName: gantry.io/gateway-controller
---
"""


def gateway(listeners: list[dict], name: str = "gw", ns: str = "default") -> str:
    """listeners: [{"name", "protocol", "port", "hostname"?, "mode"?, "certs"?: [secret, ...]}]"""
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
    for lst in listeners:
        out += f"    - name: {lst['name']}\n      protocol: {lst['protocol']}\n"
        out += f"      port: {lst['port']}\n"
        if lst.get("hostname"):
            out += f"      hostname: \"{lst['hostname']}\"\n"
        if lst["protocol"] == "TLS":
            out += f"      tls:\n        mode: {lst.get('mode', 'Passthrough')}\n"
            if lst.get("certs"):
                out += "        certificateRefs:\n"
                out += "".join(f"          - name: {c}\n" for c in lst["certs"])
        out += "      allowedRoutes:\n        namespaces:\n          from: Same\n"
    return GATEWAY_CLASS + out + "---\n"


def tls_secret(name: str, crt: Path, key: Path, ns: str = "default") -> str:
    return tls_secret_pem(name, Path(crt).read_text(), Path(key).read_text(), ns)


def service(name: str, target_ports: list[int], protocol: str = "TCP", ns: str = "default") -> str:
    """A Service (port 80/protocol) whose EndpointSlice lists 127.0.0.1 at each target port
    (one slice per port, as several pods on one address)."""
    out = f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  ports:
    - name: p
      protocol: {protocol}
      port: 80
---
"""
    for i, tp in enumerate(target_ports):
        out += f"""apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-{i}
  namespace: {ns}
  labels:
    kubernetes.io/service-name: {name}
addressType: IPv4
ports:
  - name: p
    protocol: {protocol}
    port: {tp}
endpoints:
  - addresses: ["127.0.0.1"]
    conditions:
      ready: true
---
"""
    return out


def l4_route(kind: str, name: str, backends: list[tuple[str, int]], section: str | None = None,
             hostnames: list[str] | None = None, parent: str = "gw", ns: str = "default",
             version: str = "v1") -> str:
    sec = f"      sectionName: {section}\n" if section else ""
    hosts = ""
    if hostnames:
        hosts = "  hostnames:\n" + "".join(f"    - \"{h}\"\n" for h in hostnames)
    refs = "".join(f"        - name: {b}\n          port: 80\n          weight: {w}\n"
                   for b, w in backends)
    return f"""apiVersion: gateway.networking.k8s.io/{version}
kind: {kind}
metadata:
  name: {name}
  namespace: {ns}
spec:
  parentRefs:
    - name: {parent}
{sec}{hosts}  rules:
    - backendRefs:
{refs}---
"""


def _backend_fixture(cls):
    """A fixture making `cls(name)` backends, closed at the end of the test."""

    @pytest.fixture
    def fixture():
        made = []

        def _make(name):
            b = cls(name)
            made.append(b)
            return b

        yield _make
        for b in made:
            b.close()

    return fixture


# Import these into a test module to use them (pytest finds fixtures by module attribute).
tcp_backends = _backend_fixture(TcpBackend)
udp_backends = _backend_fixture(UdpBackend)
