"""HTTPRoute ExternalAuth filter, HTTP protocol (Gateway API HTTPExternalAuthFilter/HTTPAuthConfig),
end to end: a real HTTP auth server, the echo backend, curl-like clients (http.client).

The auth server allows "Authorization: Bearer good" (200 + identity headers), denies anything else
with 401, a WWW-Authenticate challenge and a JSON body. It records every check it receives."""

from __future__ import annotations

import http.client
import http.server
import json
import threading

import pytest

from backends.echo import header_values
from backends.snapshot import free_port
from cp_helpers import Setup, backend, find_condition, served_by, wait_until


class AuthServer:
    def __init__(self):
        self.checks: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.checks.append({"method": self.command, "path": self.path,
                                     "headers": [[k, v] for k, v in self.headers.items()],
                                     "body": body})
                if self.headers.get("authorization") == "Bearer good":
                    self.send_response(200)
                    self.send_header("x-auth-user", "alice")
                    self.send_header("x-auth-role", "admin")
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                payload = json.dumps({"error": "unauthenticated"}).encode()
                self.send_response(401)
                self.send_header("www-authenticate", 'Bearer realm="gantry-test"')
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def auth():
    a = AuthServer()
    yield a
    a.close()


def route(allowed_headers=None, allowed_response_headers=None, auth_service="auth",
          path="/check", forward_body=None) -> str:
    http_cfg = f"              path: {path}\n"
    if allowed_headers is not None:
        http_cfg += f"              allowedHeaders: {json.dumps(allowed_headers)}\n"
    if allowed_response_headers is not None:
        http_cfg += f"              allowedResponseHeaders: {json.dumps(allowed_response_headers)}\n"
    if forward_body is not None:
        http_cfg += f"            forwardBody: {{maxSize: {forward_body}}}\n"
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
            protocol: HTTP
            backendRef: {{name: {auth_service}, port: 80}}
            http:
{http_cfg}      backendRefs:
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
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
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
    wait_until(lambda: served_by(s.port, "api.example", "/public") == "echo", what="routes")
    return s, echo


def test_allowed_request_carries_auth_headers(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth, allowed_headers=["x-tenant"],
                    allowed_response_headers=["x-auth-user"])
    status, _, body = request(s.port, "GET", "/api/items?q=1",
                              {"Authorization": "Bearer good", "X-Tenant": "t1",
                               "X-Other": "secret", "X-Auth-User": "mallory"})
    assert status == 200, body
    seen = json.loads(body)
    assert seen["backend"] == "echo" and seen["target"] == "/api/items?q=1"
    # allowedResponseHeaders: only x-auth-user is copied, and it replaces the client's value.
    assert header_values(seen["headers"], "x-auth-user") == ["alice"]
    assert header_values(seen["headers"], "x-auth-role") == []
    check = auth.checks[-1]
    assert check["method"] == "GET"
    assert check["path"] == "/check/api/items?q=1"  # HTTPAuthConfig.path is a prefix
    names = {k.lower(): v for k, v in check["headers"]}
    assert names["host"] == "api.example"
    assert names["authorization"] == "Bearer good"
    assert names["x-tenant"] == "t1"
    assert names["content-length"] == "0"
    assert "x-other" not in names  # not in allowedHeaders


def test_denied_request_gets_auth_response(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth)
    echo.reset()
    status, headers, body = request(s.port, "GET", "/api/items", {"Authorization": "Bearer bad"})
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="gantry-test"'
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "unauthenticated"}
    status, _, body = request(s.port, "HEAD", "/api/items")
    assert status == 401 and body == b""
    assert not echo.requests  # nothing reached the backend
    # The unprotected rule is not checked.
    before = len(auth.checks)
    assert request(s.port, "GET", "/public/x")[0] == 200
    assert len(auth.checks) == before


def test_all_response_headers_copied_when_list_empty(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth)
    status, _, body = request(s.port, "GET", "/api", {"Authorization": "Bearer good"})
    assert status == 200
    seen = json.loads(body)
    assert header_values(seen["headers"], "x-auth-user") == ["alice"]
    assert header_values(seen["headers"], "x-auth-role") == ["admin"]
    assert header_values(seen["headers"], "host") == ["api.example"]  # Host never replaced
    # Only the fixed set goes to the auth server when allowedHeaders is empty.
    names = {k.lower() for k, _ in auth.checks[-1]["headers"]}
    assert names == {"host", "authorization", "content-length"}


def test_body_not_forwarded_to_auth_but_to_backend(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth)
    payload = b"x" * 100_000
    status, _, body = request(s.port, "POST", "/api/upload", {"Authorization": "Bearer good"},
                              payload)
    assert status == 200
    seen = json.loads(body)
    assert seen["method"] == "POST" and seen["body_len"] == len(payload)
    check = auth.checks[-1]
    assert check["method"] == "POST" and check["body"] == b""


def test_many_checks_reuse_auth_connections(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth)
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    for i in range(50):
        c.request("GET", f"/api/{i}", headers={"Host": "api.example",
                                               "Authorization": "Bearer good" if i % 2 else "x"})
        r = c.getresponse()
        r.read()
        assert r.status == (200 if i % 2 else 401)
    c.close()
    assert len([ch for ch in auth.checks if ch["path"].startswith("/check/api/")]) == 50


def test_unreachable_auth_server_fails_closed_403(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth, auth_port=free_port())
    echo.reset()
    status, _, _ = request(s.port, "GET", "/api/items", {"Authorization": "Bearer good"})
    assert status == 403
    assert not echo.requests


def test_unresolved_auth_backend_500(tmp_path, start_gantry, make_echo, auth):
    s, echo = setup(tmp_path, start_gantry, make_echo, auth, auth_service="missing")
    echo.reset()
    status, _, _ = request(s.port, "GET", "/api/items", {"Authorization": "Bearer good"})
    assert status == 500
    assert not echo.requests
    obj = s.admin.obj("HTTPRoute", "default", "protected")
    conds = obj["status"]["parents"][0]["conditions"]
    cond = find_condition(conds, "ResolvedRefs")
    assert cond["status"] == "False" and cond["reason"] == "BackendNotFound", cond
    # The route stays Accepted; its other rule works, so it is PartiallyInvalid.
    assert find_condition(conds, "Accepted")["status"] == "True"
    assert find_condition(conds, "PartiallyInvalid")["status"] == "True"
    assert request(s.port, "GET", "/public/x")[0] == 200


def test_example_external_auth(tmp_path, start_gantry, make_echo):
    """examples/external-auth, served as its README says (ports replaced by free ones)."""
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    dst = tmp_path / "external-auth"
    shutil.copytree(repo / "examples" / "external-auth", dst)
    gw_port, auth_port, grpc_port = free_port(), free_port(), free_port()
    api = make_echo("api")
    for f in dst.glob("*.yaml"):
        f.write_text(f.read_text().replace("8086", str(gw_port)).replace("9601", str(api.port))
                     .replace("9602", str(auth_port)).replace("9603", str(grpc_port)))
    proc = subprocess.Popen([sys.executable, str(dst / "auth_server.py"), "--port", str(auth_port)])
    # The gRPC one from the repository (it compiles gantry's .proto files found next to it).
    gproc = subprocess.Popen([sys.executable, str(repo / "examples" / "external-auth" /
                                                  "grpc_auth_server.py"), "--port", str(grpc_port)])
    try:
        start_gantry(config_dir=dst, wait_ports=[("127.0.0.1", gw_port)])
        deadline = time.monotonic() + 10
        while True:
            try:
                status, headers, _ = request(gw_port, "GET", "/api/orders", host="api.example.com")
                if status == 401:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "example never answered 401"
            time.sleep(0.05)
        assert headers["www-authenticate"] == 'Bearer realm="example"'
        c = http.client.HTTPConnection("127.0.0.1", gw_port, timeout=10)
        c.request("GET", "/api/orders", headers={"Host": "api.example.com",
                                                 "Authorization": "Bearer letmein"})
        r = c.getresponse()
        seen = json.loads(r.read())
        assert r.status == 200 and header_values(seen["headers"], "x-user") == ["alice"]
        c.request("GET", "/health", headers={"Host": "api.example.com"})
        r = c.getresponse()
        r.read()
        assert r.status == 200
        c.close()
        # /admin: the gRPC ext_authz server, which reads the forwarded body.
        good = {"Host": "api.example.com", "Authorization": "Bearer letmein"}
        deadline = time.monotonic() + 20  # the server compiles its protos first
        while True:
            status, _, body = request(gw_port, "POST", "/admin/query", good, b"select 1")
            if status == 200:
                break
            assert status == 403 and time.monotonic() < deadline, (status, body)
            time.sleep(0.1)
        seen = json.loads(body)
        assert seen["body_len"] == 8 and header_values(seen["headers"], "x-user") == ["admin-alice"]
        status, _, body = request(gw_port, "POST", "/admin/query", good, b"drop table users")
        assert status == 403 and body == b"admin access denied\n"
    finally:
        proc.terminate()
        proc.wait(5)
        gproc.terminate()
        gproc.wait(5)


def _curl_h2(port, path, headers=(), data=None):
    import subprocess
    cmd = ["curl", "-s", "--http2-prior-knowledge", "-D", "-", "-H", "Host: api.example",
           f"http://127.0.0.1:{port}{path}"]
    for h in headers:
        cmd[1:1] = ["-H", h]
    if data is not None:
        cmd[1:1] = ["--data-binary", "@-"]
    out = subprocess.run(cmd, capture_output=True, timeout=20, check=True,
                         input=data).stdout.decode()
    head, _, body = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0].startswith("HTTP/2 "), lines[0]
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


def test_http2_clients_are_checked_too(tmp_path, start_gantry, make_echo, auth):
    """The check is not skipped for HTTP/2 (h2c prior knowledge) clients."""
    s, echo = setup(tmp_path, start_gantry, make_echo, auth, allowed_response_headers=["x-auth-user"])
    echo.reset()
    status, headers, body = _curl_h2(s.port, "/api/items")
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="gantry-test"'
    assert json.loads(body) == {"error": "unauthenticated"}
    assert not echo.requests
    status, _, body = _curl_h2(s.port, "/api/items?x=1",
                               ["Authorization: Bearer good", "X-Auth-User: mallory"])
    assert status == 200, body
    seen = json.loads(body)
    assert seen["target"] == "/api/items?x=1"
    assert header_values(seen["headers"], "x-auth-user") == ["alice"]
    assert auth.checks[-1]["path"] == "/check/api/items?x=1"


def test_forward_body_prefix_to_auth_full_body_to_backend(tmp_path, start_gantry, make_echo, auth):
    """forwardBody.maxSize: the auth server gets the first maxSize bytes (Content-Length = bytes
    forwarded, truncated when larger: ForwardBodyConfig.maxSize), the backend the whole body."""
    import hashlib

    s, echo = setup(tmp_path, start_gantry, make_echo, auth, forward_body=1000)
    small = b"hello auth"
    status, _, body = request(s.port, "POST", "/api/small", {"Authorization": "Bearer good"}, small)
    assert status == 200, body
    assert json.loads(body)["body_len"] == len(small)
    check = auth.checks[-1]
    names = {k.lower(): v for k, v in check["headers"]}
    assert check["body"] == small and names["content-length"] == str(len(small))
    assert names["x-envoy-auth-partial-body"] == "false"

    big = bytes(range(256)) * 400  # 102,400 bytes
    status, _, body = request(s.port, "POST", "/api/big", {"Authorization": "Bearer good"}, big)
    assert status == 200, (body, auth.checks[-1])
    seen = json.loads(body)
    assert seen["body_len"] == len(big)
    assert seen["body_sha256"] == hashlib.sha256(big).hexdigest()
    check = auth.checks[-1]
    names = {k.lower(): v for k, v in check["headers"]}
    assert check["body"] == big[:1000] and names["content-length"] == "1000"
    assert names["x-envoy-auth-partial-body"] == "true"

    # Chunked upload: the prefix is the decoded body, the backend still gets all of it.
    def chunks():
        for i in range(0, len(big), 7000):
            yield big[i:i + 7000]
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=15)
    c.request("PUT", "/api/chunked", body=chunks(), encode_chunked=True,
              headers={"Host": "api.example", "Authorization": "Bearer good",
                       "Transfer-Encoding": "chunked"})
    r = c.getresponse()
    seen = json.loads(r.read())
    c.close()
    assert r.status == 200 and seen["body_len"] == len(big), (auth.checks[-1]["headers"], auth.checks[-1]["body"][:50], seen)
    assert seen["body_sha256"] == hashlib.sha256(big).hexdigest()
    assert auth.checks[-1]["body"] == big[:1000]

    # Denied: the body never reaches the backend.
    echo.reset()
    status, _, _ = request(s.port, "POST", "/api/x", {"Authorization": "Bearer bad"}, big)
    assert status == 401 and not echo.requests
    assert auth.checks[-1]["body"] == big[:1000]


def test_forward_body_expect_continue_and_http2(tmp_path, start_gantry, make_echo, auth):
    """A client that waits for 100 Continue gets it before the check (curl, HTTP/1.1), and an
    HTTP/2 client's body is forwarded the same way."""
    import hashlib
    import subprocess

    s, _ = setup(tmp_path, start_gantry, make_echo, auth, forward_body=500)
    data = b"z" * 3000
    out = subprocess.run(
        ["curl", "-s", "-H", "Host: api.example", "-H", "Authorization: Bearer good",
         "-H", "Expect: 100-continue", "--expect100-timeout", "30", "--data-binary", "@-",
         f"http://127.0.0.1:{s.port}/api/expect"],
        input=data, capture_output=True, timeout=20, check=True).stdout
    assert json.loads(out)["body_len"] == len(data)
    assert auth.checks[-1]["body"] == data[:500]

    status, _, body = _curl_h2(s.port, "/api/h2", ["Authorization: Bearer good"], data=data)
    assert status == 200, body
    seen = json.loads(body)
    assert seen["body_len"] == len(data)
    assert seen["body_sha256"] == hashlib.sha256(data).hexdigest()
    assert auth.checks[-1]["body"] == data[:500]
