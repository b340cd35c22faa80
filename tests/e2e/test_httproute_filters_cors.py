"""HTTPRoute CORS filter (Gateway API HTTPCORSFilter, experimental): preflight requests answered by
the gateway, actual cross-origin requests forwarded with the CORS response fields added. Cases
follow the conformance test httproute-cors (same manifests); list-valued fields are compared as
sets of trimmed names, as the suite does (it accepts either order)."""

import subprocess

import pytest

from filters_helpers import FilterGateway, route


def cors_rule(path: str, spec: str) -> str:
    return f"""\
    - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
      filters:
        - type: CORS
          cors:
{spec}      backendRefs: [{{name: echo, port: 80}}]
"""


RULES = "".join([
    cors_rule("/cors-1", """\
            allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
            allowMethods: [GET, OPTIONS]
            allowHeaders: [x-header-1, x-header-2]
            exposeHeaders: [x-header-3, x-header-4]
            allowCredentials: true
            maxAge: 3600
"""),
    cors_rule("/cors-2", """\
            allowOrigins: ["https://www.foo.com"]
            allowMethods: ["*"]
"""),
    cors_rule("/cors-wildcard-origin", """\
            allowOrigins: ["*"]
            allowMethods: [PUT]
            allowCredentials: false
"""),
    cors_rule("/cors-wildcard-methods-headers-unauth", """\
            allowOrigins: ["*"]
            allowMethods: ["*"]
            allowHeaders: ["*"]
            allowCredentials: false
"""),
    cors_rule("/cors-wildcard-methods-headers", """\
            allowOrigins: ["*"]
            allowMethods: ["*"]
            allowHeaders: ["*"]
            allowCredentials: true
"""),
    cors_rule("/cors-expose-star", """\
            allowOrigins: ["http://app.example:8080"]
            exposeHeaders: ["*"]
"""),
]) + """\
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: echo, port: 80}]
"""


@pytest.fixture(scope="module")
def gw(gantry_bin, tmp_path_factory):
    with FilterGateway(gantry_bin, tmp_path_factory, ["echo"], route("cors", RULES)) as g:
        yield g


def names(value: str) -> set[str]:
    return {v.strip() for v in value.split(",")}


def preflight(gw, path, origin, method, req_headers=None):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers is not None:
        h["Access-Control-Request-Headers"] = req_headers
    before = len(gw.echoes["echo"].requests)
    r = gw.request("OPTIONS", path, headers=h)
    # Answered by the gateway: nothing reached the backend.
    assert len(gw.echoes["echo"].requests) == before
    return r


def test_route_accepted(gw):
    assert gw.route_condition("cors", "Accepted")["status"] == "True"


@pytest.mark.parametrize("origin", ["https://www.foo.com", "https://www.bar.com",
                                    "https://xpto.www.bar.com"])
def test_preflight_allowed_origin(gw, origin):
    r = preflight(gw, "/cors-1", origin, "GET", "x-header-1, x-header-2")
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] == origin
    assert names(r.headers["access-control-allow-methods"]) == {"GET", "OPTIONS"}
    assert names(r.headers["access-control-allow-headers"]) == {"x-header-1", "x-header-2"}
    assert names(r.headers["access-control-expose-headers"]) == {"x-header-3", "x-header-4"}
    assert r.headers["access-control-max-age"] == "3600"
    assert r.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize("origin", ["https://foobar.com", "http://www.foo.com",
                                    "https://www.foo.com:8443", "https://bar.com", "null"])
def test_preflight_other_origin(gw, origin):
    r = preflight(gw, "/cors-1", origin, "GET")
    assert r.status_code in (200, 204, 403)
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-credentials" not in r.headers


@pytest.mark.parametrize("origin", ["https://www.foo.com", "https://www.bar.com"])
def test_simple_request_allowed_origin(gw, origin):
    r = gw.get("/cors-1", headers={"Origin": origin, "access-control-request-method": "GET"},
               backend_headers=[["Access-Control-Allow-Origin", "https://backend.example"]])
    assert r.status_code == 200
    # The backend saw the request; the client gets exactly one Allow-Origin, the gateway's.
    assert gw.seen(r)["target"] == "/cors-1"
    assert r.headers.get_list("access-control-allow-origin") == [origin]
    assert r.headers["access-control-allow-credentials"] == "true"
    assert names(r.headers["access-control-expose-headers"]) == {"x-header-3", "x-header-4"}
    assert "origin" in names(r.headers["vary"]) or "Origin" in names(r.headers["vary"])


def test_simple_request_other_origin(gw):
    r = gw.get("/cors-1", headers={"Origin": "https://foobar.com"},
               backend_headers=[["X-Own", "1"]])
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["x-own"] == "1"


def test_preflight_wildcard_methods_without_credentials(gw):
    r = preflight(gw, "/cors-2", "https://www.foo.com", "POST")
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-methods"] in ("POST", "*")
    assert r.headers["access-control-allow-origin"] == "https://www.foo.com"
    assert "access-control-allow-credentials" not in r.headers


@pytest.mark.parametrize("origin", ["https://foobar.com", "https://foobar.com:12345"])
def test_wildcard_origin(gw, origin):
    r = preflight(gw, "/cors-wildcard-origin", origin, "PUT")
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] in (origin, "*")
    assert r.headers["access-control-allow-methods"] == "PUT"
    assert "access-control-allow-credentials" not in r.headers
    r = gw.request("PUT", "/cors-wildcard-origin", headers={"Origin": origin})
    assert r.status_code == 200
    assert gw.seen(r)["method"] == "PUT"
    assert r.headers["access-control-allow-origin"] in (origin, "*")
    assert "access-control-allow-credentials" not in r.headers


def test_wildcards_with_credentials_echo_the_request(gw):
    r = preflight(gw, "/cors-wildcard-methods-headers", "https://other.foo.com", "PUT",
                  "x-header-1, x-header-2")
    assert r.status_code in (200, 204)
    # "the gateway must not return `*`": the request's origin, method and headers come back.
    assert r.headers["access-control-allow-origin"] == "https://other.foo.com"
    assert r.headers["access-control-allow-methods"] == "PUT"
    assert names(r.headers["access-control-allow-headers"]) == {"x-header-1", "x-header-2"}
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "5"  # the default
    r = gw.get("/cors-wildcard-methods-headers", headers={"Origin": "https://other.foo.com"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://other.foo.com"
    assert r.headers["access-control-allow-credentials"] == "true"


def test_wildcards_without_credentials(gw):
    r = preflight(gw, "/cors-wildcard-methods-headers-unauth", "https://other.foo.com", "PUT",
                  "x-header-1, x-header-2")
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] in ("https://other.foo.com", "*")
    assert r.headers["access-control-allow-methods"] in ("PUT", "*")
    assert r.headers["access-control-allow-headers"] in ("*", "x-header-1, x-header-2")
    assert "access-control-allow-credentials" not in r.headers


def test_expose_star_and_explicit_port(gw):
    r = gw.get("/cors-expose-star", headers={"Origin": "http://app.example:8080"})
    assert r.headers["access-control-allow-origin"] == "http://app.example:8080"
    assert r.headers["access-control-expose-headers"] == "*"
    r = gw.get("/cors-expose-star", headers={"Origin": "http://app.example"})  # port 80
    assert "access-control-allow-origin" not in r.headers


def test_options_without_preflight_fields_is_forwarded(gw):
    # OPTIONS without Access-Control-Request-Method is an ordinary request.
    r = gw.request("OPTIONS", "/cors-1", headers={"Origin": "https://www.foo.com"})
    assert gw.seen(r)["method"] == "OPTIONS"
    assert r.headers["access-control-allow-origin"] == "https://www.foo.com"


def test_no_cors_elsewhere(gw):
    r = gw.get("/other", headers={"Origin": "https://www.foo.com"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = gw.request("OPTIONS", "/other", headers={"Origin": "https://www.foo.com",
                                                 "Access-Control-Request-Method": "GET"})
    assert gw.seen(r)["method"] == "OPTIONS"  # no CORS filter: the backend answers


def test_curl_preflight(gw):
    out = subprocess.run(
        ["curl", "-s", "-i", "-X", "OPTIONS", "-H", "Host: filters.example", "-H",
         "Origin: https://www.foo.com", "-H", "Access-Control-Request-Method: GET",
         f"http://127.0.0.1:{gw.port}/cors-1/x"],
        capture_output=True, text=True, timeout=20, check=True).stdout
    head = out.split("\r\n\r\n", 1)[0].lower()
    assert head.startswith("http/1.1 204")
    assert "access-control-allow-origin: https://www.foo.com" in head


def test_example_cors(gantry_bin, tmp_path_factory):
    with FilterGateway(gantry_bin, tmp_path_factory, ["api"], example=("cors", 8094, {9531: "api"}),
                       wait_host="api.example.com") as g:
        before = len(g.echoes["api"].requests)  # the readiness probe's
        r = g.request("OPTIONS", "/items/1", host="api.example.com",
                      headers={"Origin": "https://pr-42.preview.example.com",
                               "Access-Control-Request-Method": "PUT"})
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "https://pr-42.preview.example.com"
        assert names(r.headers["access-control-allow-methods"]) == {"GET", "POST", "PUT", "DELETE"}
        assert r.headers["access-control-max-age"] == "600"
        assert len(g.echoes["api"].requests) == before
        r = g.get("/items", host="api.example.com", headers={"Origin": "https://app.example.com"})
        assert g.seen(r)["target"] == "/items"
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        assert r.headers["access-control-allow-credentials"] == "true"
        r = g.request("OPTIONS", "/items/1", host="api.example.com",
                      headers={"Origin": "https://evil.example",
                               "Access-Control-Request-Method": "DELETE"})
        assert r.status_code == 204 and "access-control-allow-origin" not in r.headers
