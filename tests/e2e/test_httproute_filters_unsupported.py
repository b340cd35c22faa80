"""ExtensionRef and filters gantry does not implement (Gateway API HTTPRouteFilter.type): "If a
reference to a custom filter type cannot be resolved, the filter MUST NOT be skipped. Instead,
requests that would have been processed by that filter MUST receive a HTTP error response", and
the route's status says why. gantry resolves no extension kinds, and ExternalAuth with the GRPC
(ext_authz) protocol is not implemented yet (HTTP is: test_httproute_external_auth.py): requests to such a rule (or to such a backendRef) get 500, other rules keep
working."""

import pytest

from filters_helpers import FilterGateway, route

EXTENSION = """\
    - matches: [{path: {type: PathPrefix, value: /ext}}]
      filters:
        - type: ExtensionRef
          extensionRef: {group: example.net, kind: RateLimit, name: strict}
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /ext-backend}}]
      backendRefs:
        - name: echo
          port: 80
          filters:
            - type: ExtensionRef
              extensionRef: {group: example.net, kind: RateLimit, name: strict}
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: echo, port: 80}]
"""

EXTERNAL_AUTH = """\
    - matches: [{path: {type: PathPrefix, value: /auth}}]
      filters:
        - type: ExternalAuth
          externalAuth:
            protocol: GRPC
            backendRef: {name: echo, port: 80}
            grpc: {}
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /open}}]
      backendRefs: [{name: echo, port: 80}]
"""


ONLY_AUTH = """\
    - filters:
        - type: ExternalAuth
          externalAuth:
            protocol: GRPC
            backendRef: {name: echo, port: 80}
            grpc: {}
      backendRefs: [{name: echo, port: 80}]
"""


@pytest.fixture(scope="module")
def gw(gantry_bin, tmp_path_factory):
    routes = (route("ext", EXTENSION, hostnames=["ext.example"])
              + route("auth", EXTERNAL_AUTH, hostnames=["auth.example"])
              + route("only-auth", ONLY_AUTH, hostnames=["only-auth.example"]))
    with FilterGateway(gantry_bin, tmp_path_factory, ["echo"], routes,
                       wait_host="ext.example") as g:
        yield g


def test_extension_ref_rule_gets_500(gw):
    before = len(gw.echoes["echo"].requests)
    for path in ("/ext", "/ext/x", "/ext-backend/y"):
        r = gw.get(path, host="ext.example")
        assert r.status_code == 500, path
    assert len(gw.echoes["echo"].requests) == before  # never forwarded
    # The other rule of the same route is served.
    assert gw.seen(gw.get("/other", host="ext.example"))["target"] == "/other"


def test_extension_ref_status(gw):
    c = gw.route_condition("ext", "ResolvedRefs")
    assert (c["status"], c["reason"]) == ("False", "InvalidKind"), c
    assert "RateLimit" in c["message"]


def test_unsupported_filter_rule_gets_500(gw):
    r = gw.get("/auth/x", host="auth.example")
    assert r.status_code == 500
    assert gw.seen(gw.get("/open", host="auth.example"))["target"] == "/open"


def test_unsupported_filter_status(gw):
    conds = {t: gw.route_condition("auth", t) for t in ("Accepted", "PartiallyInvalid")}
    # Some rules are valid: the route stays Accepted and says which rule was dropped
    # (Gateway API: "PartiallyInvalid" with reason UnsupportedValue).
    reasons = {t: (c["status"], c["reason"]) for t, c in conds.items() if c}
    assert reasons.get("PartiallyInvalid") == ("True", "UnsupportedValue"), conds
    assert "ExternalAuth" in conds["PartiallyInvalid"]["message"]


def test_route_with_only_unsupported_rules(gw):
    c = gw.route_condition("only-auth", "Accepted")
    assert (c["status"], c["reason"]) == ("False", "UnsupportedValue"), c
    # A route that is not Accepted is not attached: its host has no route here (404), and the
    # backend never sees the request (the unimplemented auth is never skipped).
    before = len(gw.echoes["echo"].requests)
    r = gw.get("/x", host="only-auth.example")
    assert r.status_code == 404
    assert len(gw.echoes["echo"].requests) == before
