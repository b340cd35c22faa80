"""Control plane end to end: gantry on a folder of manifests, Kubernetes-shaped status on the admin
API (/status, /errors, /config, /healthz, /readyz), metadata bookkeeping visible in status."""

from __future__ import annotations

import time

from cp_helpers import (CONTROLLER, GW_GROUP, Admin, ConfigDir, Setup, backend, find_condition,
                        gateway, gateway_class, get_via, http_route, namespace, served_by,
                        wait_until)


def test_status_of_a_working_setup(tmp_path, start_gantry, make_echo):
    echo = make_echo("echo")
    s = Setup(tmp_path, start_gantry, [echo], route=http_route("r", hostnames=["a.example"]))
    admin = s.admin

    assert admin.get("/healthz")[0] == 200
    assert admin.get("/readyz")[0] == 200
    assert admin.get("/nope")[0] == 404

    items = admin.status()
    kinds = {(i["kind"], i["metadata"].get("namespace"), i["metadata"]["name"]) for i in items}
    assert ("GatewayClass", None, "gantry") in kinds
    assert ("Gateway", "default", "gw") in kinds
    assert ("HTTPRoute", "default", "r") in kinds
    for it in items:
        assert it["apiVersion"].startswith(GW_GROUP + "/"), it
        assert it["metadata"]["generation"] == 1, it

    gc = admin.obj("GatewayClass", None, "gantry")
    acc = find_condition(gc["status"]["conditions"], "Accepted")
    assert acc["status"] == "True" and acc["reason"] == "Accepted"
    assert all(set(f) == {"name"} for f in gc["status"]["supportedFeatures"])
    assert gc["status"]["supportedFeatures"], "GatewayClass lists its supported features"

    gw = admin.obj("Gateway", "default", "gw")
    st = gw["status"]
    for ctype in ("Accepted", "Programmed"):
        c = find_condition(st["conditions"], ctype)
        assert c and c["status"] == "True", (ctype, st["conditions"])
        assert c["observedGeneration"] == 1
        assert c["lastTransitionTime"].endswith("Z")
    assert {"type": "IPAddress", "value": "127.0.0.1"} in st["addresses"]
    [listener] = st["listeners"]
    assert listener["name"] == "http"
    assert listener["attachedRoutes"] == 1
    assert {"group": GW_GROUP, "kind": "HTTPRoute"} in listener["supportedKinds"]
    for ctype in ("Accepted", "Programmed", "ResolvedRefs"):
        c = find_condition(listener["conditions"], ctype)
        assert c and c["status"] == "True", (ctype, listener["conditions"])

    route = admin.obj("HTTPRoute", "default", "r")
    [parent] = route["status"]["parents"]
    assert parent["controllerName"] == CONTROLLER
    ref = parent["parentRef"]
    assert (ref["group"], ref["kind"], ref["name"]) == (GW_GROUP, "Gateway", "gw")
    assert ref.get("namespace", "default") == "default"
    for ctype in ("Accepted", "ResolvedRefs"):
        c = find_condition(parent["conditions"], ctype)
        assert c and c["status"] == "True" and c["observedGeneration"] == 1, parent["conditions"]

    # The snapshot is served as JSON and routes traffic.
    config = admin.json("/config")
    assert any(p["port"] == s.port for p in config["ports"])
    assert wait_until(lambda: served_by(s.port, "a.example") == "echo", what="routing to echo")
    assert admin.errors() == []


def test_refused_route_and_missing_backend_are_reported(tmp_path, start_gantry, make_echo):
    echo = make_echo("echo")
    s = Setup(tmp_path, start_gantry, [echo], extra={
        # Same-namespace listener: a route in another namespace is not allowed.
        "other.yaml": namespace("other") + http_route("outsider", ns="other", parent_ns="default"),
        "missing.yaml": http_route("ghost", backend_name="does-not-exist", hostnames=["g.example"]),
    })
    admin = s.admin
    out = admin.obj("HTTPRoute", "other", "outsider")
    c = find_condition(out["status"]["parents"][0]["conditions"], "Accepted")
    assert (c["status"], c["reason"]) == ("False", "NotAllowedByListeners")

    ghost = admin.obj("HTTPRoute", "default", "ghost")
    c = find_condition(ghost["status"]["parents"][0]["conditions"], "ResolvedRefs")
    assert (c["status"], c["reason"]) == ("False", "BackendNotFound")
    # A missing backend answers 500 for its share of traffic (HTTPBackendRef docs).
    code = wait_until(lambda: get_via(s.port, "g.example")[0],
                      what="an answer for g.example")
    assert code == 500
    gw = admin.obj("Gateway", "default", "gw")
    assert gw["status"]["listeners"][0]["attachedRoutes"] == 1  # only "ghost"


def test_generation_and_observed_generation_follow_spec_edits(tmp_path, start_gantry, make_echo):
    echo = make_echo("echo")
    s = Setup(tmp_path, start_gantry, [echo], route=http_route("r", hostnames=["a.example"]))
    admin = s.admin
    route = admin.obj("HTTPRoute", "default", "r")
    assert route["metadata"]["generation"] == 1
    t_accepted = find_condition(route["status"]["parents"][0]["conditions"],
                                "Accepted")["lastTransitionTime"]

    time.sleep(1.1)  # lastTransitionTime has second precision: make a new timestamp observable
    s.dir.write("route.yaml", http_route("r", hostnames=["a.example", "b.example"]))
    wait_until(lambda: admin.obj("HTTPRoute", "default", "r")["metadata"]["generation"] == 2,
               what="generation 2")
    route = admin.obj("HTTPRoute", "default", "r")
    c = find_condition(route["status"]["parents"][0]["conditions"], "Accepted")
    assert c["observedGeneration"] == 2
    # Status did not change, so lastTransitionTime is kept.
    assert c["lastTransitionTime"] == t_accepted

    # A metadata-only change (a label) does not bump the generation.
    before = admin.snapshots()
    s.dir.write("route.yaml", http_route("r", hostnames=["a.example", "b.example"]).replace(
        "  namespace: default\n", "  namespace: default\n  labels:\n    team: x\n", 1))
    wait_until(lambda: admin.snapshots() > before, what="the label edit applied")
    assert admin.obj("HTTPRoute", "default", "r")["metadata"]["generation"] == 2

    # Generation and creationTimestamp given in the manifest are kept as given.
    s.dir.write("route.yaml", http_route("r", hostnames=["c.example"]).replace(
        "  namespace: default\n", "  namespace: default\n  generation: 42\n", 1))
    wait_until(lambda: admin.obj("HTTPRoute", "default", "r")["metadata"]["generation"] == 42,
               what="generation 42 from the manifest")


def test_readyz_and_admin_in_snapshot_mode(tmp_path, start_gantry, make_echo):
    # `run --snapshot` has no file provider, but the admin API runs all the same.
    from backends.snapshot import Snapshot

    echo = make_echo("echo")
    snap = Snapshot()
    snap.backend("echo", [echo])
    port = snap.http_port()
    port.route("/", "echo")
    g = start_gantry(snapshot=snap)
    admin = Admin(g.admin_address)
    assert admin.get("/healthz")[0] == 200
    assert admin.get("/readyz")[0] == 200
    assert admin.json("/status")["items"] == []
    assert admin.json("/config")["ports"][0]["port"] == port.port


def test_port_held_by_another_process_is_reported_not_fatal(tmp_path, start_gantry, make_echo):
    import socket

    from backends.snapshot import free_port

    echo = make_echo("echo")
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))  # no SO_REUSEPORT: gantry's bind on this port fails
    blocker.listen()
    busy = blocker.getsockname()[1]
    try:
        d = ConfigDir(tmp_path / "cfg")
        good = free_port()
        d.write("gw.yaml", gateway_class() + gateway("gw", good) + gateway("busy", busy))
        d.write("backends.yaml", backend("echo", echo.port))
        d.write("r.yaml", http_route("r", hostnames=["a.example"]))
        g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", good)])
        admin = Admin(g.admin_address)
        busy_gw = wait_until(lambda: admin.obj("Gateway", "default", "busy"), what="status")
        [listener] = busy_gw["status"]["listeners"]
        c = find_condition(listener["conditions"], "Accepted")
        assert (c["status"], c["reason"]) == ("False", "PortUnavailable"), listener
        errors = admin.errors()
        assert any(str(busy) in e["message"] for e in errors), errors
        # The other Gateway serves.
        gw = admin.obj("Gateway", "default", "gw")
        assert find_condition(gw["status"]["conditions"], "Programmed")["status"] == "True"
        assert wait_until(lambda: served_by(good, "a.example") == "echo", what="routing")
    finally:
        blocker.close()
