"""Gateway spec.tls.backend.clientCertificateRef: gantry presents the Gateway's client certificate to
backends that ask for one (conformance GatewayBackendClientCertificateFeature), on every upstream
TLS path: HTTP/1.1 (BackendTLSPolicy), h2 over TLS (the HTTP/2 client pool) and TLSRoute
re-encryption (L4).

The backends require a client certificate from the client CA (Python ssl, CERT_REQUIRED) and
report the subject they verified. The same route is attached to a second Gateway without
clientCertificateRef: through it the backends get no certificate and refuse the handshake, so the
certificate is per Gateway, as the field says.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess

import pytest

from backends.echo import EchoBackend
from backends.h2echo import H2EchoBackend
from backends.snapshot import free_port
from backends.tls_echo import TlsEchoBackend
from backends.tls_pki import Pki, ca_configmap, tls_secret
from cp_helpers import Admin, ConfigDir, wait_until
from l4_helpers import l4_route, read_line

GATEWAYS = """apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: gantry
spec:
  controllerName: gantry.io/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw-a
  namespace: default
spec:
  gatewayClassName: gantry
  addresses:
    - type: IPAddress
      value: 127.0.0.1
  tls:
    backend:
      clientCertificateRef:
        kind: Secret
        name: gantry-client
  listeners:
    - name: http
      protocol: HTTP
      port: {http_a}
    - name: tls
      protocol: TLS
      port: {tls_a}
      tls:
        mode: Terminate
        certificateRefs:
          - name: gw-cert
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw-b
  namespace: default
spec:
  gatewayClassName: gantry
  addresses:
    - type: IPAddress
      value: 127.0.0.1
  listeners:
    - name: http
      protocol: HTTP
      port: {http_b}
---
"""


def service(name: str, target_port: int, app_protocol: str | None = None) -> str:
    ap = f"      appProtocol: {app_protocol}\n" if app_protocol else ""
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: default
spec:
  ports:
    - name: p
      port: 80
{ap}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-1
  namespace: default
  labels:
    kubernetes.io/service-name: {name}
addressType: IPv4
ports:
  - name: p
    port: {target_port}
endpoints:
  - addresses: ["127.0.0.1"]
---
"""


def policy(service_name: str) -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata:
  name: {service_name}
  namespace: default
spec:
  targetRefs:
    - group: ""
      kind: Service
      name: {service_name}
  validation:
    hostname: backend.internal
    caCertificateRefs:
      - group: ""
        kind: ConfigMap
        name: backend-ca
---
"""


ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
  namespace: default
spec:
  parentRefs:
    - name: gw-a
      sectionName: http
    - name: gw-b
  rules:
    - matches:
        - path: {type: PathPrefix, value: /h1}
      backendRefs:
        - {name: mtls-h1, port: 80}
    - matches:
        - path: {type: PathPrefix, value: /h2}
      backendRefs:
        - {name: mtls-h2, port: 80}
---
"""


def mtls_ctx(cert, client_ca) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.crt), str(cert.key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(str(client_ca.crt))
    return ctx


@pytest.fixture(scope="module")
def env(tmp_path_factory, gantry_bin):
    import conftest

    tmp = tmp_path_factory.mktemp("clientcert")
    pki = Pki(tmp / "pki")
    backend_ca, client_ca, gw_ca = pki.ca("Backend CA"), pki.ca("Client CA"), pki.ca("Gateway CA")
    server = pki.cert("backend", backend_ca, dns=["backend.internal"])
    client = pki.cert("gantry-client", client_ca, cn="gantry-client", client=True)
    gw_cert = pki.cert("gw", gw_ca, dns=["*.example.com"])
    h1 = EchoBackend("mtls-h1", tls=mtls_ctx(server, client_ca))
    h2 = H2EchoBackend("mtls-h2", tls=mtls_ctx(server, client_ca))
    l4 = TlsEchoBackend("mtls-l4", server, client_ca=client_ca)
    ports = {"http_a": free_port(), "tls_a": free_port(), "http_b": free_port()}
    admin_port = free_port()
    gw = GATEWAYS
    for k, v in ports.items():
        gw = gw.replace("{" + k + "}", str(v))
    d = ConfigDir(tmp / "cfg")
    d.write("gw.yaml", gw + tls_secret("gantry-client", client) + tls_secret("gw-cert", gw_cert))
    d.write("svc.yaml", service("mtls-h1", h1.port) + service("mtls-h2", h2.port,
                                                              "kubernetes.io/h2c")
            + service("mtls-l4", l4.port))
    d.write("policies.yaml", ca_configmap("backend-ca", backend_ca) + policy("mtls-h1")
            + policy("mtls-h2") + policy("mtls-l4"))
    d.write("routes.yaml", ROUTE + l4_route("TLSRoute", "l4", [("mtls-l4", 1)], parent="gw-a",
                                            section="tls", hostnames=["abc.example.com"]))
    g = conftest.Gantry(gantry_bin, ["run", "--workers", "1", "--admin-address",
                                     f"127.0.0.1:{admin_port}", "--config", str(d.path)],
                        tmp / "gantry.log", [("127.0.0.1", p) for p in ports.values()],
                        admin_port)
    try:
        g.wait_ready()
        admin = Admin(g.admin_address)
        wait_until(lambda: admin.route_condition("HTTPRoute", "default", "r", "ResolvedRefs")
                   == "True", timeout=10, what="route resolved")
        tls_client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls_client.load_verify_locations(str(gw_ca.crt))
        yield type("Env", (), {"ports": ports, "g": g, "admin": admin, "h1": h1, "h2": h2,
                               "l4": l4, "tls_client": tls_client})
    finally:
        g.stop()
        h1.close()
        h2.close()
        l4.close()


def curl(args: list[str]) -> tuple[int, str]:
    p = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20",
                        "-H", "Host: example.com", *args], capture_output=True, text=True,
                       timeout=30)
    body, _, code = p.stdout.rpartition("\n")
    return int(code or 0), body


def test_gateway_conditions(env):
    gw = env.admin.obj("Gateway", "default", "gw-a")
    rr = [c for c in gw["status"]["conditions"] if c["type"] == "ResolvedRefs"][0]
    assert rr["status"] == "True", rr


@pytest.mark.parametrize("client", [["--http1.1"], ["--http2-prior-knowledge"]])
def test_http1_backend_sees_the_gateway_certificate(env, client):
    code, body = curl([*client, f"http://127.0.0.1:{env.ports['http_a']}/h1/x"])
    assert code == 200, body
    rec = json.loads(body)
    assert rec["tls"]["sni"] == "backend.internal"
    assert rec["tls"]["peer_subject"] == {"commonName": "gantry-client"}


@pytest.mark.parametrize("client", [["--http1.1"], ["--http2-prior-knowledge"]])
def test_h2_tls_backend_sees_the_gateway_certificate(env, client):
    code, body = curl([*client, f"http://127.0.0.1:{env.ports['http_a']}/h2/x"])
    assert code == 200, body
    rec = json.loads(body)
    assert rec["tls"]["alpn"] == "h2"
    assert rec["tls"]["peer_subject"] == {"commonName": "gantry-client"}


def test_tlsroute_reencryption_presents_the_certificate(env):
    raw = socket.create_connection(("127.0.0.1", env.ports["tls_a"]), timeout=10)
    with env.tls_client.wrap_socket(raw, server_hostname="abc.example.com") as t:
        assert read_line(t) == b"mtls-l4 sni=backend.internal alpn=None peer=gantry-client\n"
        t.sendall(b"ping\n")
        assert read_line(t) == b"ping\n"


def test_gateway_without_certificate_sends_none(env):
    # Same route and backends through gw-b (no clientCertificateRef): the backends require a
    # certificate and refuse the handshake.
    before = (env.h1.tls_failures, len(env.h2.requests))
    code, body = curl(["--http1.1", f"http://127.0.0.1:{env.ports['http_b']}/h1/x"])
    assert code == 502, body
    # The backend counts its failed handshake in its own thread, maybe after gantry answered.
    wait_until(lambda: env.h1.tls_failures > before[0], timeout=5, what="backend refused")
    code, body = curl(["--http1.1", f"http://127.0.0.1:{env.ports['http_b']}/h2/x"])
    assert code == 502, body
    assert len(env.h2.requests) == before[1]


def test_backend_tls_example(tmp_path, start_gantry):
    """examples/backend-tls as its README says: make-certs.sh, backend.py, curl -> the backend
    saw gantry's client certificate and SNI."""
    import shutil
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "examples" / "backend-tls"
    dst = tmp_path / "backend-tls"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("certs", "secrets.yaml"))
    http_port, backend_port = free_port(), free_port()
    for f in dst.glob("*.yaml"):
        f.write_text(f.read_text().replace("8085", str(http_port))
                     .replace("9443", str(backend_port)))
    subprocess.run([str(dst / "make-certs.sh")], check=True, capture_output=True, timeout=60)
    be = subprocess.Popen([sys.executable, str(dst / "backend.py"), "--port", str(backend_port)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert be.stdout.readline().startswith(b"backend on https://")
        start_gantry(config_dir=dst, wait_ports=[("127.0.0.1", http_port)])

        def fetch():
            code, body = curl([f"http://127.0.0.1:{http_port}/hello"])
            return json.loads(body) if code == 200 else None

        rec = wait_until(fetch, timeout=10, what="example served")
        assert rec["client"] == "gantry-client" and rec["sni"] == "backend.internal"
        assert rec["path"] == "/hello"
    finally:
        be.kill()
        be.wait(5)
