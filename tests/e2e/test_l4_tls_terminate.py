"""TLSRoute on a TLS listener in Terminate mode: gantry completes the handshake with the
listener's certificate (a kubernetes.io/tls Secret) and forwards the plaintext to a TCP backend.

Proof of termination: the client sees gantry's certificate (CN of the Secret), and the backend
(a plain TCP echo, or the HTTP echo backend for curl) receives the decrypted bytes.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess

import pytest

from backends.snapshot import free_port
from cp_helpers import ConfigDir, wait_until
from l4_helpers import (Pki, gateway, l4_route, peer_cn, read_line, service,
                        tls_connect, tls_secret)
from l4_helpers import tcp_backends  # noqa: F401 - pytest fixture


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


def setup(tmp_path, start_gantry, pki, routes: str, services: str, listeners=None):
    port = free_port()
    crt, key = pki.cert("gantry-term", ["term.example.com", "*.wild.example.com"])
    d = ConfigDir(tmp_path / "cfg")
    d.write("secret.yaml", tls_secret("term-cert", crt, key))
    d.write("gw.yaml", gateway(listeners or [
        {"name": "tls", "protocol": "TLS", "port": port, "mode": "Terminate",
         "certs": ["term-cert"]}]))
    d.write("svc.yaml", services)
    d.write("routes.yaml", routes)
    g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)])
    return g, port, d


def served(port, sni, name):
    try:
        with tls_connect(port, sni, 2.0) as t:
            return read_line(t) == f"{name}\n".encode()
    except OSError:
        return False


def test_terminate_to_tcp_backend(tmp_path, start_gantry, pki, tcp_backends):
    a = tcp_backends("plain-a")
    _, port, _ = setup(tmp_path, start_gantry, pki,
                       l4_route("TLSRoute", "r", [("a", 1)], hostnames=["term.example.com"]),
                       service("a", [a.port]))
    wait_until(lambda: served(port, "term.example.com", "plain-a"), 10, what="TLSRoute served")
    with tls_connect(port, "term.example.com") as t:
        assert peer_cn(t) == "gantry-term"  # gantry's certificate, not a backend's
        assert t.selected_alpn_protocol() is None  # a TCP backend: no ALPN negotiated
        assert read_line(t) == b"plain-a\n"  # the backend's plaintext greeting, encrypted by us
        t.sendall(b"secret payload\n")
        assert read_line(t) == b"secret payload\n"
        big = b"z" * (1 << 20)
        t.sendall(big)
        got = b""
        while len(got) < len(big):
            got += t.recv(65536)
        assert got == big


def test_terminate_half_close_both_ways(tmp_path, start_gantry, pki, tcp_backends):
    a = tcp_backends("plain-a")
    _, port, _ = setup(tmp_path, start_gantry, pki,
                       l4_route("TLSRoute", "r", [("a", 1)], hostnames=["term.example.com"]),
                       service("a", [a.port]))
    wait_until(lambda: served(port, "term.example.com", "plain-a"), 10, what="TLSRoute served")
    # Client close_notify -> the backend sees the end of its TCP stream (FIN).
    t = tls_connect(port, "term.example.com")
    try:
        assert read_line(t) == b"plain-a\n"
        t.sendall(b"0123456789\n")
        assert read_line(t) == b"0123456789\n"
        n_before = len(a.finished)
        try:
            t.unwrap()  # close_notify; the backend's "bye" may race with it
        except (ssl.SSLError, OSError):
            pass
        # The readiness probe's connections may finish meanwhile: wait for ours (11 bytes).
        wait_until(lambda: 11 in a.finished[n_before:], 10, what="backend saw EOF")
    finally:
        t.close()
    # Backend half-close (FIN) -> the client gets close_notify: a clean end of stream.
    with tls_connect(port, "term.example.com") as t:
        assert read_line(t) == b"plain-a\n"
        t.sendall(b"QUIT\n")
        assert read_line(t) == b"closing\n"
        assert t.recv(100) == b""  # close_notify (SSL_ERROR_ZERO_RETURN), not a truncation


def test_terminate_openssl_s_client(tmp_path, start_gantry, pki, tcp_backends):
    a = tcp_backends("plain-a")
    _, port, _ = setup(tmp_path, start_gantry, pki,
                       l4_route("TLSRoute", "r", [("a", 1)], hostnames=["term.example.com"]),
                       service("a", [a.port]))
    wait_until(lambda: served(port, "term.example.com", "plain-a"), 10, what="TLSRoute served")
    p = subprocess.Popen(
        ["openssl", "s_client", "-quiet", "-connect", f"127.0.0.1:{port}", "-servername",
         "term.example.com"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)
    try:
        p.stdin.write(b"12345\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"plain-a\n"
        assert p.stdout.readline() == b"12345\n"
    finally:
        p.kill()
        p.wait(5)


def test_terminate_wildcard_and_unknown_sni(tmp_path, start_gantry, pki, tcp_backends):
    a, w = tcp_backends("plain-a"), tcp_backends("plain-wild")
    _, port, _ = setup(tmp_path, start_gantry, pki,
                       l4_route("TLSRoute", "r", [("a", 1)], hostnames=["term.example.com"]) +
                       l4_route("TLSRoute", "w", [("w", 1)], hostnames=["*.wild.example.com"]),
                       service("a", [a.port]) + service("w", [w.port]))
    wait_until(lambda: served(port, "x.wild.example.com", "plain-wild"), 10, what="served")
    assert served(port, "term.example.com", "plain-a")
    assert served(port, "y.wild.example.com", "plain-wild")
    # A name no route covers: the connection ends without reaching any backend.
    before = a.connections + w.connections
    try:
        with tls_connect(port, "nothing.example.org", 5.0) as t:
            assert read_line(t) == b""
    except OSError:
        pass
    assert a.connections + w.connections == before


def test_terminate_curl_to_http_backend(tmp_path, start_gantry, pki, echo):
    """curl over TLS to gantry; the plaintext HTTP/1.1 goes to the HTTP echo backend."""
    _, port, _ = setup(tmp_path, start_gantry, pki,
                       l4_route("TLSRoute", "r", [("echo", 1)], hostnames=["term.example.com"]),
                       service("echo", [echo.port]))
    wait_until(lambda: subprocess.run(
        ["curl", "-sk", "--max-time", "2", "--resolve", f"term.example.com:{port}:127.0.0.1",
         f"https://term.example.com:{port}/"], capture_output=True).returncode == 0, 10,
        what="TLSRoute served")
    out = subprocess.run(
        ["curl", "-sk", "--max-time", "10", "--resolve", f"term.example.com:{port}:127.0.0.1",
         "-H", "X-Probe: l4", f"https://term.example.com:{port}/some/path?q=1"],
        capture_output=True, timeout=20)
    assert out.returncode == 0, out
    record = json.loads(out.stdout)
    assert record["backend"] == "echo"
    assert record["target"] == "/some/path?q=1"
    headers = {k.lower(): v for k, v in record["headers"]}
    assert headers.get("x-probe") == "l4"
    # Layer 4: gantry adds no HTTP header of its own.
    assert "x-forwarded-for" not in headers


def test_terminate_certificate_rotation(tmp_path, start_gantry, pki, tcp_backends):
    a = tcp_backends("plain-a")
    _, port, d = setup(tmp_path, start_gantry, pki,
                       l4_route("TLSRoute", "r", [("a", 1)], hostnames=["term.example.com"]),
                       service("a", [a.port]))
    wait_until(lambda: served(port, "term.example.com", "plain-a"), 10, what="TLSRoute served")
    old = tls_connect(port, "term.example.com")
    try:
        assert read_line(old) == b"plain-a\n"
        crt, key = pki.cert("gantry-rotated", ["term.example.com"])
        d.write("secret.yaml", tls_secret("term-cert", crt, key))

        def rotated():
            with tls_connect(port, "term.example.com", 2.0) as t:
                return peer_cn(t) == "gantry-rotated"
        wait_until(rotated, 10, what="new certificate served")
        # The connection made under the old certificate still works.
        old.sendall(b"still\n")
        assert read_line(old) == b"still\n"
    finally:
        old.close()


def test_plaintext_on_terminate_port_is_closed(tmp_path, start_gantry, pki, tcp_backends):
    a = tcp_backends("plain-a")
    _, port, _ = setup(tmp_path, start_gantry, pki,
                       l4_route("TLSRoute", "r", [("a", 1)], hostnames=["term.example.com"]),
                       service("a", [a.port]))
    wait_until(lambda: served(port, "term.example.com", "plain-a"), 10, what="TLSRoute served")
    before = a.connections
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"hello there, not TLS\r\n\r\n")
        data = b""
        try:
            while True:
                chunk = s.recv(100)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    assert b"plain-a" not in data
    assert a.connections == before
