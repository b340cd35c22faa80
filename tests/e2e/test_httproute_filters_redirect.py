"""HTTPRoute RequestRedirect (Gateway API HTTPRequestRedirectFilter): scheme, hostname, port with
the spec's default-port rules, path (ReplaceFullPath, ReplacePrefixMatch), status codes
301/302/303/307/308, query kept. Cases follow the conformance tests httproute-redirect-path,
-port, -scheme, -host-and-status and -port-and-scheme (whose port-80 listener is replaced by the
test's free port: "If redirect scheme is empty, the redirect port MUST be the Gateway Listener
port")."""

import subprocess

import pytest

from filters_helpers import FilterGateway, route


def redirect(path: str, spec: str) -> str:
    return f"""\
    - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {{{spec}}}
"""


# An HTTPRoute has at most 16 rules: two routes.
RULES_A = "".join([
    redirect("/original-prefix", "path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}"),
    redirect("/full", "path: {type: ReplaceFullPath, replaceFullPath: /full-path-replacement}"),
    redirect("/path-and-host", "hostname: example.org, path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}"),
    redirect("/path-and-status", "statusCode: 301, path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}"),
    redirect("/full-path-and-host", "hostname: example.org, path: {type: ReplaceFullPath, replaceFullPath: /replacement-full}"),
    redirect("/strip", "path: {type: ReplacePrefixMatch, replacePrefixMatch: /}"),
])
RULES_B = "".join([
    redirect("/port", "port: 8083"),
    redirect("/port-and-host", "hostname: example.org, port: 8083"),
    redirect("/port-and-status", "port: 8083, statusCode: 301"),
    redirect("/scheme", "scheme: https"),
    redirect("/scheme-and-host", "scheme: https, hostname: example.org"),
    redirect("/scheme-and-status", "scheme: https, statusCode: 301"),
])
RULES_C = "".join([
    redirect("/scheme-nil-and-port-nil", "hostname: example.org"),
    redirect("/scheme-nil-and-port-80", "hostname: example.org, port: 80"),
    redirect("/scheme-https-and-port-nil", "scheme: https, hostname: example.org"),
    redirect("/scheme-https-and-port-443", "scheme: https, hostname: example.org, port: 443"),
    redirect("/scheme-https-and-port-8443", "scheme: https, hostname: example.org, port: 8443"),
    redirect("/scheme-http-and-port-nil", "scheme: http, hostname: example.org"),
    redirect("/status-301", "statusCode: 301"),
    redirect("/status-302", "statusCode: 302"),
    redirect("/status-303", "statusCode: 303"),
    redirect("/status-307", "statusCode: 307"),
    redirect("/status-308", "statusCode: 308"),
    redirect("/host-only", "hostname: example.org"),
]) + """\
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: echo, port: 80}]
"""


@pytest.fixture(scope="module")
def gw(gantry_bin, tmp_path_factory):
    routes = route("redirects-a", RULES_A) + route("redirects-b", RULES_B) + route("redirects-c", RULES_C)
    with FilterGateway(gantry_bin, tmp_path_factory, ["echo"], routes) as g:
        yield g


def test_routes_accepted(gw):
    for name in ("redirects-a", "redirects-b", "redirects-c"):
        assert gw.route_condition(name, "Accepted")["status"] == "True", name


def check(gw, path, status, location, host="filters.example"):
    r = gw.get(path, host=host)
    assert r.status_code == status, r.text
    assert r.headers.get_list("location") == [location]
    assert r.headers["content-length"] == "0"
    return r


@pytest.mark.parametrize("path,status,location", [
    ("/original-prefix/lemon", 302, "http://filters.example:{P}/replacement-prefix/lemon"),
    ("/original-prefix", 302, "http://filters.example:{P}/replacement-prefix"),
    ("/original-prefix/", 302, "http://filters.example:{P}/replacement-prefix/"),
    ("/full/path/original", 302, "http://filters.example:{P}/full-path-replacement"),
    ("/path-and-host", 302, "http://example.org:{P}/replacement-prefix"),
    ("/path-and-status", 301, "http://filters.example:{P}/replacement-prefix"),
    ("/full-path-and-host", 302, "http://example.org:{P}/replacement-full"),
    ("/strip/a/b", 302, "http://filters.example:{P}/a/b"),
    ("/strip", 302, "http://filters.example:{P}/"),
])
def test_path_redirect(gw, path, status, location):
    check(gw, path, status, location.format(P=gw.port))


@pytest.mark.parametrize("path,status,location", [
    ("/port", 302, "http://filters.example:8083/port"),
    ("/port-and-host", 302, "http://example.org:8083/port-and-host"),
    ("/port-and-status", 301, "http://filters.example:8083/port-and-status"),
    ("/scheme", 302, "https://filters.example/scheme"),
    ("/scheme-and-host", 302, "https://example.org/scheme-and-host"),
    ("/scheme-and-status", 301, "https://filters.example/scheme-and-status"),
    ("/scheme-nil-and-port-nil", 302, "http://example.org:{P}/scheme-nil-and-port-nil"),
    ("/scheme-nil-and-port-80", 302, "http://example.org/scheme-nil-and-port-80"),
    ("/scheme-https-and-port-nil", 302, "https://example.org/scheme-https-and-port-nil"),
    ("/scheme-https-and-port-443", 302, "https://example.org/scheme-https-and-port-443"),
    ("/scheme-https-and-port-8443", 302, "https://example.org:8443/scheme-https-and-port-8443"),
    ("/scheme-http-and-port-nil", 302, "http://example.org/scheme-http-and-port-nil"),
])
def test_scheme_and_port_redirect(gw, path, status, location):
    check(gw, path, status, location.format(P=gw.port))


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_status_codes(gw, code):
    check(gw, f"/status-{code}/x", code, f"http://filters.example:{gw.port}/status-{code}/x")


def test_query_kept(gw):
    check(gw, "/original-prefix/a?x=1&y=%2F", 302,
          f"http://filters.example:{gw.port}/replacement-prefix/a?x=1&y=%2F")
    check(gw, "/full/z?q", 302, f"http://filters.example:{gw.port}/full-path-replacement?q")


def test_host_port_of_request_not_reused(gw):
    # The Host's own port is not the redirect port: the Listener port is (scheme unset).
    check(gw, "/status-302", 302, f"http://filters.example:{gw.port}/status-302",
          host="filters.example:1234")
    check(gw, "/port", 302, "http://filters.example:8083/port", host="Filters.Example:1234")


def test_redirect_keeps_connection_and_head(gw):
    r1 = gw.get("/host-only/a")
    r2 = gw.get("/plain")
    assert r1.status_code == 302 and r2.status_code == 200
    r = gw.client.head("/host-only/a", headers={"host": "filters.example"})
    assert r.status_code == 302 and r.content == b""
    assert r.headers["location"] == f"http://example.org:{gw.port}/host-only/a"


def test_curl_sees_redirect(gw):
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H",
         "Host: filters.example", f"http://127.0.0.1:{gw.port}/scheme-and-host/p?q=1"],
        capture_output=True, text=True, timeout=20, check=True).stdout
    assert out == "302 https://example.org/scheme-and-host/p?q=1"


HTTPS_RULES = "".join([
    redirect("/scheme-nil-and-port-nil", "hostname: example.org"),
    redirect("/scheme-nil-and-port-443", "hostname: example.org, port: 443"),
    redirect("/scheme-nil-and-port-8443", "hostname: example.org, port: 8443"),
    redirect("/scheme-http-and-port-nil", "scheme: http, hostname: example.org"),
    redirect("/scheme-http-and-port-80", "scheme: http, hostname: example.org, port: 80"),
    redirect("/scheme-http-and-port-8080", "scheme: http, hostname: example.org, port: 8080"),
])


def test_https_listener_redirects(tmp_path, start_gantry, echo):
    """The conformance test's HTTPS-listener half: an unset scheme is the request's (https), an
    unset port the Listener's, and 443 is omitted for https."""
    from backends.snapshot import free_port
    from backends.tls_pki import Pki, tls_secret
    from cp_helpers import ConfigDir, backend, gateway_class
    from tls_helpers import https_gateway

    pki = Pki(tmp_path / "pki")
    pki.root = pki.ca("Gantry Test CA")
    cert = pki.cert("gw", pki.root, dns=["example.org"])
    port = free_port()
    d = ConfigDir(tmp_path / "cfg")
    d.write("gateway.yaml", gateway_class() + https_gateway("gw", port, [{"name": "https",
                                                                          "certs": ["gw"]}]))
    d.write("secret.yaml", tls_secret("gw", cert))
    d.write("backend.yaml", backend("echo", echo.port))
    d.write("route.yaml", route("https-redirects", HTTPS_RULES))
    start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)])
    expected = {
        "/scheme-nil-and-port-nil": f"https://example.org:{port}/scheme-nil-and-port-nil",
        "/scheme-nil-and-port-443": "https://example.org/scheme-nil-and-port-443",
        "/scheme-nil-and-port-8443": "https://example.org:8443/scheme-nil-and-port-8443",
        "/scheme-http-and-port-nil": "http://example.org/scheme-http-and-port-nil",
        "/scheme-http-and-port-80": "http://example.org/scheme-http-and-port-80",
        "/scheme-http-and-port-8080": "http://example.org:8080/scheme-http-and-port-8080",
    }
    args = ["curl", "-s", "--http1.1", "--max-time", "20", "--cacert", str(pki.root.crt),
            "--resolve", f"example.org:{port}:127.0.0.1"]
    for path, location in expected.items():
        for w in ["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}\\n"]:
            args.append(w)
        args.append(f"https://example.org:{port}{path}")
    import time
    deadline = time.monotonic() + 10
    while True:
        out = subprocess.run(args, capture_output=True, text=True, timeout=60).stdout.splitlines()
        if len(out) == len(expected) and not out[0].startswith("404") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert out == [f"302 {loc}" for loc in expected.values()]


def test_example_redirects(gantry_bin, tmp_path_factory):
    with FilterGateway(gantry_bin, tmp_path_factory, ["shop"],
                       example=("redirects", 8093, {9521: "shop"}),
                       wait_host="shop.example.com") as g:
        r = g.get("/cart?id=7", host="old-shop.example.com")
        assert (r.status_code, r.headers["location"]) == (301, "https://shop.example.com/cart?id=7")
        r = g.get("/catalog/shoes", host="shop.example.com")
        assert (r.status_code, r.headers["location"]) == (
            308, f"http://shop.example.com:{g.port}/products/shoes")
        r = g.request("POST", "/contact.php", host="shop.example.com")
        assert (r.status_code, r.headers["location"]) == (
            303, f"http://help.example.com:{g.port}/contact")
        assert g.seen(g.get("/cart", host="shop.example.com"))["backend"] == "shop"


BACKEND_RULES = """\
    - matches: [{path: {type: PathPrefix, value: /full}}]
      backendRefs:
        - name: echo
          port: 80
          filters:
            - type: RequestRedirect
              requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /redirected-full}}
    - matches: [{path: {type: PathPrefix, value: /prefix}}]
      backendRefs:
        - name: echo
          port: 80
          filters:
            - type: RequestRedirect
              requestRedirect:
                path: {type: ReplacePrefixMatch, replacePrefixMatch: /redirected-prefix}
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: echo, port: 80}]
"""


def test_backend_ref_redirect(gantry_bin, tmp_path_factory):
    # Conformance HTTPRouteBackendRequestRedirect: the redirect sits on the backendRef.
    with FilterGateway(gantry_bin, tmp_path_factory, ["echo"],
                       route("backend-redirect", BACKEND_RULES)) as g:
        assert g.route_condition("backend-redirect", "Accepted")["status"] == "True"
        r = g.get("/full/original")
        assert (r.status_code, r.headers["location"]) == (
            302, f"http://filters.example:{g.port}/redirected-full")
        r = g.get("/prefix/original?x")
        assert (r.status_code, r.headers["location"]) == (
            302, f"http://filters.example:{g.port}/redirected-prefix/original?x")
        # Nothing was forwarded for them (the readiness probe asked for "/").
        assert not any(rec["target"].startswith(("/full", "/prefix"))
                       for rec in g.echoes["echo"].requests)
