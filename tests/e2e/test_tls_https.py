"""HTTPS listeners end to end (issue 5, TLS termination): curl, openssl s_client and Python's ssl
(OpenSSL) against gantry run --config, with certificates generated at test time.

Covers: HTTP/1.1 over TLS with keep-alive and X-Forwarded-Proto: https; SNI selection among
listeners (exact, wildcard, default, none); RSA and ECDSA certificates for one hostname; TLS 1.0/1.1
refused; 421 for a Host that belongs to another certificate; session resumption; handshake
timeout; certificate rotation by rewriting the Secret while a connection stays open; memory per
idle TLS keep-alive connection.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import time

import pytest

from backends.snapshot import free_port
from backends.tls_pki import Pki, tls_secret
from cp_helpers import ConfigDir, backend, gateway_class, http_route, wait_until
from tls_helpers import TlsClient, client_context, https_gateway, s_client, served_subject


class HttpsSetup:
    """GatewayClass + Gateway `gw` with the given HTTPS listeners on one port, Secrets, the echo
    backend as Service `echo`, and one HTTPRoute attached to every listener."""

    def __init__(self, tmp_path, start_gantry, echo, listeners, secrets: dict, args=(),
                 workers: int = 2):
        self.port = free_port()
        self.dir = ConfigDir(tmp_path / "cfg")
        self.dir.write("gateway.yaml", gateway_class() + https_gateway("gw", self.port, listeners))
        for name, cert in secrets.items():
            self.dir.write(f"secret-{name}.yaml", tls_secret(name, cert))
        self.dir.write("backend.yaml", backend("echo", echo.port))
        self.dir.write("route.yaml", http_route("r", backend_name="echo"))
        self.gantry = start_gantry(config_dir=self.dir.path, wait_ports=[("127.0.0.1", self.port)],
                                   args=list(args), workers=workers)


@pytest.fixture
def pki(tmp_path):
    p = Pki(tmp_path / "pki")
    p.root = p.ca("Gantry Test CA")
    return p


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--http1.1", "--max-time", "20", *args],
                          capture_output=True, timeout=30)


def test_https_keepalive_forwarded_proto_and_bodies(tmp_path, start_gantry, echo, pki):
    cert = pki.cert("a", pki.root, dns=["a.example.com"])
    s = HttpsSetup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert})
    url = f"https://a.example.com:{s.port}"
    # curl: two requests on one TLS connection, verified against the test CA.
    r = curl("-v", "--cacert", str(pki.root.crt), "--resolve", f"a.example.com:{s.port}:127.0.0.1",
             f"{url}/one", f"{url}/two")
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "Re-using existing connection" in err
    assert re.search(r"SSL connection using TLSv1\.3", err), err
    assert echo.wait_for(lambda b: len(b.done_requests()) == 2)
    for rec in echo.done_requests():
        assert ["x-forwarded-proto", "https"] in rec["headers"], rec["headers"]
    # Python ssl: bodies both ways on one connection (1 MiB up, 3 MiB chunked down).
    c = TlsClient(s.port, "a.example.com", client_context(pki.root))
    try:
        body = bytes(range(256)) * 4096
        got = c.echo_json("a.example.com", "/up", method="POST", body=body)
        assert got["body_len"] == len(body)
        status, headers, down = c.request("a.example.com", "/down",
                                          headers={"x-echo-response-bytes": str(3 << 20),
                                                   "x-echo-chunked": "1"})
        assert status == 200 and len(down) == 3 << 20
        assert headers.get("transfer-encoding") == "chunked"
        assert c.echo_json("a.example.com", "/third")["target"] == "/third"
    finally:
        c.close()


def test_sni_selects_listener_certificate(tmp_path, start_gantry, echo, pki):
    certs = {
        "exact": pki.cert("exact", pki.root, dns=["a.example.com"]),
        "wild": pki.cert("wild", pki.root, dns=["*.example.com"]),
        "deflt": pki.cert("deflt", pki.root, dns=["default.test"]),
    }
    s = HttpsSetup(tmp_path, start_gantry, echo, [
        {"name": "exact", "hostname": "a.example.com", "certs": ["exact"]},
        {"name": "wild", "hostname": "*.example.com", "certs": ["wild"]},
        {"name": "any", "certs": ["deflt"]},
    ], certs)
    assert "CN = a.example.com" in served_subject(s.port, "a.example.com")
    assert "CN = a.example.com" in served_subject(s.port, "A.EXAMPLE.COM")
    assert r"CN = *.example.com" in served_subject(s.port, "x.example.com")
    assert r"CN = *.example.com" in served_subject(s.port, "deep.x.example.com")
    assert "CN = default.test" in served_subject(s.port, "example.com")
    assert "CN = default.test" in served_subject(s.port, "other.net")
    assert "CN = default.test" in served_subject(s.port, None)
    # And requests are served over each of them.
    for sni in ("a.example.com", "x.example.com"):
        c = TlsClient(s.port, sni, client_context(pki.root))
        try:
            assert c.echo_json(sni)["method"] == "GET"
        finally:
            c.close()


def test_misdirected_request_gets_421(tmp_path, start_gantry, echo, pki):
    certs = {"exact": pki.cert("exact", pki.root, dns=["a.example.com", "x.example.com"]),
             "wild": pki.cert("wild", pki.root, dns=["*.example.com"])}
    s = HttpsSetup(tmp_path, start_gantry, echo, [
        {"name": "exact", "hostname": "a.example.com", "certs": ["exact"]},
        {"name": "wild", "hostname": "*.example.com", "certs": ["wild"]},
    ], certs)
    # The a.example.com certificate also covers x.example.com, so a client may reuse this
    # connection for x.example.com -- but SNI x.example.com selects the wildcard listener's
    # certificate: the request belongs on another connection (RFC 9110 15.5.20).
    c = TlsClient(s.port, "a.example.com", client_context(pki.root))
    try:
        assert c.echo_json("a.example.com")["target"] == "/"
        status, _, body = c.request("x.example.com", "/")
        assert status == 421, body
        # The connection stays usable for its own host.
        assert c.echo_json("a.example.com:443", "/again")["target"] == "/again"
    finally:
        c.close()
    # Two names under one wildcard select the same certificate: no 421.
    c = TlsClient(s.port, "x.example.com", client_context(pki.root))
    try:
        assert c.echo_json("y.example.com")["target"] == "/"
        status, _, _ = c.request("a.example.com", "/")
        assert status == 421
    finally:
        c.close()
    assert len(echo.done_requests()) == 3


def test_rsa_and_ecdsa_certificates_for_one_hostname(tmp_path, start_gantry, echo, pki):
    rsa = pki.cert("rsa", pki.root, dns=["a.example.com"])
    ec = pki.cert("ec", pki.root, dns=["a.example.com"], key="ec")
    s = HttpsSetup(tmp_path, start_gantry, echo,
                   [{"name": "https", "hostname": "a.example.com", "certs": ["rsa", "ec"]}],
                   {"rsa": rsa, "ec": ec})

    def key_bits(*args):
        out = s_client(s.port, *args, servername="a.example.com")
        m = re.search(r"Server public key is (\d+) bit", out)
        return int(m.group(1)) if m else out

    assert key_bits("-tls1_3", "-sigalgs", "ECDSA+SHA256") == 256
    assert key_bits("-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256") == 2048
    assert key_bits("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256") == 256
    assert key_bits("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256") == 2048


def test_tls_1_0_and_1_1_refused(tmp_path, start_gantry, echo, pki):
    cert = pki.cert("a", pki.root, dns=["a.example.com"])
    s = HttpsSetup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert})
    # SECLEVEL=0 so that the client really offers the old versions (Debian's default refuses).
    for flag in ("-tls1", "-tls1_1"):
        out = s_client(s.port, flag, "-cipher", "DEFAULT:@SECLEVEL=0", servername="a.example.com")
        assert "protocol version" in out or "no protocols available" in out, out
        assert "Cipher is (NONE)" in out or "Cipher    : 0000" in out or "handshake failure" in out \
            or "alert" in out, out
    for flag, proto in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        out = s_client(s.port, flag, servername="a.example.com")
        assert f"Protocol  : {proto}" in out or f"New, {proto}" in out, out


def test_session_resumption(tmp_path, start_gantry, echo, pki):
    cert = pki.cert("a", pki.root, dns=["a.example.com"])
    s = HttpsSetup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert})
    # TLS 1.3 PSK ticket (Python ssl: the ticket arrives with the first response).
    ctx = client_context(pki.root)
    c1 = TlsClient(s.port, "a.example.com", ctx)
    c1.echo_json("a.example.com")
    session = c1.sock.session
    c1.close()
    assert session is not None and session.has_ticket
    c2 = TlsClient(s.port, "a.example.com", ctx, session=session)
    try:
        assert c2.sock.session_reused
        assert c2.echo_json("a.example.com", "/resumed")["target"] == "/resumed"
    finally:
        c2.close()
    # TLS 1.2 session ticket, with openssl s_client -reconnect.
    out = s_client(s.port, "-tls1_2", "-reconnect", servername="a.example.com")
    assert out.count("Reused, TLSv1.2") >= 5, out


def test_handshake_timeout_and_plaintext_on_https_port(tmp_path, start_gantry, echo, pki):
    cert = pki.cert("a", pki.root, dns=["a.example.com"])
    s = HttpsSetup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert},
                   args=["--header-timeout-ms", "500"])
    # A client that never sends a ClientHello is closed after the header timeout (slowloris).
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as raw:
        assert raw.recv(100) == b""
    assert time.monotonic() - t0 < 8
    # Plain HTTP on the HTTPS port: the handshake fails, nothing is routed.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n")
        data = b""
        try:
            while chunk := raw.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
        assert b"HTTP/1.1" not in data
    assert echo.done_requests() == []
    c = TlsClient(s.port, "a.example.com", client_context(pki.root))
    try:
        assert c.echo_json("a.example.com")["target"] == "/"
    finally:
        c.close()


def test_certificate_rotation_keeps_open_connections(tmp_path, start_gantry, echo, pki):
    old = pki.cert("old", pki.root, dns=["a.example.com"])
    s = HttpsSetup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["site"]}],
                   {"site": old})
    ctx = client_context(pki.root)
    kept = TlsClient(s.port, "a.example.com", ctx)
    try:
        old_serial = kept.peer_cert()["serialNumber"]
        assert kept.echo_json("a.example.com", "/before")["target"] == "/before"
        new = pki.cert("new", pki.root, dns=["a.example.com"])
        s.dir.write("secret-site.yaml", tls_secret("site", new))

        def new_handshake_serial():
            c = TlsClient(s.port, "a.example.com", ctx)
            try:
                return c.peer_cert()["serialNumber"]
            finally:
                c.close()

        wait_until(lambda: new_handshake_serial() != old_serial, timeout=10,
                   what="new handshakes to get the rotated certificate")
        # The connection opened before the rotation still works, still on the old certificate.
        assert kept.echo_json("a.example.com", "/after")["target"] == "/after"
        assert kept.peer_cert()["serialNumber"] == old_serial
    finally:
        kept.close()


def test_idle_tls_connection_memory(tmp_path, start_gantry, echo, pki):
    """Memory per idle TLS keep-alive connection (after one request each): printed, and bounded."""
    cert = pki.cert("a", pki.root, dns=["a.example.com"], key="ec")
    s = HttpsSetup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert},
                   workers=1)
    ctx = client_context(pki.root)
    warm = [TlsClient(s.port, "a.example.com", ctx) for _ in range(20)]
    for c in warm:
        c.echo_json("a.example.com")
    time.sleep(0.3)
    before = s.gantry.proc_status_kib("VmRSS")
    n = 400
    conns = []
    try:
        for _ in range(n):
            c = TlsClient(s.port, "a.example.com", ctx)
            c.echo_json("a.example.com")
            conns.append(c)
        time.sleep(0.5)
        after = s.gantry.proc_status_kib("VmRSS")
        per_conn = (after - before) * 1024 / n
        print(f"\nidle TLS keep-alive connection: {per_conn / 1024:.1f} KiB each "
              f"(RSS {before} -> {after} KiB for {n} connections)")
        assert per_conn < 48 * 1024
        # Still all usable.
        assert conns[0].echo_json("a.example.com", "/x")["target"] == "/x"
        assert conns[-1].echo_json("a.example.com", "/y")["target"] == "/y"
    finally:
        for c in conns + warm:
            c.close()


def section_route(name: str, section: str, backend_name: str, hostnames=()) -> str:
    hosts = "".join(f"    - {h}\n" for h in hostnames)
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {name}
  namespace: default
spec:
  parentRefs:
    - name: gw
      sectionName: {section}
{"  hostnames:" + chr(10) + hosts if hosts else ""}  rules:
    - backendRefs:
        - name: {backend_name}
          port: 80
---
"""


def test_misdirected_requests_per_listener_hostnames(tmp_path, start_gantry, make_echo, pki):
    """The Gateway API rules for HTTPS listeners sharing a port (Listener.hostname; conformance
    test HTTPRouteHTTPSListenerDetectMisdirectedRequests, here over HTTP/1.1): 421 when another
    listener matches the Host, 404 when none does."""
    v1, v2, v3 = make_echo("v1"), make_echo("v2"), make_echo("v3")
    cert = pki.cert("multi", pki.root, dns=["example.org", "second-example.org", "*.wildcard.org"])
    port = free_port()
    d = ConfigDir(tmp_path / "cfg")
    d.write("gateway.yaml", gateway_class() + https_gateway("gw", port, [
        {"name": "https", "certs": ["multi"]},
        {"name": "https-with-hostname", "hostname": "second-example.org", "certs": ["multi"]},
        {"name": "https-with-wildcard-hostname", "hostname": "*.wildcard.org",
         "certs": ["multi"]},
        {"name": "https-with-hostname-matching-wildcard",
         "hostname": "fourth-example.wildcard.org", "certs": ["multi"]},
    ]))
    d.write("secret.yaml", tls_secret("multi", cert))
    d.write("backends.yaml", backend("v1", v1.port) + backend("v2", v2.port)
            + backend("v3", v3.port))
    d.write("routes.yaml", section_route("r1", "https", "v1", ["example.org"])
            + section_route("r2", "https-with-hostname", "v2")
            + section_route("r3", "https-with-wildcard-hostname", "v3")
            + section_route("r4", "https-with-hostname-matching-wildcard", "v1"))
    start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)])
    cases = [
        ("example.org", "example.org", 200, "v1"),
        ("example.org", "second-example.org", 421, None),
        ("example.org", "unknown-example.org", 404, None),
        ("second-example.org", "second-example.org", 200, "v2"),
        ("second-example.org", "example.org", 421, None),
        ("second-example.org", "unknown-example.org", 421, None),
        ("third-example.wildcard.org", "third-example.wildcard.org", 200, "v3"),
        ("third-example.wildcard.org", "fith-example.wildcard.org", 200, "v3"),
        ("third-example.wildcard.org", "fourth-example.wildcard.org", 421, None),
        ("third-example.wildcard.org", "second-example.org", 421, None),
        ("third-example.wildcard.org", "unknown-example.org", 421, None),
        ("fourth-example.wildcard.org", "fourth-example.wildcard.org", 200, "v1"),
        ("fourth-example.wildcard.org", "fith-example.wildcard.org", 421, None),
        ("unknown-example.org", "example.org", 200, "v1"),
        ("unknown-example.org", "unknown-example.org", 404, None),
    ]
    ctx = client_context()  # SNI unknown-example.org is not in the certificate
    for sni, host, want, backend_name in cases:
        c = TlsClient(port, sni, ctx)
        try:
            status, _, body = c.request(host, "/detect-misdirected-requests")
        finally:
            c.close()
        assert status == want, (sni, host, status, body[:200])
        if backend_name:
            assert json.loads(body)["backend"] == backend_name, (sni, host)
    # HTTP/1.0 without Host names no host: routed (404 here), never 421.
    c = TlsClient(port, "second-example.org", ctx)
    try:
        c.sock.sendall(b"GET /detect-misdirected-requests HTTP/1.0\r\n\r\n")
        status, _, _ = c.read_response()
        assert status == 404
    finally:
        c.close()


def test_https_example(tmp_path, start_gantry, make_echo):
    """examples/https as its README says: make-cert.sh, curl over TLS, HTTP -> HTTPS redirect,
    rotation by running make-cert.sh again."""
    import shutil
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "examples" / "https"
    dst = tmp_path / "https"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("certs", "secret.yaml"))
    site = make_echo("site")
    https_port, http_port = free_port(), free_port()
    for f in dst.glob("*.yaml"):
        f.write_text(f.read_text().replace("8443", str(https_port))
                     .replace("8084", str(http_port)).replace("9401", str(site.port)))
    subprocess.run([str(dst / "make-cert.sh")], check=True, capture_output=True, timeout=60)
    start_gantry(config_dir=dst, wait_ports=[("127.0.0.1", https_port), ("127.0.0.1", http_port)])
    resolve = ["--resolve", f"www.example.com:{https_port}:127.0.0.1"]
    url = f"https://www.example.com:{https_port}/"

    def fetch():
        return curl("--cacert", str(dst / "certs" / "tls.crt"), *resolve, url)

    r = wait_until(lambda: (lambda r: r if r.returncode == 0 else None)(fetch()), timeout=10,
                   what="HTTPS example served")
    assert json.loads(r.stdout)["backend"] == "site"
    r = curl("-i", "-H", "Host: www.example.com", f"http://127.0.0.1:{http_port}/docs?x=1")
    head = r.stdout.decode()
    assert head.startswith("HTTP/1.1 301"), head
    assert f"location: https://www.example.com:{https_port}/docs?x=1" in head.lower(), head
    # Rotation: a new certificate; the old CA file no longer verifies new connections.
    old = (dst / "certs" / "tls.crt").read_text()
    subprocess.run([str(dst / "make-cert.sh")], check=True, capture_output=True, timeout=60)
    assert (dst / "certs" / "tls.crt").read_text() != old
    wait_until(lambda: fetch().returncode == 0, timeout=10, what="the rotated certificate")


def test_close_notify_and_websocket_over_tls(tmp_path, start_gantry, echo, pki):
    """gantry ends TLS connections with close_notify (a clean TLS EOF, RFC 8446 6.1), and an
    Upgrade (WebSocket, wss://) is tunnelled over the TLS connection."""
    from websockets.sync.client import connect

    cert = pki.cert("a", pki.root, dns=["a.example.com"])
    s = HttpsSetup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert},
                   args=["--idle-timeout-ms", "1000"])
    ctx = client_context(pki.root)
    # "Connection: close": response, then close_notify. With suppress_ragged_eofs=False, Python's
    # ssl returns b"" only for a clean TLS close and raises SSLEOFError for a TCP EOF without it.
    c = TlsClient(s.port, "a.example.com", ctx, suppress_ragged_eofs=False)
    try:
        status, headers, _ = c.request("a.example.com", "/", headers={"Connection": "close"})
        assert status == 200 and headers.get("connection") == "close"
        assert c.sock.recv(100) == b""
    finally:
        c.close()
    # Idle timeout: close_notify too.
    c = TlsClient(s.port, "a.example.com", ctx, suppress_ragged_eofs=False)
    try:
        c.echo_json("a.example.com")
        c.sock.settimeout(10)
        assert c.sock.recv(100) == b""
    finally:
        c.close()
    # WebSocket over the HTTPS listener (the echo backend echoes messages).
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    with connect(f"wss://a.example.com:{s.port}/ws", sock=sock, ssl=ctx,
                 server_hostname="a.example.com", proxy=None, open_timeout=10) as ws:
        for msg in ("hello", "x" * 70000):
            ws.send(msg)
            assert ws.recv(timeout=10) == msg
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=10) == b"\x00\x01binary"


def test_pipelining_and_unusable_certificate(tmp_path, start_gantry, echo, pki):
    """Pipelined requests over TLS (several requests in one TLS record); a Secret whose PEM does
    not parse leaves the port refusing TLS (logged, process alive) until the Secret is fixed.
    One worker: each worker swaps to a new snapshot on its own (RCU), so with several, the next
    connection may briefly still see the previous one."""
    cert = pki.cert("a", pki.root, dns=["a.example.com"])
    s = HttpsSetup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert},
                   workers=1)
    c = TlsClient(s.port, "a.example.com", client_context(pki.root))
    try:
        c.sock.sendall(b"".join(f"GET /p{i} HTTP/1.1\r\nHost: a.example.com\r\n\r\n".encode()
                                for i in range(5)))
        for i in range(5):
            status, _, body = c.read_response()
            assert status == 200 and json.loads(body)["target"] == f"/p{i}"
    finally:
        c.close()
    # Looks like PEM to the translator, but OpenSSL cannot load it.
    bad = tls_secret("a", cert).replace(
        tls_secret("a", cert).split("tls.crt: ")[1].split("\n")[0],
        __import__("base64").b64encode(b"-----BEGIN CERTIFICATE-----\nAAAA\n"
                                       b"-----END CERTIFICATE-----\n").decode())
    s.dir.write("secret-a.yaml", bad)

    def refused():
        try:
            c = TlsClient(s.port, "a.example.com", client_context(pki.root))
        except (ssl.SSLError, OSError):
            return True
        c.close()
        return False

    wait_until(refused, timeout=10, what="TLS refused with an unusable certificate")
    wait_until(lambda: "TLS not served" in s.gantry.log(), timeout=10, what="the warning")
    s.dir.write("secret-a.yaml", tls_secret("a", cert))
    wait_until(lambda: not refused(), timeout=10, what="TLS served again")
    c = TlsClient(s.port, "a.example.com", client_context(pki.root))
    try:
        assert c.echo_json("a.example.com", "/ok")["target"] == "/ok"
    finally:
        c.close()
