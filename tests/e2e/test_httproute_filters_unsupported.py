"""ExtensionRef and filters gantry does not implement (Gateway API HTTPRouteFilter.type): "If a
reference to a custom filter type cannot be resolved, the filter MUST NOT be skipped. Instead,
requests that would have been processed by that filter MUST receive a HTTP error response", and
the route's status says why. gantry resolves no extension kinds: requests to such a rule (or to
such a backendRef) get 500, other rules keep working. (Every other filter type of the HTTPRoute
API is implemented; ExternalAuth's HTTP and GRPC protocols are tested in
test_httproute_external_auth*.py.)"""

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

@pytest.fixture(scope="module")
def gw(gantry_bin, tmp_path_factory):
    routes = route("ext", EXTENSION, hostnames=["ext.example"])
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
