"""TLSRoute on a TLS listener in Passthrough mode: routing by the ClientHello's SNI, never
decrypted. Which backend answered is proven by the certificate it serves (each TlsBackend has
its own self-signed certificate, CN = its name), since gantry holds no key for these names.

Clients: Python ssl, openssl s_client and curl --resolve.
"""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest

from backends.snapshot import free_port
from cp_helpers import ConfigDir, wait_until
from l4_helpers import (Pki, TlsBackend, gateway, l4_route, peer_cn, read_line, service,
                        tls_connect)


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


@pytest.fixture
def tls_backends(pki):
    made = []

    def _make(name):
        b = TlsBackend(name, pki)
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


def start(tmp_path, start_gantry, listeners, routes: str, services: str):
    d = ConfigDir(tmp_path / "cfg")
    d.write("gw.yaml", gateway(listeners))
    d.write("svc.yaml", services)
    d.write("routes.yaml", routes)
    ports = sorted({lst["port"] for lst in listeners})
    g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", p) for p in ports])
    return g, d


def backend_for(port: int, sni: str | None, timeout: float = 5.0) -> str:
    """CN of the certificate served for `sni` through gantry, after an echo round trip."""
    with tls_connect(port, sni, timeout) as t:
        t.sendall(b"ping\n")
        line = read_line(t).decode()
        cn = peer_cn(t)
        # The backend saw the SNI we sent: gantry forwarded the original ClientHello.
        assert line == f"{cn} sni={sni}\n", line
        assert read_line(t) == b"ping\n"
        return cn


def rejected(port: int, sni: str | None) -> str:
    """The error a TLS handshake through gantry fails with ("" if it succeeded)."""
    try:
        with tls_connect(port, sni, 5.0) as t:
            t.sendall(b"ping\n")
            if read_line(t):
                return ""
            return "closed"
    except ssl.SSLError as e:
        return str(e)
    except OSError as e:
        return f"os: {e}"


def served(port, sni, name):
    try:
        return backend_for(port, sni, 2.0) == name
    except (OSError, AssertionError):
        return False


def test_sni_routes_to_two_backends(tmp_path, start_gantry, tls_backends):
    a, b = tls_backends("tls-a"), tls_backends("tls-b")
    port = free_port()
    start(tmp_path, start_gantry, [{"name": "tls", "protocol": "TLS", "port": port}],
          l4_route("TLSRoute", "ra", [("a", 1)], hostnames=["a.example.com"]) +
          l4_route("TLSRoute", "rb", [("b", 1)], hostnames=["b.example.com"]),
          service("a", [a.port]) + service("b", [b.port]))
    wait_until(lambda: served(port, "a.example.com", "tls-a"), 10, what="TLSRoute served")
    for _ in range(5):
        assert backend_for(port, "a.example.com") == "tls-a"
        assert backend_for(port, "b.example.com") == "tls-b"
    # SNI is case-insensitive (RFC 4343).
    assert backend_for(port, "B.Example.COM") == "tls-b"


def test_unknown_sni_gets_unrecognized_name_alert(tmp_path, start_gantry, tls_backends):
    a = tls_backends("tls-a")
    port = free_port()
    start(tmp_path, start_gantry, [{"name": "tls", "protocol": "TLS", "port": port}],
          l4_route("TLSRoute", "ra", [("a", 1)], hostnames=["a.example.com"]),
          service("a", [a.port]))
    wait_until(lambda: served(port, "a.example.com", "tls-a"), 10, what="TLSRoute served")
    assert "UNRECOGNIZED_NAME" in rejected(port, "other.example.com").upper()
    # No SNI at all: no catch-all route here, so refused the same way.
    assert "UNRECOGNIZED_NAME" in rejected(port, None).upper()
    # openssl s_client reports the alert gantry sent in plaintext, without any handshake.
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
         "nope.example.com"], input=b"", capture_output=True, timeout=10)
    text = (out.stdout + out.stderr).decode(errors="replace").lower()
    assert "unrecognized name" in text, text
    # Plaintext on a TLS port: closed, nothing answered.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n")
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass


def test_exact_before_wildcard(tmp_path, start_gantry, tls_backends):
    w, e = tls_backends("tls-wild"), tls_backends("tls-exact")
    port = free_port()
    start(tmp_path, start_gantry, [{"name": "tls", "protocol": "TLS", "port": port}],
          l4_route("TLSRoute", "wild", [("w", 1)], hostnames=["*.example.com"]) +
          l4_route("TLSRoute", "exact", [("e", 1)], hostnames=["exact.example.com"]),
          service("w", [w.port]) + service("e", [e.port]))
    wait_until(lambda: served(port, "exact.example.com", "tls-exact"), 10, what="TLSRoute served")
    assert backend_for(port, "exact.example.com") == "tls-exact"
    assert backend_for(port, "other.example.com") == "tls-wild"
    assert backend_for(port, "a.b.example.com") == "tls-wild"  # a wildcard covers several labels
    assert "UNRECOGNIZED_NAME" in rejected(port, "example.com").upper()


def test_listener_isolation(tmp_path, start_gantry, tls_backends):
    """A name owned by the more specific listener never falls through to the catch-all one."""
    foo, other = tls_backends("tls-foo"), tls_backends("tls-other")
    port = free_port()
    start(tmp_path, start_gantry,
          [{"name": "wild", "protocol": "TLS", "port": port, "hostname": "*.example.com"},
           {"name": "any", "protocol": "TLS", "port": port}],
          l4_route("TLSRoute", "foo", [("foo", 1)], section="wild",
                   hostnames=["foo.example.com"]) +
          l4_route("TLSRoute", "other", [("other", 1)], section="any",
                   hostnames=["*.example.com", "*.example.org"]),
          service("foo", [foo.port]) + service("other", [other.port]))
    wait_until(lambda: served(port, "foo.example.com", "tls-foo"), 10, what="TLSRoute served")
    assert backend_for(port, "x.example.org") == "tls-other"
    # bar.example.com matches listener "wild" first; its only route does not cover it.
    assert "UNRECOGNIZED_NAME" in rejected(port, "bar.example.com").upper()


def test_weights(tmp_path, start_gantry, tls_backends):
    a, b = tls_backends("tls-a"), tls_backends("tls-b")
    port = free_port()
    start(tmp_path, start_gantry, [{"name": "tls", "protocol": "TLS", "port": port}],
          l4_route("TLSRoute", "r", [("a", 1), ("b", 1)], hostnames=["w.example.com"]),
          service("a", [a.port]) + service("b", [b.port]))
    wait_until(lambda: served(port, "w.example.com", "tls-a") or
               served(port, "w.example.com", "tls-b"), 10, what="TLSRoute served")
    counts = {"tls-a": 0, "tls-b": 0}
    n = 200
    for _ in range(n):
        with tls_connect(port, "w.example.com") as t:
            counts[peer_cn(t)] += 1
    # 1:1 -> 100 expected; binomial sd ~7, +-35 is 5 sd.
    assert 65 <= counts["tls-a"] <= 135, counts


def test_curl_resolve(tmp_path, start_gantry, tls_backends):
    a, b = tls_backends("tls-a"), tls_backends("tls-b")
    port = free_port()
    start(tmp_path, start_gantry, [{"name": "tls", "protocol": "TLS", "port": port}],
          l4_route("TLSRoute", "ra", [("a", 1)], hostnames=["a.example.com"]) +
          l4_route("TLSRoute", "rb", [("b", 1)], hostnames=["b.example.com"]),
          service("a", [a.port]) + service("b", [b.port]))
    wait_until(lambda: served(port, "b.example.com", "tls-b"), 10, what="TLSRoute served")
    for host, want in (("a.example.com", "tls-a"), ("b.example.com", "tls-b")):
        out = subprocess.run(
            ["curl", "-sk", "--max-time", "10", "--resolve", f"{host}:{port}:127.0.0.1",
             "-w", " %{http_code}", f"https://{host}:{port}/"],
            capture_output=True, timeout=20)
        assert out.stdout.decode() == f"{want} 200", out
    out = subprocess.run(
        ["curl", "-sk", "--max-time", "10", "--resolve", f"c.example.com:{port}:127.0.0.1",
         f"https://c.example.com:{port}/"], capture_output=True, timeout=20)
    assert out.returncode == 35  # CURLE_SSL_CONNECT_ERROR: the handshake was refused
