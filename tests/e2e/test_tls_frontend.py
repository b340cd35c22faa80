"""Frontend client-certificate validation end to end (Gateway spec.tls.frontend): default and
per-port CA bundles, AllowValidOnly and AllowInsecureFallback, with real client certificates
(Python ssl and openssl s_client), and session resumption under validation.
"""

from __future__ import annotations

import ssl

import pytest

from backends.snapshot import free_port
from backends.tls_pki import Pki, ca_configmap, tls_secret
from cp_helpers import Admin, ConfigDir, backend, gateway_class, http_route, wait_until
from tls_helpers import TlsClient, client_context, https_gateway, s_client


def frontend_yaml(default_ca: str, per_port: dict[int, str] | None = None,
                  mode: str = "AllowValidOnly") -> str:
    out = f"""default:
  validation:
    mode: {mode}
    caCertificateRefs:
      - group: ""
        kind: ConfigMap
        name: {default_ca}
"""
    if per_port:
        out += "perPort:\n"
        for port, ca in per_port.items():
            out += f"""  - port: {port}
    tls:
      validation:
        mode: {mode}
        caCertificateRefs:
          - group: ""
            kind: ConfigMap
            name: {ca}
"""
    return out


class MtlsSetup:
    """Gateway `gw` with two HTTPS listeners on two ports (the second one gets the per-port CA),
    client CAs ca1/ca2 as ConfigMaps, one route to the echo backend."""

    def __init__(self, tmp_path, start_gantry, echo, mode: str = "AllowValidOnly"):
        self.pki = Pki(tmp_path / "pki")
        self.server_ca = self.pki.ca("Server CA")
        self.ca1 = self.pki.ca("Client CA One", "ca1")
        self.ca2 = self.pki.ca("Client CA Two", "ca2")
        self.c1 = self.pki.cert("client1", self.ca1, cn="client-one", client=True)
        self.c2 = self.pki.cert("client2", self.ca2, cn="client-two", client=True)
        self.c1_ec = self.pki.cert("client1-ec", self.ca1, cn="client-one-ec", client=True,
                                   key="ec")
        srv = self.pki.cert("srv", self.server_ca, dns=["a.example.com", "b.example.com"])
        self.port1, self.port2 = free_port(), free_port()
        self.dir = ConfigDir(tmp_path / "cfg")
        gw = https_gateway("gw", self.port1, [
            {"name": "one", "hostname": "a.example.com", "certs": ["srv"]},
            {"name": "two", "hostname": "b.example.com", "certs": ["srv"], "port": self.port2},
        ], frontend=frontend_yaml("ca1", {self.port2: "ca2"}, mode))
        self.dir.write("gateway.yaml", gateway_class() + gw)
        self.dir.write("secrets.yaml", tls_secret("srv", srv) + ca_configmap("ca1", self.ca1)
                       + ca_configmap("ca2", self.ca2))
        self.dir.write("backend.yaml", backend("echo", echo.port))
        self.dir.write("route.yaml", http_route("r", backend_name="echo"))
        self.gantry = start_gantry(config_dir=self.dir.path,
                                   wait_ports=[("127.0.0.1", self.port1),
                                               ("127.0.0.1", self.port2)])
        self.admin = Admin(self.gantry.admin_address)

    def get(self, port: int, host: str, cert) -> dict:
        c = TlsClient(port, host, client_context(self.server_ca, cert))
        try:
            return c.echo_json(host, "/")
        finally:
            c.close()

    def refused(self, port: int, host: str, cert) -> bool:
        """True when the TLS connection cannot be used (TLS 1.3: the alert comes after the
        client's handshake finished, on its first read)."""
        try:
            c = TlsClient(port, host, client_context(self.server_ca, cert))
        except (ssl.SSLError, OSError):
            return True
        try:
            c.request(host, "/")
            return False
        except (ssl.SSLError, OSError, ConnectionError):
            return True
        finally:
            c.close()


def test_client_certificate_required_default_and_per_port(tmp_path, start_gantry, echo):
    s = MtlsSetup(tmp_path, start_gantry, echo)
    # Default validation (ca1) on port 1.
    assert s.get(s.port1, "a.example.com", s.c1)["target"] == "/"
    assert s.get(s.port1, "a.example.com", s.c1_ec)["target"] == "/"
    assert s.refused(s.port1, "a.example.com", s.c2)  # signed by the other CA
    assert s.refused(s.port1, "a.example.com", None)  # none presented
    # Per-port override (ca2) on port 2.
    assert s.get(s.port2, "b.example.com", s.c2)["target"] == "/"
    assert s.refused(s.port2, "b.example.com", s.c1)
    assert s.refused(s.port2, "b.example.com", None)
    # Over TLS 1.2 the failure is a handshake failure.
    with pytest.raises((ssl.SSLError, OSError)):
        TlsClient(s.port1, "a.example.com",
                  client_context(s.server_ca, s.c2, max_version=ssl.TLSVersion.TLSv1_2))
    assert len(echo.done_requests()) == 3
    # The CertificateRequest names the port's CA, so clients can pick the right certificate.
    out = s_client(s.port1, "-CAfile", str(s.server_ca.crt), "-cert", str(s.c1.crt), "-key",
                   str(s.c1.key), servername="a.example.com")
    assert "Acceptable client certificate CA names" in out and "CN = Client CA One" in out, out
    assert "Verify return code: 0 (ok)" in out


def test_client_certificate_session_resumption(tmp_path, start_gantry, echo):
    s = MtlsSetup(tmp_path, start_gantry, echo)
    ctx = client_context(s.server_ca, s.c1)
    c = TlsClient(s.port1, "a.example.com", ctx)
    c.echo_json("a.example.com")
    session = c.sock.session
    c.close()
    c = TlsClient(s.port1, "a.example.com", ctx, session=session)
    try:
        assert c.sock.session_reused  # the verdict of the first handshake is kept
        assert c.echo_json("a.example.com", "/again")["target"] == "/again"
    finally:
        c.close()
    # A ticket from port 1 (ca1) is not resumed on port 2 (ca2, another TLS config, though the
    # ticket keys are the same): full handshake, so the client certificate is validated again.
    ctx2 = client_context(s.server_ca, s.c1)
    c = TlsClient(s.port1, "a.example.com", ctx2)
    c.request("a.example.com", "/")
    session = c.sock.session
    c.close()
    assert s.refused(s.port2, "b.example.com", s.c1)
    try:
        c = TlsClient(s.port2, "b.example.com", ctx2, session=session)
        reused = c.sock.session_reused
        c.close()
    except (ssl.SSLError, OSError):
        reused = False
    assert not reused


def test_allow_insecure_fallback(tmp_path, start_gantry, echo):
    s = MtlsSetup(tmp_path, start_gantry, echo, mode="AllowInsecureFallback")
    for port, host in ((s.port1, "a.example.com"), (s.port2, "b.example.com")):
        assert s.get(port, host, s.c1)["target"] == "/"
        assert s.get(port, host, s.c2)["target"] == "/"
        assert s.get(port, host, None)["target"] == "/"
    cond = wait_until(lambda: s.admin.condition("Gateway", "default", "gw",
                                                "InsecureFrontendValidationMode"),
                      what="InsecureFrontendValidationMode condition")
    assert cond["status"] == "True", cond
