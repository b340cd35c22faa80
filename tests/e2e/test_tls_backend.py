"""BackendTLSPolicy end to end: gantry speaks HTTP/1.1 over TLS to an HTTPS echo backend, verified
with the policy's CA and hostname or subjectAltNames; failures answer 502 and are logged; pooled
connections and TLS session resumption to the backend.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import time

from backends.echo import EchoBackend
from backends.snapshot import free_port
from backends.tls_pki import Pki, ca_configmap
from cp_helpers import ConfigDir, backend, gateway, gateway_class, get_via, http_route, wait_until


def policy(name: str, service: str, hostname: str, ca: str = "backend-ca",
           sans: list[tuple[str, str]] | None = None, system: bool = False) -> str:
    out = f"""apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata:
  name: {name}
  namespace: default
spec:
  targetRefs:
    - group: ""
      kind: Service
      name: {service}
  validation:
    hostname: {hostname}
"""
    if system:
        out += "    wellKnownCACertificates: System\n"
    else:
        out += f"""    caCertificateRefs:
      - group: ""
        kind: ConfigMap
        name: {ca}
"""
    if sans:
        out += "    subjectAltNames:\n"
        for kind, value in sans:
            key = "hostname" if kind == "Hostname" else "uri"
            out += f"      - type: {kind}\n        {key}: \"{value}\"\n"
    return out + "---\n"


class BackendTlsSetup:
    """HTTP Gateway -> routes by path prefix to Services backed by HTTPS echo backends. One worker:
    upstream pools and TLS session slots are per worker."""

    def __init__(self, tmp_path, start_gantry, services: dict, policies: str, args=(),
                 workers: int = 1):
        self.port = free_port()
        self.dir = ConfigDir(tmp_path / "cfg")
        self.dir.write("gateway.yaml", gateway_class() + gateway("gw", self.port))
        manifests = ""
        rules = []
        for svc, be in services.items():
            manifests += backend(svc, be.port)
            rules.append({"path": f"/{svc}", "backends": [(svc, 1)]})
        self.dir.write("backends.yaml", manifests)
        self.dir.write("route.yaml", http_route("r", rules=rules))
        self.dir.write("policies.yaml", policies)
        self.gantry = start_gantry(config_dir=self.dir.path, wait_ports=[("127.0.0.1", self.port)],
                                   args=list(args), workers=workers)

    def get(self, path: str, headers: dict | None = None):
        return get_via(self.port, "example.com", path, headers, timeout=15)


def get_h2(port: int, path: str) -> tuple[int, bytes]:
    """GET from an HTTP/2 client (curl, prior knowledge): (status, body)."""
    p = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "15", "-H",
                        "Host: example.com", "-o", "-", "-w", "\n%{http_code}",
                        f"http://127.0.0.1:{port}{path}"], capture_output=True, timeout=25)
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code or 0), body


def server_ctx(cert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.crt), str(cert.key))
    return ctx


def test_backend_tls_verified_pooled_and_resumed(tmp_path, start_gantry):
    pki = Pki(tmp_path / "pki")
    ca = pki.ca("Backend CA")
    cert = pki.cert("backend", ca, dns=["backend.internal"])
    be = EchoBackend("secure", tls=server_ctx(cert))
    try:
        s = BackendTlsSetup(tmp_path, start_gantry, {"secure": be},
                            ca_configmap("backend-ca", ca)
                            + policy("p", "secure", "backend.internal"))
        code, rec = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(s.get("/secure/1")),
                               timeout=10, what="200 through the HTTPS backend")
        assert rec["tls"]["sni"] == "backend.internal"
        assert rec["tls"]["version"] in ("TLSv1.3", "TLSv1.2")
        assert ["x-forwarded-proto", "http"] in rec["headers"]
        # Keep-alive to the backend: the next request reuses the pooled TLS connection.
        code, rec2 = s.get("/secure/2")
        assert code == 200 and rec2["conn"] == rec["conn"] and rec2["index"] == rec["index"] + 1
        # From an HTTP/2 client too (http2/proxy_h1.cc): HTTP/1.1 over TLS, verified, on the
        # same pooled connection (one pool per worker, keyed by endpoint and TLS context).
        code, body = get_h2(s.port, "/secure/from-h2")
        assert code == 200, body
        rec3 = json.loads(body)
        assert rec3["tls"]["sni"] == "backend.internal" and rec3["conn"] == rec["conn"]
        # A new connection (the backend closes the pooled one) resumes the TLS session.
        code, _ = s.get("/secure/3", {"x-echo-close-after-ms": "0"})
        assert code == 200
        time.sleep(0.3)
        results = [s.get(f"/secure/r{i}") for i in range(4)]
        assert all(c == 200 for c, _ in results)
        assert any(r["tls"]["session_reused"] for _, r in results), [r["tls"] for _, r in results]
        # A large body both ways over upstream TLS.
        import urllib.request
        body = bytes(range(256)) * 8192
        req = urllib.request.Request(f"http://127.0.0.1:{s.port}/secure/big", data=body,
                                     headers={"Host": "example.com",
                                              "x-echo-response-bytes": str(5 << 20)})
        with urllib.request.urlopen(req, timeout=20) as r:
            assert r.status == 200 and len(r.read()) == 5 << 20
    finally:
        be.close()


def test_backend_tls_verification_failures_give_502(tmp_path, start_gantry):
    pki = Pki(tmp_path / "pki")
    ca = pki.ca("Backend CA")
    other_ca = pki.ca("Other CA")
    good = pki.cert("good", ca, dns=["backend.internal"],
                    uris=["spiffe://cluster.local/ns/default/sa/backend"])
    foreign = pki.cert("foreign", other_ca, dns=["backend.internal"])
    backends = {
        "sanok": EchoBackend("sanok", tls=server_ctx(good)),
        "urisan": EchoBackend("urisan", tls=server_ctx(good)),
        "wronghost": EchoBackend("wronghost", tls=server_ctx(good)),
        "wrongsan": EchoBackend("wrongsan", tls=server_ctx(good)),
        "wrongca": EchoBackend("wrongca", tls=server_ctx(foreign)),
        "plain": EchoBackend("plain"),
    }
    try:
        policies = ca_configmap("backend-ca", ca)
        policies += policy("sanok", "sanok", "anything.example",
                           sans=[("Hostname", "backend.internal")])
        policies += policy("urisan", "urisan", "backend.internal",
                           sans=[("URI", "spiffe://cluster.local/ns/default/sa/backend")])
        policies += policy("wronghost", "wronghost", "other.internal")
        policies += policy("wrongsan", "wrongsan", "backend.internal",
                           sans=[("URI", "spiffe://cluster.local/ns/default/sa/other")])
        policies += policy("wrongca", "wrongca", "backend.internal")
        policies += policy("plain", "plain", "backend.internal")
        # A plain-HTTP backend never answers the ClientHello: the handshake ends with the
        # connect timeout.
        s = BackendTlsSetup(tmp_path, start_gantry, backends, policies,
                            args=["--upstream-connect-timeout-ms", "1500"])
        wait_until(lambda: s.get("/sanok")[0] == 200, timeout=10, what="sanok served")
        code, rec = s.get("/urisan")
        assert code == 200 and rec["tls"]["sni"] == "backend.internal"
        for name in ("wronghost", "wrongsan", "wrongca"):
            code, body = s.get(f"/{name}")
            assert code == 502, (name, code, body)
            assert body == b"upstream TLS error\n"
            code, body = get_h2(s.port, f"/{name}")  # an HTTP/2 client: the same answer
            assert (code, body) == (502, b"upstream TLS error\n"), (name, code, body)
        # The plain backend waits for the end of a "request head" that never comes: the
        # handshake times out like a connect (503).
        code, body = s.get("/plain")
        assert code == 503, (code, body)
        for name in ("wronghost", "wrongsan", "wrongca", "plain"):
            assert backends[name].done_requests() == []  # nothing was sent in clear text
        log = s.gantry.log()
        assert "backend default/wronghost" in log and "TLS handshake failed" in log, log[-3000:]
        assert "hostname mismatch" in log or "certificate verify failed" in log \
            or "unable to get local issuer certificate" in log, log[-3000:]
    finally:
        for b in backends.values():
            b.close()


def test_reencrypt_and_ca_configmap_change(tmp_path, start_gantry):
    """HTTPS listener -> HTTPS backend (re-encrypt), and a changed CA ConfigMap is applied to new
    backend connections (pooled ones made under the old CA are not reused)."""
    from backends.tls_pki import tls_secret
    from tls_helpers import TlsClient, client_context, https_gateway

    pki = Pki(tmp_path / "pki")
    ca = pki.ca("Backend CA")
    other = pki.ca("Other CA")
    be = EchoBackend("secure", tls=server_ctx(pki.cert("backend", ca, dns=["backend.internal"])))
    front_ca = pki.ca("Front CA")
    front = pki.cert("front", front_ca, dns=["https-listener.org"])
    try:
        port = free_port()
        d = ConfigDir(tmp_path / "cfg")
        d.write("gateway.yaml", gateway_class() + https_gateway(
            "gw", port, [{"name": "https", "certs": ["front"]}]))
        d.write("secret.yaml", tls_secret("front", front))
        d.write("backends.yaml", backend("secure", be.port))
        d.write("route.yaml", http_route("r", backend_name="secure"))
        d.write("ca.yaml", ca_configmap("backend-ca", ca))
        d.write("policy.yaml", policy("p", "secure", "backend.internal"))
        start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)], workers=1)

        def get():
            c = TlsClient(port, "https-listener.org", client_context(front_ca))
            try:
                return c.request("https-listener.org", "/reencrypt")
            finally:
                c.close()

        status, _, body = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(get()),
                                     timeout=10, what="re-encrypted 200")
        rec = json.loads(body)
        assert rec["tls"]["sni"] == "backend.internal"
        assert ["x-forwarded-proto", "https"] in rec["headers"]
        # HTTP/2 clients (ALPN h2 on the HTTPS listener) are re-encrypted too.
        r = subprocess.run(["curl", "-sS", "--http2", "--max-time", "20", "-o", "-",
                            "-w", "\n%{http_version} %{http_code}", "--cacert", str(front_ca.crt),
                            "--resolve", f"https-listener.org:{port}:127.0.0.1",
                            f"https://https-listener.org:{port}/h2"], capture_output=True,
                           timeout=30)
        body, _, tail = r.stdout.decode().rpartition("\n")
        assert tail == "2 200", (r.stdout, r.stderr)
        rec = json.loads(body)
        assert rec["tls"]["sni"] == "backend.internal"
        assert ["x-forwarded-proto", "https"] in rec["headers"]
        # The CA ConfigMap now holds another CA: the backend is no longer trusted.
        d.write("ca.yaml", ca_configmap("backend-ca", other))
        wait_until(lambda: get()[0] == 502, timeout=10, what="502 after the CA change")
        d.write("ca.yaml", ca_configmap("backend-ca", ca))
        wait_until(lambda: get()[0] == 200, timeout=10, what="200 after the CA is restored")
    finally:
        be.close()
