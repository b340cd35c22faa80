"""examples/tcp-tls served for real: copied to a temp folder with its fixed ports replaced by free
ones, backends started in place of the README's, and the README's claims checked."""

from __future__ import annotations

import collections
import shutil
import socket
import subprocess
from pathlib import Path

from backends.snapshot import free_port, free_udp_port
from cp_helpers import ConfigDir, served_by, wait_until
from l4_helpers import Pki, TlsBackend, UdpBackend, peer_cn, read_line, tls_connect

REPO = Path(__file__).resolve().parents[2]


def test_tcp_tls_example(tmp_path, start_gantry, make_echo):
    pki = Pki(tmp_path / "pki")
    secure = TlsBackend("secure.example.com", pki)
    dns = UdpBackend("dns")
    try:
        echoes = {9301: make_echo("app"), 9302: make_echo("primary"), 9303: make_echo("replica")}
        ports = {8443: free_port(), 8444: free_port(), 8445: free_port(), 8053: free_udp_port()}
        backend_ports = {9443: secure.port, 9053: dns.port}
        backend_ports.update({k: e.port for k, e in echoes.items()})
        dst = ConfigDir(tmp_path / "example").path
        for f in (REPO / "examples" / "tcp-tls").glob("*.yaml"):
            text = f.read_text()
            for fixed, new in {**ports, **backend_ports}.items():
                text = text.replace(f"port: {fixed}", f"port: {new}")
            (dst / f.name).write_text(text)
        shutil.copy(REPO / "examples" / "tcp-tls" / "README.md", dst)
        start_gantry(config_dir=dst, wait_ports=[("127.0.0.1", ports[p]) for p in (8443, 8444,
                                                                                  8445)])

        # Passthrough: the backend's own certificate, the SNI forwarded untouched.
        def passthrough():
            with tls_connect(ports[8443], "secure.example.com", 2.0) as t:
                t.sendall(b"hi\n")
                return read_line(t) == b"secure.example.com sni=secure.example.com\n" and \
                    peer_cn(t) == "secure.example.com"
        wait_until(passthrough, 10, what="passthrough route")
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{ports[8443]}",
                              "-servername", "other.example.com"], input=b"",
                             capture_output=True, timeout=10)
        assert b"unrecognized name" in (out.stdout + out.stderr).lower()

        # Terminate: gantry's demo certificate, plaintext HTTP to "app".
        with tls_connect(ports[8444], "app.example.com") as t:
            assert peer_cn(t) == "app.example.com"
        out = subprocess.run(["curl", "-sk", "--max-time", "10", "--resolve",
                              f"app.example.com:{ports[8444]}:127.0.0.1",
                              f"https://app.example.com:{ports[8444]}/hello"],
                             capture_output=True, timeout=20)
        assert b'"backend": "app"' in out.stdout, out

        # TCP 3:1 per connection (served_by opens a new connection each time: no keep-alive).
        counts = collections.Counter(served_by(ports[8445], "x") for _ in range(200))
        assert set(counts) == {"primary", "replica"}, counts
        assert 110 <= counts["primary"] <= 190, counts

        # UDP.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(b"hello", ("127.0.0.1", ports[8053]))
            assert s.recv(100) == b"dns:hello"
    finally:
        secure.close()
        dns.close()
