"""The HTTPRoute filters over downstream HTTP/2 (h2c prior knowledge, curl): the same compiled
filters as HTTP/1 (dataplane/filters), applied by the HTTP/2 stream handler. One case per filter:
request and response header modifiers, URLRewrite host and path, RequestRedirect, CORS preflight
and actual request."""

import json
import subprocess

import pytest

from filters_helpers import FilterGateway, route

RULES = """\
    - matches: [{path: {type: PathPrefix, value: /headers}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Header-Set, value: set-overwrites-values}]
            add: [{name: X-Header-Add, value: added}]
            remove: [X-Header-Remove, Cookie]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: X-Resp-Set, value: from-gateway}]
            add: [{name: X-Resp-Add, value: added}]
            remove: [X-Resp-Remove]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /old}}]
      filters:
        - type: URLRewrite
          urlRewrite:
            hostname: new.internal
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /moved}}]
      filters:
        - type: RequestRedirect
          requestRedirect:
            hostname: example.org
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /here}
            statusCode: 308
    - matches: [{path: {type: PathPrefix, value: /cors}}]
      filters:
        - type: CORS
          cors:
            allowOrigins: ["https://*.foo.com"]
            allowMethods: [GET, PUT]
            allowCredentials: true
            exposeHeaders: [X-Exposed]
            maxAge: 60
      backendRefs: [{name: echo, port: 80}]
"""


@pytest.fixture(scope="module")
def gw(gantry_bin, tmp_path_factory):
    with FilterGateway(gantry_bin, tmp_path_factory, ["echo"], route("h2", RULES),
                       wait_path="/headers") as g:
        yield g


def h2(gw, path, *args):
    """curl over h2c prior knowledge; returns (status, {lower name: [values]}, body)."""
    out = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "20", "-D", "-",
         "-H", "Host: filters.example", *args, f"http://127.0.0.1:{gw.port}{path}"],
        capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].startswith("HTTP/2 "), lines[0]
    headers: dict[str, list[str]] = {}
    for ln in lines[1:]:
        n, _, v = ln.partition(":")
        headers.setdefault(n.strip().lower(), []).append(v.strip())
    return int(lines[0].split()[1]), headers, body


def values(rec, name):
    return [v for n, v in rec["headers"] if n.lower() == name.lower()]


def test_header_modifiers(gw):
    status, headers, body = h2(gw, "/headers", "-H", "X-Header-Set: client", "-H",
                               "X-Header-Add: client", "-H", "X-Header-Remove: x", "-H",
                               "Cookie: a=1", "-H",
                               'x-echo-headers: [["X-Resp-Set","backend"],["X-Resp-Remove","x"]]')
    assert status == 200
    rec = json.loads(body)
    assert values(rec, "x-header-set") == ["set-overwrites-values"]
    assert values(rec, "x-header-add") == ["client", "added"]
    assert values(rec, "x-header-remove") == []
    assert values(rec, "cookie") == []
    assert headers["x-resp-set"] == ["from-gateway"]
    assert headers["x-resp-add"] == ["added"]
    assert "x-resp-remove" not in headers


def test_url_rewrite(gw):
    status, _, body = h2(gw, "/old/a/b?q=1")
    assert status == 200
    rec = json.loads(body)
    assert rec["target"] == "/new/a/b?q=1"
    assert values(rec, "host") == ["new.internal"]


def test_redirect(gw):
    status, headers, _ = h2(gw, "/moved/x?y=2")
    assert status == 308
    assert headers["location"] == [f"http://example.org:{gw.port}/here/x?y=2"]


def test_cors(gw):
    before = len(gw.echoes["echo"].requests)
    status, headers, _ = h2(gw, "/cors", "-X", "OPTIONS", "-H", "Origin: https://a.foo.com",
                            "-H", "Access-Control-Request-Method: PUT")
    assert status == 204
    assert len(gw.echoes["echo"].requests) == before
    assert headers["access-control-allow-origin"] == ["https://a.foo.com"]
    assert headers["access-control-allow-methods"] == ["GET, PUT"]
    assert headers["access-control-allow-credentials"] == ["true"]
    assert headers["access-control-max-age"] == ["60"]
    status, headers, body = h2(gw, "/cors", "-H", "Origin: https://a.foo.com", "-H",
                               'x-echo-headers: [["Access-Control-Allow-Origin","*"]]')
    assert status == 200 and json.loads(body)["target"] == "/cors"
    assert headers["access-control-allow-origin"] == ["https://a.foo.com"]
    assert headers["access-control-expose-headers"] == ["X-Exposed"]
    status, headers, _ = h2(gw, "/cors", "-X", "OPTIONS", "-H", "Origin: https://evil.example",
                            "-H", "Access-Control-Request-Method: PUT")
    assert status == 204 and "access-control-allow-origin" not in headers
