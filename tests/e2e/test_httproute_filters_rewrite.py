"""HTTPRoute URLRewrite (Gateway API HTTPURLRewriteFilter): hostname (the Host sent upstream) and
path (ReplaceFullPath, ReplacePrefixMatch with the spec's slash handling), at rule level and per
backendRef. Cases follow the conformance tests httproute-rewrite-path and httproute-rewrite-host;
the echo backend reports the request-target and Host it received."""

import pytest

from filters_helpers import FilterGateway, joined, route

HEADER_MODS = """\
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Header-Set, value: set-overwrites-values}]
            add:
              - {name: X-Header-Add, value: header-val-1}
              - {name: X-Header-Add-Append, value: header-val-2}
            remove: [X-Header-Remove]
"""

PATHS = f"""\
    - matches: [{{path: {{type: PathPrefix, value: /prefix/one}}}}]
      filters:
        - type: URLRewrite
          urlRewrite: {{path: {{type: ReplacePrefixMatch, replacePrefixMatch: /one}}}}
      backendRefs: [{{name: echo, port: 80}}]
    - matches: [{{path: {{type: PathPrefix, value: /strip-prefix}}}}]
      filters:
        - type: URLRewrite
          urlRewrite: {{path: {{type: ReplacePrefixMatch, replacePrefixMatch: /}}}}
      backendRefs: [{{name: echo, port: 80}}]
    - matches: [{{path: {{type: PathPrefix, value: /trailing/}}}}]
      filters:
        - type: URLRewrite
          urlRewrite: {{path: {{type: ReplacePrefixMatch, replacePrefixMatch: /xyz/}}}}
      backendRefs: [{{name: echo, port: 80}}]
    - matches: [{{path: {{type: PathPrefix, value: /full/one}}}}]
      filters:
        - type: URLRewrite
          urlRewrite: {{path: {{type: ReplaceFullPath, replaceFullPath: /one}}}}
      backendRefs: [{{name: echo, port: 80}}]
    - matches: [{{path: {{type: PathPrefix, value: /full/rewrite-path-and-modify-headers}}}}]
      filters:
        - type: URLRewrite
          urlRewrite: {{path: {{type: ReplaceFullPath, replaceFullPath: /test}}}}
{HEADER_MODS}      backendRefs: [{{name: echo, port: 80}}]
    - matches: [{{path: {{type: PathPrefix, value: /prefix/rewrite-path-and-modify-headers}}}}]
      filters:
        - type: URLRewrite
          urlRewrite: {{path: {{type: ReplacePrefixMatch, replacePrefixMatch: /prefix}}}}
{HEADER_MODS}      backendRefs: [{{name: echo, port: 80}}]
    - matches: [{{path: {{type: PathPrefix, value: /per-backend}}}}]
      backendRefs:
        - name: echo
          port: 80
          filters:
            - type: URLRewrite
              urlRewrite:
                hostname: echo.internal
                path: {{type: ReplacePrefixMatch, replacePrefixMatch: /echo-api}}
        - name: echo2
          port: 80
          filters:
            - type: URLRewrite
              urlRewrite: {{hostname: echo2.internal}}
    - matches: [{{path: {{type: PathPrefix, value: /}}}}]
      backendRefs: [{{name: echo, port: 80}}]
"""

HOSTS = f"""\
    - matches: [{{path: {{type: PathPrefix, value: /one}}}}]
      filters:
        - type: URLRewrite
          urlRewrite: {{hostname: one.example.org}}
      backendRefs: [{{name: echo, port: 80}}]
    - filters:
        - type: URLRewrite
          urlRewrite: {{hostname: example.org}}
      backendRefs: [{{name: echo2, port: 80}}]
    - matches: [{{path: {{type: PathPrefix, value: /rewrite-host-and-modify-headers}}}}]
      filters:
        - type: URLRewrite
          urlRewrite: {{hostname: test.example.org}}
{HEADER_MODS}      backendRefs: [{{name: echo2, port: 80}}]
"""


@pytest.fixture(scope="module")
def gw(gantry_bin, tmp_path_factory):
    routes = route("rewrite-path", PATHS) + route("rewrite-host", HOSTS, hostnames=["rewrite.example"])
    with FilterGateway(gantry_bin, tmp_path_factory, ["echo", "echo2"], routes) as g:
        yield g


def test_routes_accepted(gw):
    for name in ("rewrite-path", "rewrite-host"):
        assert gw.route_condition(name, "Accepted")["status"] == "True", name


@pytest.mark.parametrize("sent,expected", [
    ("/prefix/one/two", "/one/two"),
    ("/prefix/one", "/one"),
    ("/prefix/one/", "/one/"),
    ("/strip-prefix/three", "/three"),
    ("/strip-prefix", "/"),
    ("/strip-prefix/", "/"),
    ("/trailing/a/b", "/xyz/a/b"),
    ("/trailing", "/xyz"),
    ("/full/one/two", "/one"),
    ("/full/one", "/one"),
    # Routing happens on the normalised path, and that path is what gets rewritten.
    ("/x/../prefix/one/a%2Fb", "/one/a%2Fb"),
])
def test_path_rewrite(gw, sent, expected):
    rec = gw.seen(gw.get(sent))
    assert rec["target"] == expected
    assert gw.seen_values(rec, "host") == ["filters.example"]  # Host untouched by a path rewrite


def test_query_preserved(gw):
    rec = gw.seen(gw.get("/prefix/one/two?a=1&b=%2F"))
    assert rec["target"] == "/one/two?a=1&b=%2F"
    rec = gw.seen(gw.get("/full/one/x?q"))
    assert rec["target"] == "/one?q"


@pytest.mark.parametrize("sent,expected", [
    ("/full/rewrite-path-and-modify-headers/test", "/test"),
    ("/prefix/rewrite-path-and-modify-headers/one", "/prefix/one"),
])
def test_path_rewrite_and_header_modifier(gw, sent, expected):
    rec = gw.seen(gw.get(sent, headers={"X-Header-Remove": "remove-val",
                                        "X-Header-Add-Append": "append-val-1",
                                        "X-Header-Set": "set-val"}))
    assert rec["target"] == expected
    assert joined(gw.seen_values(rec, "X-Header-Add")) == "header-val-1"
    assert joined(gw.seen_values(rec, "X-Header-Add-Append")) == "append-val-1,header-val-2"
    assert gw.seen_values(rec, "X-Header-Set") == ["set-overwrites-values"]
    assert gw.seen_values(rec, "X-Header-Remove") == []


@pytest.mark.parametrize("path,host,backend", [
    ("/one", "one.example.org", "echo"),
    ("/two", "example.org", "echo2"),
])
def test_host_rewrite(gw, path, host, backend):
    rec = gw.seen(gw.get(path, host="rewrite.example"))
    assert rec["backend"] == backend
    assert rec["target"] == path
    assert gw.seen_values(rec, "host") == [host]
    # The client's Host stays visible to the backend as X-Forwarded-Host.
    assert gw.seen_values(rec, "x-forwarded-host") == ["rewrite.example"]


def test_host_rewrite_and_header_modifier(gw):
    rec = gw.seen(gw.get("/rewrite-host-and-modify-headers", host="rewrite.example",
                         headers={"X-Header-Remove": "remove-val",
                                  "X-Header-Add-Append": "append-val-1"}))
    assert gw.seen_values(rec, "host") == ["test.example.org"]
    assert rec["target"] == "/rewrite-host-and-modify-headers"
    assert joined(gw.seen_values(rec, "X-Header-Add")) == "header-val-1"
    assert joined(gw.seen_values(rec, "X-Header-Add-Append")) == "append-val-1,header-val-2"
    assert gw.seen_values(rec, "X-Header-Set") == ["set-overwrites-values"]
    assert gw.seen_values(rec, "X-Header-Remove") == []


def test_absolute_form_host_rewritten(gw):
    # The authority of an absolute-form target is the request's host (RFC 9112 3.2.2); the
    # rewrite replaces it just the same.
    import socket
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(b"GET http://rewrite.example/one HTTP/1.1\r\nHost: rewrite.example\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b'["Host", "one.example.org"]' in body


def test_per_backend_rewrite(gw):
    seen = set()
    for _ in range(12):
        rec = gw.seen(gw.get("/per-backend/items?x=1"))
        seen.add(rec["backend"])
        if rec["backend"] == "echo":
            assert rec["target"] == "/echo-api/items?x=1"
            assert gw.seen_values(rec, "host") == ["echo.internal"]
        else:
            assert rec["target"] == "/per-backend/items?x=1"
            assert gw.seen_values(rec, "host") == ["echo2.internal"]
    assert seen == {"echo", "echo2"}


def test_no_rewrite_elsewhere(gw):
    rec = gw.seen(gw.get("/prefix/onex/two"))  # not under /prefix/one (segment-wise)
    assert rec["target"] == "/prefix/onex/two"


def test_example_url_rewrite(gantry_bin, tmp_path_factory):
    with FilterGateway(gantry_bin, tmp_path_factory, ["legacy", "storage"],
                       example=("url-rewrite", 8092, {9511: "legacy", 9512: "storage"}),
                       wait_host="www.example.com", wait_path="/status") as g:
        rec = g.seen(g.get("/api/v2/users?page=2", host="www.example.com"))
        assert (rec["backend"], rec["target"]) == ("legacy", "/users?page=2")
        assert g.seen_values(rec, "host") == ["legacy.internal"]
        assert g.seen_values(rec, "x-forwarded-host") == ["www.example.com"]
        rec = g.seen(g.get("/files/a/b.txt", host="www.example.com"))
        assert (rec["backend"], rec["target"]) == ("storage", "/bucket-7/a/b.txt")
        assert g.seen_values(rec, "host") == ["www.example.com"]
        rec = g.seen(g.get("/status/anything", host="www.example.com"))
        assert (rec["backend"], rec["target"]) == ("legacy", "/healthz")
