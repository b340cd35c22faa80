"""TLSRoute on a Terminate listener with a BackendTLSPolicy on the backend Service: gantry
terminates the client's TLS and re-encrypts towards the backend (GEP-4274, conformance
BackendTLSPolicyTLSRouteTerminate), verifying the backend with the policy's CA and hostname.

Proof: the client verifies gantry's certificate (the listener's Secret, from the gateway CA); the
backend is a TLS echo server that greets with the SNI, ALPN and client certificate it saw; bytes
echo both ways (1 MiB). A backend whose certificate does not match the policy never receives
plaintext: the handshake fails, the client's connection is closed, gantry logs the reason. A
backend without a policy on the same listener still gets plaintext.
"""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest

from backends.snapshot import free_port
from backends.tls_echo import TlsEchoBackend
from backends.tls_pki import Pki, ca_configmap, tls_secret
from cp_helpers import Admin, ConfigDir, wait_until
from l4_helpers import TcpBackend, l4_route, read_line, service

GATEWAY = """apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: gantry
spec:
  controllerName: gantry.io/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: default
spec:
  gatewayClassName: gantry
  addresses:
    - type: IPAddress
      value: 127.0.0.1
  listeners:
    - name: tls
      protocol: TLS
      port: {port}
      tls:
        mode: Terminate
        certificateRefs:
          - name: gw-cert
      allowedRoutes:
        namespaces:
          from: Same
---
"""


def policy(name: str, service_name: str, hostname: str) -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata:
  name: {name}
  namespace: default
spec:
  targetRefs:
    - group: ""
      kind: Service
      name: {service_name}
  validation:
    hostname: {hostname}
    caCertificateRefs:
      - group: ""
        kind: ConfigMap
        name: backend-ca
---
"""


def policy_condition(admin, name: str, ctype: str) -> str | None:
    """The policy's `ctype` condition status for its first ancestor (the Gateway)."""
    o = admin.obj("BackendTLSPolicy", "default", name)
    if not o or not o["status"].get("ancestors"):
        return None
    for c in o["status"]["ancestors"][0]["conditions"]:
        if c["type"] == ctype:
            return c["status"]
    return None


@pytest.fixture(scope="module")
def env(tmp_path_factory, gantry_bin):
    import conftest

    tmp = tmp_path_factory.mktemp("l4reenc")
    pki = Pki(tmp / "pki")
    gw_ca = pki.ca("Gateway CA")
    backend_ca = pki.ca("Backend CA")
    gw_cert = pki.cert("gw", gw_ca, dns=["*.example.com"])
    good = TlsEchoBackend("good", pki.cert("good", backend_ca, dns=["backend.internal"]))
    bad = TlsEchoBackend("bad", pki.cert("bad", backend_ca, dns=["other.internal"]))
    plain = TcpBackend("plain")
    port, admin_port = free_port(), free_port()
    d = ConfigDir(tmp / "cfg")
    d.write("gw.yaml", GATEWAY.replace("{port}", str(port)) + tls_secret("gw-cert", gw_cert))
    d.write("svc.yaml", service("good", [good.port]) + service("bad", [bad.port])
            + service("plain", [plain.port]))
    d.write("policies.yaml", ca_configmap("backend-ca", backend_ca)
            + policy("p-good", "good", "backend.internal")
            + policy("p-bad", "bad", "backend.internal"))
    d.write("routes.yaml", l4_route("TLSRoute", "good", [("good", 1)], hostnames=["good.example.com"])
            + l4_route("TLSRoute", "bad", [("bad", 1)], hostnames=["bad.example.com"])
            + l4_route("TLSRoute", "plain", [("plain", 1)], hostnames=["plain.example.com"]))
    g = conftest.Gantry(gantry_bin, ["run", "--workers", "1", "--admin-address",
                                     f"127.0.0.1:{admin_port}", "--config", str(d.path)],
                        tmp / "gantry.log", [("127.0.0.1", port)], admin_port)
    try:
        g.wait_ready()
        admin = Admin(g.admin_address)
        wait_until(lambda: policy_condition(admin, "p-good", "Accepted") is not None,
                   timeout=10, what="policy status")
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(str(gw_ca.crt))
        yield type("Env", (), {"port": port, "g": g, "good": good, "bad": bad, "plain": plain,
                               "client": client, "gw_ca": gw_ca, "admin": admin})
    finally:
        g.stop()
        for b in (good, bad, plain):
            b.close()


def connect(env, sni: str) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", env.port), timeout=10)
    return env.client.wrap_socket(raw, server_hostname=sni)  # verifies gantry's certificate


def test_policy_status_accepted_for_tlsroute(env):
    # BackendTLSPolicy status, for the Gateway as ancestor: Accepted and ResolvedRefs.
    for ctype in ("Accepted", "ResolvedRefs"):
        assert policy_condition(env.admin, "p-good", ctype) == "True"


def test_reencrypted_to_backend_with_verification(env):
    with connect(env, "good.example.com") as t:
        assert t.getpeercert()["subject"][0][0][1] == "*.example.com"  # the listener's Secret
        # The backend saw TLS from gantry: SNI = the policy's hostname, no ALPN (opaque bytes).
        assert read_line(t) == b"good sni=backend.internal alpn=None peer=None\n"
        t.sendall(b"hello over two TLS hops\n")
        assert read_line(t) == b"hello over two TLS hops\n"
        big = bytes(range(256)) * 4096  # 1 MiB
        t.sendall(big)
        got = b""
        while len(got) < len(big):
            chunk = t.recv(65536)
            assert chunk, "connection closed early"
            got += chunk
        assert got == big


def test_openssl_s_client_through_reencryption(env):
    p = subprocess.Popen(["openssl", "s_client", "-quiet", "-connect", f"127.0.0.1:{env.port}",
                          "-servername", "good.example.com", "-CAfile", str(env.gw_ca.crt),
                          "-verify_return_error"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert p.stdout.readline() == b"good sni=backend.internal alpn=None peer=None\n"
        p.stdin.write(b"12345\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"12345\n"
    finally:
        p.kill()
        p.wait(5)


def test_backend_failing_verification_gets_no_plaintext(env):
    before = env.bad.handshake_failures
    with connect(env, "bad.example.com") as t:
        t.settimeout(10)
        try:
            t.sendall(b"secret\n")
            data = t.recv(100)
        except (OSError, ssl.SSLError):
            data = b""
        assert data == b""  # closed: nothing from (or to) the backend
    wait_until(lambda: "l4: backend default/bad:80: TLS handshake failed: hostname mismatch"
               in env.g.log(), timeout=5, what="failure logged")
    # gantry aborted the handshake (its verification failed), the backend saw no application data.
    wait_until(lambda: env.bad.handshake_failures > before, timeout=5,
               what="backend saw the handshake fail")


def test_backend_without_policy_stays_plaintext(env):
    with connect(env, "plain.example.com") as t:
        assert read_line(t) == b"plain\n"
        t.sendall(b"abc\n")
        assert read_line(t) == b"abc\n"
