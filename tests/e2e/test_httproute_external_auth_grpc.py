"""HTTPRoute ExternalAuth filter, protocol GRPC (Gateway API GRPCAuthConfig: the Envoy ext_authz
envoy.service.auth.v3.Authorization/Check API), end to end: a real grpcio ext_authz server, the
echo backend, HTTP/1.1 (http.client) and HTTP/2 (curl --http2-prior-knowledge) clients.

The messages are compiled at test time with grpcio-tools from the same minimal .proto files gantry
is built with (src/dataplane/filters/proto: upstream packages, names and field numbers).

The auth server's policy, by the client's Authorization:
  Bearer good        OK; ok_response sets x-auth-user (no append: replaces the client's), appends
                     x-trace (append true), adds x-default only if absent (ADD_IF_ABSENT),
                     overwrites x-only-if-present only if present (OVERWRITE_IF_EXISTS), removes
                     x-remove-me (headers_to_remove), tries to change host (ignored)
  Bearer grpc-error  the call fails with gRPC UNAVAILABLE (gantry fails closed: 403)
  Bearer plain-deny  status PERMISSION_DENIED without denied_response (403)
  anything else      status UNAUTHENTICATED with denied_response 401, a WWW-Authenticate header
                     and a JSON body
It records every CheckRequest and the gRPC peer (client connection) of each call."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path

import pytest

from backends.echo import header_values
from backends.snapshot import free_port
from cp_helpers import Setup, backend, served_by

REPO = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO / "src" / "dataplane" / "filters" / "proto"


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """The ext_authz message classes, compiled from gantry's .proto files with grpcio-tools."""
    import importlib

    grpc_tools = pytest.importorskip("grpc_tools")
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("authpb")
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = [str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto")]
    rc = protoc.main(["protoc", f"-I{PROTO_DIR}", f"-I{well_known}", f"--python_out={out}",
                      *protos])
    assert rc == 0, "grpc_tools.protoc failed"
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("envoy.service.auth.v3.external_auth_pb2")
    finally:
        sys.path.remove(str(out))


class GrpcAuthServer:
    def __init__(self, pb):
        import grpc

        self.pb = pb
        self.checks: list = []
        self.peers: list[str] = []
        self.lock = threading.Lock()

        def check(req, ctx):
            with self.lock:
                self.checks.append(req)
                self.peers.append(ctx.peer())
            return self.decide(req, ctx)

        handler = grpc.method_handlers_generic_handler(
            "envoy.service.auth.v3.Authorization",
            {"Check": grpc.unary_unary_rpc_method_handler(
                check, request_deserializer=pb.CheckRequest.FromString,
                response_serializer=pb.CheckResponse.SerializeToString)})
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def decide(self, req, ctx):
        import grpc
        from envoy.config.core.v3 import base_pb2

        pb = self.pb
        Opt = base_pb2.HeaderValueOption
        auth = req.attributes.request.http.headers.get("authorization", "")
        if auth == "Bearer good":
            ok = pb.OkHttpResponse()

            def add(key, value, **kw):
                ok.headers.append(Opt(header=base_pb2.HeaderValue(key=key, value=value), **kw))

            add("x-auth-user", "alice")
            add("x-trace", "from-auth", append={"value": True})
            add("x-default", "d", append_action=Opt.ADD_IF_ABSENT)
            add("x-only-if-present", "o", append_action=Opt.OVERWRITE_IF_EXISTS)
            add("host", "evil.example")
            ok.headers_to_remove.append("x-remove-me")
            return pb.CheckResponse(status={"code": 0}, ok_response=ok)
        if auth == "Bearer grpc-error":
            ctx.abort(grpc.StatusCode.UNAVAILABLE, "auth store down")
        if auth == "Bearer plain-deny":
            return pb.CheckResponse(status={"code": 7, "message": "no"})
        denied = pb.DeniedHttpResponse(status={"code": 401}, body='{"error": "unauthenticated"}')
        denied.headers.append(Opt(header=base_pb2.HeaderValue(key="www-authenticate",
                                                              value='Bearer realm="grpc-test"')))
        denied.headers.append(Opt(header=base_pb2.HeaderValue(key="content-type",
                                                              value="application/json")))
        return pb.CheckResponse(status={"code": 16}, denied_response=denied)

    def close(self):
        self.server.stop(0)


@pytest.fixture
def auth(pb):
    a = GrpcAuthServer(pb)
    yield a
    a.close()


def route(allowed_headers=None, auth_service="auth", forward_body=None) -> str:
    grpc_cfg = "            grpc: {}\n"
    if allowed_headers is not None:
        grpc_cfg = f"            grpc:\n              allowedHeaders: {json.dumps(allowed_headers)}\n"
    if forward_body is not None:
        grpc_cfg += f"            forwardBody: {{maxSize: {forward_body}}}\n"
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: protected
  namespace: default
spec:
  parentRefs:
    - name: gw
  hostnames: ["api.example"]
  rules:
    - matches:
        - path: {{type: PathPrefix, value: /api}}
      filters:
        - type: ExternalAuth
          externalAuth:
            protocol: GRPC
            backendRef: {{name: {auth_service}, port: 80}}
{grpc_cfg}      backendRefs:
        - name: echo
          port: 80
    - matches:
        - path: {{type: PathPrefix, value: /public}}
      backendRefs:
        - name: echo
          port: 80
---
"""


def request(port, method, path, headers=None, body=None, host="api.example"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    c.request(method, path, body=body, headers={"Host": host, **(headers or {})})
    r = c.getresponse()
    data = r.read()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    c.close()
    return out


def setup(tmp_path, start_gantry, make_echo, auth, auth_port=None, **kw):
    echo = make_echo("echo")
    extra = {"auth.yaml": backend("auth", auth_port or auth.port)}
    s = Setup(tmp_path, start_gantry, [echo], route=route(**kw), extra=extra)
    wait_ok = lambda: served_by(s.port, "api.example", "/public") == "echo"  # noqa: E731
    from cp_helpers import wait_until
    wait_until(wait_ok, what="routes")
    return s, echo


def test_grpc_allowed_request_gets_ok_response_headers(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth)
    status, _, body = request(s.port, "GET", "/api/items?q=1",
                              {"Authorization": "Bearer good", "X-Auth-User": "mallory",
                               "X-Trace": "from-client", "X-Remove-Me": "secret",
                               "X-Tenant": "t1"})
    assert status == 200, body
    seen = json.loads(body)
    assert seen["backend"] == "echo" and seen["target"] == "/api/items?q=1"
    h = seen["headers"]
    assert header_values(h, "x-auth-user") == ["alice"]  # replaced, not appended
    assert header_values(h, "x-trace") == ["from-client", "from-auth"]  # append: true
    assert header_values(h, "x-default") == ["d"]  # ADD_IF_ABSENT, absent
    assert header_values(h, "x-only-if-present") == []  # OVERWRITE_IF_EXISTS, absent
    assert header_values(h, "x-remove-me") == []  # headers_to_remove
    assert header_values(h, "host") == ["api.example"]  # Host is never changed
    assert header_values(h, "x-tenant") == ["t1"]

    # What the auth server saw: AttributeContext.request.http and the source address.
    http_attrs = auth.checks[-1].attributes.request.http
    assert http_attrs.method == "GET"
    assert http_attrs.path == "/api/items?q=1"
    assert http_attrs.host == "api.example"
    assert http_attrs.scheme == "http"
    assert http_attrs.protocol == "HTTP/1.1"
    assert http_attrs.body == "" and http_attrs.size in (0, -1)
    hdrs = dict(http_attrs.headers)
    # GRPCAuthConfig.allowedHeaders empty: every header is sent (with the pseudo-fields).
    assert hdrs["authorization"] == "Bearer good"
    assert hdrs["x-tenant"] == "t1" and hdrs["x-remove-me"] == "secret"
    assert hdrs[":method"] == "GET" and hdrs[":path"] == "/api/items?q=1"
    assert hdrs[":authority"] == "api.example"
    assert all(k == k.lower() for k in hdrs)
    src = auth.checks[-1].attributes.source.address.socket_address
    assert src.address == "127.0.0.1" and src.port_value > 0

    # ADD_IF_ABSENT does not replace a value the client sent; OVERWRITE_IF_EXISTS replaces one.
    status, _, body = request(s.port, "GET", "/api/x", {"Authorization": "Bearer good",
                                                        "X-Default": "mine",
                                                        "X-Only-If-Present": "c"})
    h = json.loads(body)["headers"]
    assert header_values(h, "x-default") == ["mine"]
    assert header_values(h, "x-only-if-present") == ["o"]


def test_grpc_allowed_headers_limit_what_is_sent(tmp_path, start_gantry, make_echo, auth):
    s, _ = setup(tmp_path, start_gantry, make_echo, auth,
                 allowed_headers=["authorization", "x-tenant"])
    status, _, _ = request(s.port, "GET", "/api/items",
                           {"Authorization": "Bearer good", "X-Tenant": "t1", "X-Other": "no"})
    assert status == 200
    http_attrs = auth.checks[-1].attributes.request.http
    assert dict(http_attrs.headers) == {"authorization": "Bearer good", "x-tenant": "t1"}
    assert http_attrs.host == "api.example" and http_attrs.method == "GET"


def test_grpc_denials_and_errors(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth)
    echo.reset()
    status, headers, body = request(s.port, "GET", "/api/items", {"Authorization": "Bearer bad"})
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="grpc-test"'
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "unauthenticated"}
    status, _, body = request(s.port, "HEAD", "/api/items")
    assert status == 401 and body == b""
    # Denied without a DeniedHttpResponse: 403 (Envoy's default).
    assert request(s.port, "GET", "/api/items", {"Authorization": "Bearer plain-deny"})[0] == 403
    # The call itself fails (grpc-status UNAVAILABLE): fail closed.
    assert request(s.port, "GET", "/api/items", {"Authorization": "Bearer grpc-error"})[0] == 403
    assert not echo.requests  # nothing reached the backend
    before = len(auth.checks)
    assert request(s.port, "GET", "/public/x")[0] == 200  # the unprotected rule is not checked
    assert len(auth.checks) == before


def test_grpc_checks_share_http2_connections(tmp_path, start_gantry, make_echo, auth):
    s, _ = setup(tmp_path, start_gantry, make_echo, auth)
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=15)
    for i in range(40):
        c.request("GET", f"/api/{i}", headers={"Host": "api.example",
                                               "Authorization": "Bearer good" if i % 2 else "x"})
        r = c.getresponse()
        r.read()
        assert r.status == (200 if i % 2 else 401)
    c.close()
    paths = [ch.attributes.request.http.path for ch in auth.checks]
    assert [p for p in paths if p.startswith("/api/")] == [f"/api/{i}" for i in range(40)]
    # One pooled HTTP/2 connection per worker carries the calls (not one connection per check).
    assert len(set(auth.peers)) <= 4, set(auth.peers)


def test_grpc_unreachable_auth_server_fails_closed(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth, auth_port=free_port())
    echo.reset()
    assert request(s.port, "GET", "/api/items", {"Authorization": "Bearer good"})[0] == 403
    assert not echo.requests


def test_grpc_not_an_ext_authz_server_fails_closed(tmp_path, start_gantry, make_echo, auth):
    """An HTTP/1.1 server (the echo backend) behind a GRPC ExternalAuth: 403, never allowed."""
    echo = make_echo("echo")
    extra = {"auth.yaml": backend("auth", echo.port)}
    s = Setup(tmp_path, start_gantry, [echo], route=route(), extra=extra)
    from cp_helpers import wait_until
    wait_until(lambda: served_by(s.port, "api.example", "/public") == "echo", what="routes")
    assert request(s.port, "GET", "/api/items", {"Authorization": "Bearer good"})[0] == 403


def _curl_h2(port, path, headers=(), data=None):
    cmd = ["curl", "-s", "--http2-prior-knowledge", "-D", "-", "-H", "Host: api.example",
           f"http://127.0.0.1:{port}{path}"]
    for h in headers:
        cmd[1:1] = ["-H", h]
    if data is not None:
        cmd[1:1] = ["--data-binary", "@-"]
    out = subprocess.run(cmd, capture_output=True, timeout=20, check=True, input=data).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].startswith("HTTP/2 "), lines[0]
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


def test_grpc_http2_clients(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth)
    echo.reset()
    status, headers, body = _curl_h2(s.port, "/api/items")
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="grpc-test"'
    assert json.loads(body) == {"error": "unauthenticated"}
    assert not echo.requests
    status, _, body = _curl_h2(s.port, "/api/items?x=1",
                               ["Authorization: Bearer good", "X-Auth-User: mallory",
                                "X-Remove-Me: s"])
    assert status == 200, body
    seen = json.loads(body)
    assert seen["target"] == "/api/items?x=1"
    assert header_values(seen["headers"], "x-auth-user") == ["alice"]
    assert header_values(seen["headers"], "x-remove-me") == []
    http_attrs = auth.checks[-1].attributes.request.http
    assert http_attrs.protocol == "HTTP/2" and http_attrs.path == "/api/items?x=1"


def test_grpc_forward_body(tmp_path, start_gantry, make_echo, auth):
    """forwardBody.maxSize: attributes.request.http.body carries the first maxSize bytes (raw_body
    when they are not UTF-8), size the whole body's; the backend gets the whole body."""
    import hashlib

    s, echo = setup(tmp_path, start_gantry, make_echo, auth, forward_body=2000)
    text = ("{\"q\":\"" + "é" * 3000 + "\"}").encode()  # 6,008 bytes of UTF-8
    status, _, body = request(s.port, "POST", "/api/t", {"Authorization": "Bearer good",
                                                         "Content-Type": "application/json"},
                              text)
    assert status == 200, body
    seen = json.loads(body)
    assert seen["body_len"] == len(text)
    assert seen["body_sha256"] == hashlib.sha256(text).hexdigest()
    http_attrs = auth.checks[-1].attributes.request.http
    assert http_attrs.size == len(text)
    assert http_attrs.body == text[:2000].decode()  # 2000 is on a character boundary here

    binary = bytes(range(256)) * 40  # not UTF-8
    status, _, body = _curl_h2(s.port, "/api/b", ["Authorization: Bearer good"], data=binary)
    assert status == 200, body
    assert json.loads(body)["body_len"] == len(binary)
    http_attrs = auth.checks[-1].attributes.request.http
    assert http_attrs.raw_body == binary[:2000] and http_attrs.body == ""
    assert http_attrs.size == len(binary)

    # No body: size 0.
    assert request(s.port, "GET", "/api/none", {"Authorization": "Bearer good"})[0] == 200
    assert auth.checks[-1].attributes.request.http.size == 0
