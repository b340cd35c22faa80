"""Status of L4 listeners and routes as the Gateway API conformance tests expect them
(conformance/tests/tlsroute-*, tcproute-*, udproute-*), read from gantry's admin API.

One gantry serves one folder with all the scenarios side by side (separate Gateways), so the file
stays fast.
"""

from __future__ import annotations

import pytest

from backends.snapshot import free_port
from cp_helpers import Admin, ConfigDir, find_condition, wait_until
from l4_helpers import GATEWAY_CLASS, Pki, l4_route, service, tls_secret


def gw(name: str, listeners: str) -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {name}
  namespace: default
spec:
  gatewayClassName: gantry
  addresses:
    - type: IPAddress
      value: 127.0.0.1
  listeners:
{listeners}---
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory, gantry_bin):
    # A module-scoped gantry (start_gantry is per test): started by hand, stopped at the end.
    from conftest import Gantry

    tmp = tmp_path_factory.mktemp("l4status")
    crt, key = Pki(tmp / "pki").cert("status", ["*.example.com"])
    p = {k: free_port() for k in ("term", "kinds", "mixed", "host", "tcp", "http", "udp")}
    d = ConfigDir(tmp / "cfg")
    d.write("gw.yaml", GATEWAY_CLASS + tls_secret("cert", crt, key) + gw("term", f"""\
    - name: tls-terminate
      protocol: TLS
      port: {p['term']}
      tls:
        mode: Terminate
        certificateRefs:
          - name: cert
""") + gw("kinds", f"""\
    - name: tls-passthrough
      protocol: TLS
      port: {p['kinds']}
      allowedRoutes:
        namespaces:
          from: Same
        kinds:
          - kind: TCPRoute
          - kind: TLSRoute
      tls:
        mode: Passthrough
""") + gw("mixed", f"""\
    - name: tls-terminate
      protocol: TLS
      port: {p['mixed']}
      hostname: a.example.com
      tls:
        mode: Terminate
        certificateRefs:
          - name: cert
    - name: tls-passthrough
      protocol: TLS
      port: {p['mixed']}
      hostname: b.example.com
      tls:
        mode: Passthrough
""") + gw("host", f"""\
    - name: tls
      protocol: TLS
      port: {p['host']}
      hostname: "*.example.com"
      tls:
        mode: Passthrough
""") + gw("l4", f"""\
    - name: tcp
      protocol: TCP
      port: {p['tcp']}
    - name: http
      protocol: HTTP
      port: {p['http']}
    - name: udp
      protocol: UDP
      port: {p['udp']}
"""))
    d.write("svc.yaml", service("tls-backend", [free_port()]) + service("tcp-backend", [free_port()])
            + service("udp-backend", [free_port()], "UDP"))
    d.write("routes.yaml",
            l4_route("TLSRoute", "ok", [("tls-backend", 1)], parent="host",
                     hostnames=["abc.example.com"]) +
            l4_route("TLSRoute", "no-host", [("tls-backend", 1)], parent="host",
                     hostnames=["abc.example.org"]) +
            l4_route("TLSRoute", "missing-backend", [("nonexistent", 1)], parent="host",
                     hostnames=["x.example.com"]) +
            l4_route("TLSRoute", "term", [("tcp-backend", 1)], parent="term",
                     hostnames=["t.example.com"]) +
            l4_route("TCPRoute", "tcp-on-http", [("tcp-backend", 1)], parent="l4",
                     section="http") +
            l4_route("TCPRoute", "tcp-old", [("tcp-backend", 1)], parent="l4", section="tcp") +
            l4_route("UDPRoute", "udp", [("udp-backend", 1)], parent="l4", section="udp") +
            l4_route("UDPRoute", "udp-to-tcp-svc", [("tcp-backend", 1)], parent="l4",
                     section="udp"))
    admin_port = free_port()
    g = Gantry(gantry_bin, ["run", "--workers", "1", "--admin-address",
                            f"127.0.0.1:{admin_port}", "--config", str(d.path)],
               tmp / "gantry.log", [("127.0.0.1", p["tcp"])], admin_port)
    g.wait_ready()
    admin = Admin(g.admin_address)
    wait_until(lambda: admin.obj("UDPRoute", "default", "udp-to-tcp-svc"), 10, what="status")
    yield admin
    g.stop()


def listener(admin: Admin, gw_name: str, name: str) -> dict:
    o = admin.obj("Gateway", "default", gw_name)
    for lst in o["status"]["listeners"]:
        if lst["name"] == name:
            return lst
    raise KeyError(name)


def cond(conds, ctype):
    c = find_condition(conds, ctype)
    return (c["status"], c["reason"]) if c else None


def route_cond(admin, kind, name, ctype):
    o = admin.obj(kind, "default", name)
    return cond(o["status"]["parents"][0]["conditions"], ctype)


def test_terminate_listener_supported_kinds(setup):
    lst = listener(setup, "term", "tls-terminate")
    assert [k["kind"] for k in lst["supportedKinds"]] == ["TLSRoute"]
    assert cond(lst["conditions"], "Accepted") == ("True", "Accepted")
    assert cond(lst["conditions"], "Programmed") == ("True", "Programmed")
    assert lst["attachedRoutes"] == 1
    assert route_cond(setup, "TLSRoute", "term", "Accepted") == ("True", "Accepted")


def test_passthrough_listener_invalid_route_kinds(setup):
    lst = listener(setup, "kinds", "tls-passthrough")
    assert [k["kind"] for k in lst["supportedKinds"]] == ["TLSRoute"]
    assert cond(lst["conditions"], "ResolvedRefs") == ("False", "InvalidRouteKinds")


def test_mixed_termination_is_a_protocol_conflict(setup):
    for name in ("tls-terminate", "tls-passthrough"):
        lst = listener(setup, "mixed", name)
        assert cond(lst["conditions"], "Accepted") == ("False", "ProtocolConflict"), name
        assert lst["attachedRoutes"] == 0


def test_tlsroute_hostnames(setup):
    assert route_cond(setup, "TLSRoute", "ok", "Accepted") == ("True", "Accepted")
    assert route_cond(setup, "TLSRoute", "ok", "ResolvedRefs") == ("True", "ResolvedRefs")
    assert route_cond(setup, "TLSRoute", "no-host", "Accepted") == \
        ("False", "NoMatchingListenerHostname")


def test_tlsroute_missing_backend(setup):
    assert route_cond(setup, "TLSRoute", "missing-backend", "Accepted") == ("True", "Accepted")
    assert route_cond(setup, "TLSRoute", "missing-backend", "ResolvedRefs") == \
        ("False", "BackendNotFound")


def test_tcproute_on_http_listener_not_allowed(setup):
    assert route_cond(setup, "TCPRoute", "tcp-on-http", "Accepted") == \
        ("False", "NotAllowedByListeners")
    assert route_cond(setup, "TCPRoute", "tcp-old", "Accepted") == ("True", "Accepted")


def test_udproute_status(setup):
    assert route_cond(setup, "UDPRoute", "udp", "Accepted") == ("True", "Accepted")
    assert route_cond(setup, "UDPRoute", "udp", "ResolvedRefs") == ("True", "ResolvedRefs")
    # A Service without a UDP port: the reference does not resolve.
    assert route_cond(setup, "UDPRoute", "udp-to-tcp-svc", "ResolvedRefs") == \
        ("False", "BackendNotFound")
    lst = listener(setup, "l4", "udp")
    assert [k["kind"] for k in lst["supportedKinds"]] == ["UDPRoute"]
    assert lst["attachedRoutes"] == 2
