"""HTTP/2 over TLS to backends (BackendTLSPolicy on an HTTP/2 backend): gantry's multiplexed HTTP/2
client pool negotiates "h2" with ALPN and verifies the backend exactly as the HTTP/1.1 BackendTLS
path does (CA from the policy, validation.hostname as SNI and identity).

- GRPCRoute -> a grpcio server with TLS (grpc.ssl_server_credentials): unary, server streaming,
  client streaming, from a grpcio client speaking h2c to the Gateway.
- HTTPRoute -> a Service with appProtocol kubernetes.io/h2c and a BackendTLSPolicy -> an h2 server
  over TLS (the `h2` library behind Python's ssl): from curl --http1.1 and from curl with HTTP/2
  (prior knowledge); :scheme https, SNI, ALPN h2, concurrent requests multiplexed on one connection,
  session resumption on a new connection.
- Verification failure (certificate for another name, or from another CA) -> 502, and the reason
  in gantry's log.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from concurrent import futures

import grpc
import pytest

from backends.h2echo import H2EchoBackend
from backends.snapshot import free_port
from backends.tls_pki import Pki, ca_configmap
from cp_helpers import Admin, ConfigDir, backend, gateway, gateway_class, http_route, wait_until


def policy(name: str, service: str, hostname: str, ca: str = "backend-ca") -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
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
    caCertificateRefs:
      - group: ""
        kind: ConfigMap
        name: {ca}
---
"""


def h2c_service(name: str, target_port: int) -> str:
    """A Service whose port declares HTTP/2 (GEP-1911 appProtocol kubernetes.io/h2c); with a
    BackendTLSPolicy gantry speaks h2 over TLS to it."""
    return backend(name, target_port).replace(
        "    - name: http\n      port: 80\n",
        "    - name: http\n      port: 80\n      appProtocol: kubernetes.io/h2c\n", 1)


def grpc_route(name: str, service: str, backend_name: str) -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: {name}
  namespace: default
spec:
  parentRefs:
    - name: gw
  hostnames: ["grpc.example.com"]
  rules:
    - matches:
        - method:
            type: Exact
            service: {service}
      backendRefs:
        - name: {backend_name}
          port: 80
---
"""


class TlsGrpcBackend:
    """A grpcio server with TLS; records the peer's TLS details (gRPC auth context) per call."""

    def __init__(self, cert, client_ca=None, port: int = 0):
        self.calls = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers((self,))
        creds = grpc.ssl_server_credentials(
            [(cert.key_pem.encode(), cert.crt_pem.encode())],
            root_certificates=client_ca.crt_pem.encode() if client_ca else None,
            require_client_auth=client_ca is not None)
        self.port = self.server.add_secure_port(f"127.0.0.1:{port}", creds)
        self.server.start()

    def close(self):
        self.server.stop(0)

    def _record(self, ctx, extra=None):
        auth = {k: [v.decode(errors="replace") for v in vs]
                for k, vs in ctx.auth_context().items() if k != "x509_pem_cert"}
        rec = {"method": None, "auth": auth,
               "metadata": [list(m) for m in ctx.invocation_metadata()]}
        rec.update(extra or {})
        self.calls.append(rec)
        return rec

    def service(self, details):
        name = details.method.rsplit("/", 1)[1]
        if name.startswith("Unary"):
            def unary(req, ctx):
                rec = self._record(ctx, {"len": len(req)})
                ctx.set_trailing_metadata((("x-trailer", "tls-backend"),))
                return json.dumps(rec).encode() + b"|" + req
            return grpc.unary_unary_rpc_method_handler(unary)
        if name.startswith("ServerStream"):
            def server_stream(req, ctx):
                self._record(ctx)
                for i in range(int(req.decode())):
                    yield f"m{i}:".encode() + b"y" * 2000
            return grpc.unary_stream_rpc_method_handler(server_stream)
        if name.startswith("ClientStream"):
            def client_stream(it, ctx):
                total = sum(len(m) for m in it)
                self._record(ctx)
                return str(total).encode()
            return grpc.stream_unary_rpc_method_handler(client_stream)
        return None


def server_ctx(cert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.crt), str(cert.key))
    return ctx


def curl(args: list[str], timeout: float = 20) -> tuple[int, str]:
    """(status code, body) from curl; status 0 when curl failed."""
    p = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time",
                        str(int(timeout)), *args], capture_output=True, text=True,
                       timeout=timeout + 5)
    body, _, code = p.stdout.rpartition("\n")
    return int(code or 0), body


@pytest.fixture(scope="module")
def env(tmp_path_factory, gantry_bin):
    """One gantry (one worker: pools are per worker) and the TLS backends for the whole module."""
    import conftest

    tmp = tmp_path_factory.mktemp("h2tls")
    pki = Pki(tmp / "pki")
    ca = pki.ca("Backend CA")
    other_ca = pki.ca("Other CA")
    grpc_cert = pki.cert("grpc", ca, dns=["grpc.internal"])
    h2_cert = pki.cert("h2", ca, dns=["h2.internal"])
    wrong_name = pki.cert("wrong-name", ca, dns=["other.internal"])
    wrong_ca = pki.cert("wrong-ca", other_ca, dns=["h2.internal"])
    # gRPC servers start after gantry: forking (Popen with preexec_fn) while grpcio's threads run
    # can abort the child in grpcio's fork handlers. Their ports are picked now.
    grpc_port, grpc_bad_port = free_port(), free_port()
    backends = {
        "h2": H2EchoBackend("h2tls", tls=server_ctx(h2_cert)),
        "badname": H2EchoBackend("badname", tls=server_ctx(wrong_name)),
        "badca": H2EchoBackend("badca", tls=server_ctx(wrong_ca)),
    }
    port, admin_port = free_port(), free_port()
    d = ConfigDir(tmp / "cfg")
    d.write("gw.yaml", gateway_class() + gateway("gw", port))
    d.write("svc.yaml", backend("grpc-tls", grpc_port)
            + backend("grpc-badname", grpc_bad_port)
            + h2c_service("h2-tls", backends["h2"].port)
            + h2c_service("h2-badname", backends["badname"].port)
            + h2c_service("h2-badca", backends["badca"].port))
    d.write("policies.yaml", ca_configmap("backend-ca", ca)
            + policy("p-grpc", "grpc-tls", "grpc.internal")
            + policy("p-grpc-bad", "grpc-badname", "grpc.internal")
            + policy("p-h2", "h2-tls", "h2.internal")
            + policy("p-badname", "h2-badname", "h2.internal")
            + policy("p-badca", "h2-badca", "h2.internal"))
    d.write("routes.yaml", grpc_route("g", "echo.Tls", "grpc-tls")
            + grpc_route("g-bad", "echo.Bad", "grpc-badname")
            + http_route("r", hostnames=["example.com"], rules=[
                {"path": "/h2", "backends": [("h2-tls", 1)]},
                {"path": "/badname", "backends": [("h2-badname", 1)]},
                {"path": "/badca", "backends": [("h2-badca", 1)]}]))
    g = conftest.Gantry(gantry_bin, ["run", "--workers", "1", "--admin-address",
                                     f"127.0.0.1:{admin_port}", "--config", str(d.path)],
                        tmp / "gantry.log", [("127.0.0.1", port)], admin_port)
    try:
        g.wait_ready()
        backends["grpc"] = TlsGrpcBackend(grpc_cert, port=grpc_port)
        backends["badname-grpc"] = TlsGrpcBackend(wrong_name, port=grpc_bad_port)
        admin = Admin(g.admin_address)
        for kind, name in (("GRPCRoute", "g"), ("HTTPRoute", "r")):
            wait_until(lambda: admin.route_condition(kind, "default", name, "ResolvedRefs")
                       == "True", timeout=10, what=f"{kind} {name} resolved")
        # GRPCRoute and HTTPRoute must not share a hostname on one listener (GRPCRoute spec).
        ch = grpc.insecure_channel(f"127.0.0.1:{port}",
                                   options=[("grpc.default_authority", "grpc.example.com")])
        grpc.channel_ready_future(ch).result(timeout=10)
        yield type("Env", (), {"port": port, "g": g, "ch": ch, "backends": backends})
        ch.close()
    finally:
        g.stop()
        for b in backends.values():
            b.close()


def test_grpcroute_to_tls_backend_unary_and_streaming(env):
    fn = env.ch.unary_unary("/echo.Tls/Unary_One")
    resp, call = fn.with_call(b"hello", metadata=[("x-custom", "v1")], timeout=15)
    rec = json.loads(resp.split(b"|", 1)[0])
    assert resp.split(b"|", 1)[1] == b"hello"
    assert call.code() == grpc.StatusCode.OK
    assert ("x-trailer", "tls-backend") in call.trailing_metadata()
    # The backend saw a TLS connection (gRPC's auth context), and the metadata went through.
    assert rec["auth"]["transport_security_type"] == ["ssl"], rec["auth"]
    assert ["x-custom", "v1"] in rec["metadata"]
    # Server streaming: 300 messages of 2 KB.
    msgs = list(env.ch.unary_stream("/echo.Tls/ServerStream_N")(b"300", timeout=20))
    assert len(msgs) == 300 and msgs[299].startswith(b"m299:")
    # Client streaming: 200 messages of 4 KB up.
    total = env.ch.stream_unary("/echo.Tls/ClientStream_S")(
        iter([b"z" * 4096] * 200), timeout=20)
    assert total == str(200 * 4096).encode()


def test_grpcroute_tls_verification_failure_is_unavailable(env):
    with pytest.raises(grpc.RpcError) as e:
        env.ch.unary_unary("/echo.Bad/Unary_X")(b"x", timeout=15)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert env.backends["badname-grpc"].calls == []
    wait_until(lambda: "backend default/grpc-badname:80" in env.g.log()
               and "hostname mismatch" in env.g.log(), timeout=5, what="TLS failure logged")


def test_http1_client_to_h2_tls_backend(env):
    code, body = curl(["--http1.1", "-H", "Host: example.com", "-H", "x-test: 1",
                       f"http://127.0.0.1:{env.port}/h2/one?q=1"])
    assert code == 200, body
    rec = json.loads(body)
    assert rec["scheme"] == "https" and rec["path"] == "/h2/one?q=1"
    assert rec["authority"] == "example.com"
    assert ["x-test", "1"] in rec["headers"]
    assert rec["tls"]["sni"] == "h2.internal"
    assert rec["tls"]["alpn"] == "h2"
    assert rec["tls"]["version"] in ("TLSv1.3", "TLSv1.2")
    # A request body both ways (POST, echoed back).
    payload = bytes(range(256)) * 4096  # 1 MiB
    p = subprocess.run(["curl", "-sS", "--http1.1", "--max-time", "20", "-H", "Host: example.com",
                        "-H", "x-h2-echo-body: 1", "--data-binary", "@-",
                        f"http://127.0.0.1:{env.port}/h2/echo"], input=payload,
                       capture_output=True, timeout=30)
    assert p.returncode == 0 and p.stdout == payload


def test_http2_client_to_h2_tls_backend_multiplexed(env):
    be = env.backends["h2"]
    before = be.connections
    # Twenty concurrent requests from one HTTP/2 client connection (curl with prior knowledge);
    # the backend answers slowly so that they overlap on gantry's upstream connection.
    urls = [f"http://127.0.0.1:{env.port}/h2/m{i}" for i in range(20)]
    p = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--parallel",
                        "--parallel-immediate", "--parallel-max", "20", "--max-time", "30",
                        "-H", "Host: example.com", "-H", "x-h2-sleep-ms: 200",
                        "-w", "\n%{http_code}\n", *urls],
                       capture_output=True, text=True, timeout=40)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("\n200\n") == 20, p.stdout[-500:]
    recs = [r for r in be.requests if r["path"].startswith("/h2/m")]
    assert len(recs) == 20
    assert all(r["tls"]["alpn"] == "h2" and r["scheme"] == "https" for r in recs)
    # Multiplexed: all on the connection(s) already open, at most one new one.
    assert be.connections - before <= 1, (before, be.connections)
    assert len({r["conn"] for r in recs}) == 1
    assert be.max_active > 1


def test_h2_tls_session_resumed_on_new_connection(env):
    be = env.backends["h2"]
    # The backend closes the connection after answering (GOAWAY): the next request opens a new
    # TLS connection, which resumes the session the worker kept for this backend.
    code, _ = curl(["--http1.1", "-H", "Host: example.com", "-H", "x-h2-goaway: 1",
                    f"http://127.0.0.1:{env.port}/h2/bye"])
    assert code == 200
    time.sleep(0.3)
    code, body = curl(["--http1.1", "-H", "Host: example.com",
                       f"http://127.0.0.1:{env.port}/h2/again"])
    assert code == 200
    rec = json.loads(body)
    assert rec["tls"]["session_reused"] is True, rec["tls"]


@pytest.mark.parametrize("path,reason", [("/badname", "hostname mismatch"),
                                         ("/badca", "unable to get local issuer certificate")])
def test_h2_tls_verification_failures_give_502(env, path, reason):
    for args in (["--http1.1"], ["--http2-prior-knowledge"]):
        code, body = curl([*args, "-H", "Host: example.com", f"http://127.0.0.1:{env.port}{path}"])
        assert code == 502, (args, code, body)
    name = path.strip("/")
    assert not env.backends[name].requests
    assert f"backend default/h2-{name}:80" in env.g.log() and reason in env.g.log()
