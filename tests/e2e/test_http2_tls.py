"""HTTP/2 over TLS (issue 5): an HTTPS listener offers ALPN "h2" then "http/1.1"; "h2" hands the
connection to the HTTP/2 handler. curl --http2 / --http1.1, an `h2` client over Python's ssl
(OpenSSL) for 421, and h2spec -t over TLS (every section, no exception)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest

from backends.snapshot import free_port
from backends.tls_pki import Pki, tls_secret
from cp_helpers import ConfigDir, backend, gateway_class, http_route
from test_http2_h2spec import run_h2spec
from tls_helpers import https_gateway


@pytest.fixture
def pki(tmp_path):
    p = Pki(tmp_path / "pki")
    p.root = p.ca("Gantry Test CA")
    return p


def setup(tmp_path, start_gantry, echo, listeners, secrets):
    port = free_port()
    d = ConfigDir(tmp_path / "cfg")
    d.write("gateway.yaml", gateway_class() + https_gateway("gw", port, listeners))
    for name, cert in secrets.items():
        d.write(f"secret-{name}.yaml", tls_secret(name, cert))
    d.write("backend.yaml", backend("echo", echo.port))
    d.write("route.yaml", http_route("r", backend_name="echo"))
    g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)])
    return port, g


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True,
                          timeout=30)


def test_alpn_h2_and_http11_fallback(tmp_path, start_gantry, echo, pki):
    cert = pki.cert("a", pki.root, dns=["a.example.com"])
    port, _ = setup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert})
    url = f"https://a.example.com:{port}"
    common = ["--cacert", str(pki.root.crt), "--resolve", f"a.example.com:{port}:127.0.0.1"]
    r = curl("--http2", *common, "-w", "\n%{http_version}", f"{url}/h2?q=1")
    assert r.returncode == 0, r.stderr
    body, _, version = r.stdout.decode().rpartition("\n")
    assert version == "2"
    rec = json.loads(body)
    assert rec["target"] == "/h2?q=1"
    assert ["x-forwarded-proto", "https"] in rec["headers"]
    assert ["Host", f"a.example.com:{port}"] in rec["headers"]
    # A 2 MiB upload and download over h2+TLS (flow control on both sides).
    up = tmp_path / "up.bin"
    up.write_bytes(bytes(range(256)) * 8192)
    r = curl("--http2", *common, "--data-binary", f"@{up}", f"{url}/up")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["body_len"] == 2 << 20
    r = curl("--http2", *common, "-H", f"x-echo-response-bytes: {2 << 20}", "-o", "/dev/null",
             "-w", "%{http_version} %{size_download}", f"{url}/down")
    assert r.stdout.decode() == f"2 {2 << 20}", r.stderr
    # ALPN http/1.1 still gets HTTP/1.1.
    r = curl("--http1.1", *common, "-o", "/dev/null", "-w", "%{http_version}", f"{url}/h1")
    assert r.stdout.decode() == "1.1", r.stderr


def h2_tls(port, sni, ca):
    ctx = ssl.create_default_context(cafile=str(ca.crt))
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname=sni)
    assert s.selected_alpn_protocol() == "h2"
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    conn.initiate_connection()
    s.sendall(conn.data_to_send())
    return s, conn


def h2_get(s, conn, authority, path="/"):
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", authority),
                            (":path", path)], end_stream=True)
    s.sendall(conn.data_to_send())
    status = None
    while True:
        data = s.recv(65536)
        assert data, "connection closed"
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                status = int(dict(ev.headers)[":status"])
            if isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                s.sendall(conn.data_to_send())
                return status
        s.sendall(conn.data_to_send())


def test_misdirected_h2_request_gets_421(tmp_path, start_gantry, echo, pki):
    # RFC 9113 9.1.1 connection reuse: a client may send a request for x.example.com on a
    # connection whose certificate (a.example.com's) also covers it -- but SNI x.example.com would
    # have selected another listener's certificate, so gantry answers 421 (RFC 9110 15.5.20).
    certs = {"exact": pki.cert("exact", pki.root, dns=["a.example.com", "x.example.com"]),
             "wild": pki.cert("wild", pki.root, dns=["*.example.com"])}
    port, _ = setup(tmp_path, start_gantry, echo, [
        {"name": "exact", "hostname": "a.example.com", "certs": ["exact"]},
        {"name": "wild", "hostname": "*.example.com", "certs": ["wild"]},
    ], certs)
    s, conn = h2_tls(port, "a.example.com", pki.root)
    try:
        assert h2_get(s, conn, "a.example.com") == 200
        assert h2_get(s, conn, "x.example.com") == 421
        assert h2_get(s, conn, "a.example.com", "/again") == 200
    finally:
        s.close()


def test_h2spec_all_sections_over_tls(tmp_path, start_gantry, echo, pki):
    cert = pki.cert("a", pki.root, dns=["a.example.com", "127.0.0.1"])
    port, g = setup(tmp_path, start_gantry, echo, [{"name": "https", "certs": ["a"]}], {"a": cert})
    results, log = run_h2spec(port, tmp_path, ["-t", "-k"])
    assert len(results) >= 140, log[-3000:]
    failed = sorted(k for k, v in results.items() if v != "passed")
    assert not failed, f"h2spec failures over TLS: {failed}\n{log[-6000:]}"
    assert g.alive()
