"""Named route rules (HTTPRouteRule.name / GRPCRouteRule.name, features HTTPRouteNamedRouteRule and
GRPCRouteNamedRouteRule) and the GRPCRoute RequestHeaderModifier's three operations (feature
GRPCRouteRequestHeaderModifier), as the upstream conformance tests HTTPRouteNamedRule,
GRPCRouteNamedRule and GRPCRouteRequestHeaderModifier exercise them:

- a route whose rules are partly named is Accepted with ResolvedRefs=True and both its named and
  its unnamed rules route traffic;
- "Rule name must be unique within the route" (the CEL rule on spec.rules) rejects a route with a
  duplicated rule name, naming the file and the field, and the route is not served;
- on a GRPCRoute, RequestHeaderModifier set replaces, add appends to an existing value, remove
  drops the header; the backend sees the result."""

from __future__ import annotations

import grpc

from backends.snapshot import free_port
from cp_helpers import Admin, ConfigDir, Setup, backend, gateway, gateway_class, served_by, \
    wait_until
from test_grpcroute import Backend as GrpcBackend
from test_grpcroute import grpc_route

NAMED_HTTP_ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: http-named-rules
  namespace: default
spec:
  parentRefs:
    - name: gw
  rules:
    - name: named-rule
      matches:
        - path:
            type: PathPrefix
            value: /named
      backendRefs:
        - name: v1
          port: 80
    - matches:
        - path:
            type: PathPrefix
            value: /unnamed
      backendRefs:
        - name: v2
          port: 80
---
"""


def test_httproute_named_and_unnamed_rules_route(tmp_path, start_gantry, make_echo):
    v1, v2 = make_echo("v1"), make_echo("v2")
    s = Setup(tmp_path, start_gantry, [v1, v2], route=NAMED_HTTP_ROUTE)
    wait_until(lambda: served_by(s.port, "any.example", "/named") == "v1", timeout=10,
               what="named rule served")
    assert served_by(s.port, "any.example", "/unnamed") == "v2"
    assert served_by(s.port, "any.example", "/named/deeper") == "v1"
    for ctype in ("Accepted", "ResolvedRefs"):
        assert s.admin.route_condition("HTTPRoute", "default", "http-named-rules", ctype) == \
            "True", ctype


def test_duplicate_rule_names_are_rejected(tmp_path, start_gantry, make_echo, gantry_bin):
    import subprocess

    v1, v2 = make_echo("v1"), make_echo("v2")
    dup = NAMED_HTTP_ROUTE.replace("http-named-rules", "dup-names").replace(
        "    - matches:\n        - path:\n            type: PathPrefix\n            value: /unnamed",
        "    - name: named-rule\n      matches:\n        - path:\n            type: PathPrefix\n"
        "            value: /unnamed")
    assert dup.count("name: named-rule") == 2
    good = NAMED_HTTP_ROUTE.replace("/named", "/ok").replace("/unnamed", "/ok2")
    s = Setup(tmp_path, start_gantry, [v1, v2], route=good, extra={"dup.yaml": dup})
    wait_until(lambda: served_by(s.port, "any.example", "/ok") == "v1", timeout=10,
               what="the good route keeps serving")
    # The invalid route is never served and never gets status (the API server would refuse it).
    assert served_by(s.port, "any.example", "/named") is None
    assert s.admin.obj("HTTPRoute", "default", "dup-names") is None
    r = subprocess.run([gantry_bin, "validate", str(s.dir.path)], capture_output=True, text=True,
                       timeout=20)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "dup.yaml" in out and "Rule name must be unique within the route" in out, out
    assert "spec.rules" in out, out


def grpc_rule(service: str, backend_name: str, name: str | None = None, filters: str = "") -> str:
    out = f"    - name: {name}\n      matches:\n" if name else "    - matches:\n"
    out += f"        - method:\n            type: Exact\n            service: '{service}'\n"
    if filters:
        out += "      filters:\n" + filters
    out += f"      backendRefs:\n        - name: {backend_name}\n          port: 80\n"
    return out


def test_grpcroute_named_rules_and_header_modifier(tmp_path, start_gantry):
    a, b = GrpcBackend("a"), GrpcBackend("b")
    try:
        port = free_port()
        d = ConfigDir(tmp_path / "cfg")
        d.write("gw.yaml", gateway_class() + gateway("gw", port))
        d.write("svc.yaml", backend("svc-a", a.port) + backend("svc-b", b.port))
        modifier = """        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
              - name: x-set
                value: set-by-gantry
            add:
              - name: x-add
                value: added
            remove: ["x-remove"]
"""
        d.write("route.yaml", grpc_route("named", [
            grpc_rule("named.Svc", "svc-a", name="named-rule", filters=modifier),
            grpc_rule("unnamed.Svc", "svc-b"),
        ]))
        g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)])
        admin = Admin(g.admin_address)
        wait_until(lambda: admin.route_condition("GRPCRoute", "default", "named",
                                                 "ResolvedRefs") == "True",
                   timeout=10, what="GRPCRoute resolved")
        assert admin.route_condition("GRPCRoute", "default", "named", "Accepted") == "True"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=10)
            ch.unary_unary("/named.Svc/Unary_N")(
                b"x", timeout=10, metadata=[("x-set", "client"), ("x-add", "client"),
                                            ("x-remove", "gone"), ("x-keep", "kept")])
            ch.unary_unary("/unnamed.Svc/Unary_U")(b"y", timeout=10)
        assert [c["method"] for c in a.calls] == ["/named.Svc/Unary_N"]
        assert [c["method"] for c in b.calls] == ["/unnamed.Svc/Unary_U"]
        md = a.calls[0]["metadata"]
        values = lambda k: [v for n, v in md if n == k]  # noqa: E731
        assert values("x-set") == ["set-by-gantry"], md
        # add appends: the backend sees the client's value and the added one (grpcio joins
        # repeated headers into one entry per value, or one comma-joined value).
        added = ",".join(values("x-add")).replace(" ", "")
        assert sorted(added.split(",")) == ["added", "client"], md
        assert values("x-remove") == [], md
        assert values("x-keep") == ["kept"], md
    finally:
        a.close()
        b.close()
