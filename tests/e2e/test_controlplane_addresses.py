"""Gateway addresses end to end (issue 3 "Addresses"; features GatewayAddressEmpty and
HTTPRouteDestinationPortMatching):

- with `--address-pool CIDR` each Gateway without spec.addresses gets its own address from the
  pool, binds it (two Gateways share a port without a clash), reports it in status.addresses, and
  keeps it across reloads, also when an older Gateway appears;
- a Gateway whose spec.addresses has an IPAddress entry without a value (GatewayAddressEmpty, the
  upstream conformance test GatewayOptionalAddressValue) is given an address from the pool too;
- a Gateway with an explicit IPAddress binds exactly that address;
- an HTTPRoute whose parentRef.port matches no listener is Accepted=False NoMatchingParent, has
  ResolvedRefs=True, and the Gateway counts 0 attached routes (conformance
  HTTPRouteInvalidParentRefNotMatchingListenerPort)."""

from __future__ import annotations

from backends.snapshot import free_port
from cp_helpers import Admin, ConfigDir, backend, gateway_class, get_via, http_route, wait_until


def gw(name: str, port: int, addresses: str = "", created: str = "") -> str:
    ts = f"  creationTimestamp: \"{created}\"\n" if created else ""
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {name}
  namespace: default
{ts}spec:
  gatewayClassName: gantry
{addresses}  listeners:
    - name: http
      port: {port}
      protocol: HTTP
      allowedRoutes:
        namespaces:
          from: Same
---
"""


def addresses_of(admin: Admin, name: str) -> list[str]:
    o = admin.obj("Gateway", "default", name)
    if not o:
        return []
    return [a["value"] for a in o["status"].get("addresses", [])]


def served(ip: str, port: int, host: str = "x.example") -> str | None:
    import http.client
    import json

    try:
        c = http.client.HTTPConnection(ip, port, timeout=3)
        c.request("GET", "/", headers={"Host": host})
        r = c.getresponse()
        body = r.read()
        c.close()
        return json.loads(body)["backend"] if r.status == 200 else None
    except (OSError, ValueError, KeyError):
        return None


def test_address_pool_empty_value_and_static_address(tmp_path, start_gantry, make_echo):
    ea, eb, ec, ed = make_echo("ea"), make_echo("eb"), make_echo("ec"), make_echo("ed")
    port = free_port()
    d = ConfigDir(tmp_path / "cfg")
    d.write("class.yaml", gateway_class())
    d.write("svc.yaml", "".join(backend(e.name, e.port) for e in (ea, eb, ec, ed)))
    # Two Gateways on the same port without addresses, one whose only address has no value.
    d.write("gw-a.yaml", gw("a", port, created="2024-01-01T00:00:00Z"))
    d.write("gw-b.yaml", gw("b", port, created="2024-01-02T00:00:00Z"))
    d.write("gw-c.yaml", gw("c", port, addresses="  addresses:\n    - type: IPAddress\n",
                            created="2024-01-03T00:00:00Z"))
    d.write("routes.yaml", http_route("ra", parent="a", backend_name="ea")
            + http_route("rb", parent="b", backend_name="eb")
            + http_route("rc", parent="c", backend_name="ec"))
    g = start_gantry(config_dir=d.path, wait=False, args=["--address-pool", "127.0.77.0/28"])
    g.wait_ready()
    admin = Admin(g.admin_address)
    wait_until(lambda: all(addresses_of(admin, n) for n in "abc"), timeout=10,
               what="pool addresses in status")
    first = {n: addresses_of(admin, n) for n in "abc"}
    assert first == {"a": ["127.0.77.1"], "b": ["127.0.77.2"], "c": ["127.0.77.3"]}, first
    for n in "abc":
        wait_until(lambda n=n: served(first[n][0], port) == "e" + n, timeout=10,
                   what=f"gateway {n} serves on its own address")
        programmed = admin.condition("Gateway", "default", n, "Programmed")
        assert programmed and programmed["status"] == "True", programmed
    # Nothing listens on the wildcard address for this port.
    assert served("127.0.0.1", port) is None

    # Reload with an older Gateway (sorted first by creation time) and one with a static address:
    # the existing Gateways keep their addresses.
    d.write("gw-d.yaml", gw("d", port, created="2020-01-01T00:00:00Z"))
    d.write("gw-s.yaml", gw("s", port, addresses="  addresses:\n    - type: IPAddress\n"
                            "      value: 127.0.78.9\n"))
    d.write("routes2.yaml", http_route("rd", parent="d", backend_name="ed")
            + http_route("rs", parent="s", backend_name="ed"))
    wait_until(lambda: addresses_of(admin, "d") and addresses_of(admin, "s"), timeout=10,
               what="new Gateways addressed")
    assert {n: addresses_of(admin, n) for n in "abc"} == first
    assert addresses_of(admin, "d") == ["127.0.77.4"]
    assert addresses_of(admin, "s") == ["127.0.78.9"]
    wait_until(lambda: served("127.0.77.4", port) == "ed", timeout=10, what="new pool address")
    wait_until(lambda: served("127.0.78.9", port) == "ed", timeout=10, what="static address")
    for n in "abc":
        assert served(first[n][0], port) == "e" + n


def test_parentref_port_matching_no_listener(tmp_path, start_gantry, make_echo):
    e = make_echo("echo")
    port = free_port()
    d = ConfigDir(tmp_path / "cfg")
    d.write("gw.yaml", gateway_class() + gw("gw", port))
    d.write("svc.yaml", backend("echo", e.port))
    route = http_route("r", hostnames=["p.example"]).replace(
        "    - name: gw\n", f"    - name: gw\n      port: {port + 1}\n")
    ok = http_route("ok", hostnames=["ok.example"]).replace(
        "    - name: gw\n", f"    - name: gw\n      port: {port}\n")
    d.write("route.yaml", route + ok)
    g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)])
    admin = Admin(g.admin_address)
    wait_until(lambda: admin.route_condition("HTTPRoute", "default", "r", "Accepted") == "False",
               timeout=10, what="route status")
    parent = admin.obj("HTTPRoute", "default", "r")["status"]["parents"][0]
    assert parent["parentRef"]["port"] == port + 1
    reasons = {c["type"]: (c["status"], c["reason"]) for c in parent["conditions"]}
    assert reasons["Accepted"] == ("False", "NoMatchingParent"), reasons
    assert reasons["ResolvedRefs"] == ("True", "ResolvedRefs"), reasons
    # The route on the matching port attaches and serves; the other does not.
    assert admin.route_condition("HTTPRoute", "default", "ok", "Accepted") == "True"
    wait_until(lambda: get_via(port, "ok.example")[0] == 200, timeout=10, what="ok route")
    assert get_via(port, "p.example")[0] == 404
    listeners = admin.obj("Gateway", "default", "gw")["status"]["listeners"]
    assert [(l["name"], l["attachedRoutes"]) for l in listeners] == [("http", 1)]
