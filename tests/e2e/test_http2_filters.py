"""HTTPRoute filters on HTTP/2 streams (h2c prior knowledge): the same compiled filters as the
HTTP/1 path (dataplane/filters) -- header modifiers both ways, URLRewrite, RequestRedirect, CORS
preflight and actual requests -- checked with the `h2` client against real manifests."""

import json

import pytest

from backends.echo import header_values
from backends.h2client import H2Client
from filters_helpers import FilterGateway, route

RULES = """\
    - matches: [{path: {type: PathPrefix, value: /hdr}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Set, value: set-value}]
            add: [{name: X-Add, value: added}]
            remove: [X-Remove]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: X-Resp-Set, value: from-gateway}]
            remove: [X-Backend-Secret]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /old}}]
      filters:
        - type: URLRewrite
          urlRewrite:
            hostname: rewritten.example
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /moved}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {hostname: elsewhere.example, statusCode: 301}
    - matches: [{path: {type: PathPrefix, value: /cors}}]
      filters:
        - type: CORS
          cors:
            allowOrigins: ["https://app.example"]
            allowMethods: [GET, PUT]
            allowHeaders: [X-Custom]
      backendRefs: [{name: echo, port: 80}]
"""


@pytest.fixture(scope="module")
def gw(gantry_bin, tmp_path_factory):
    with FilterGateway(gantry_bin, tmp_path_factory, ["echo"],
                       route("h2f", RULES, ["filters.example"]), wait_path="/hdr") as g:
        yield g


def get(gw, path, headers=(), method="GET"):
    with H2Client(gw.port) as c:
        r = c.response(c.request(method, path, headers=list(headers),
                                 authority="filters.example"))
        return c.status(r), r["headers"], bytes(r["data"])


def test_header_modifiers(gw):
    status, headers, body = get(gw, "/hdr", [("x-set", "client"), ("x-add", "client"),
                                             ("x-remove", "gone"),
                                             ("x-echo-headers",
                                              json.dumps([["X-Backend-Secret", "s"],
                                                          ["X-Resp-Set", "backend"]]))])
    assert status == 200
    rec = json.loads(body)
    assert header_values(rec["headers"], "x-set") == ["set-value"]
    assert sorted(header_values(rec["headers"], "x-add")) == ["added", "client"]
    assert header_values(rec["headers"], "x-remove") == []
    names = [k for k, _ in headers]
    assert all(n == n.lower() for n in names), names
    assert [v for k, v in headers if k == "x-resp-set"] == ["from-gateway"]
    assert "x-backend-secret" not in names


def test_url_rewrite(gw):
    status, _, body = get(gw, "/old/page?q=1")
    assert status == 200
    rec = json.loads(body)
    assert rec["target"] == "/new/page?q=1"
    assert header_values(rec["headers"], "host") == ["rewritten.example"]


def test_request_redirect(gw):
    status, headers, _ = get(gw, "/moved/x?y=1")
    assert status == 301
    # The Listener's port is kept when the filter sets neither scheme nor port (the spec's
    # default-port rules), exactly as for HTTP/1.
    assert dict(headers)["location"] == f"http://elsewhere.example:{gw.port}/moved/x?y=1"
    assert gw.get("/moved/x?y=1").headers["location"] == dict(headers)["location"]


def test_cors_preflight_and_actual(gw):
    status, headers, _ = get(gw, "/cors", [("origin", "https://app.example"),
                                           ("access-control-request-method", "PUT")], "OPTIONS")
    assert status == 204
    h = dict(headers)
    assert h["access-control-allow-origin"] == "https://app.example"
    assert "PUT" in h["access-control-allow-methods"]
    status, headers, _ = get(gw, "/cors", [("origin", "https://app.example")])
    assert status == 200
    assert dict(headers)["access-control-allow-origin"] == "https://app.example"
    status, headers, _ = get(gw, "/cors", [("origin", "https://evil.example")])
    assert status == 200 and "access-control-allow-origin" not in dict(headers)
