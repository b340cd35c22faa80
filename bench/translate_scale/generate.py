#!/usr/bin/env python3
"""Generate a large standalone configuration for gantry: N HTTPRoutes over H hostnames.

    generate.py OUT_DIR [--routes 10000] [--hostnames 1000] [--services 100] [--files 100]
                [--port 18180] [--backend 127.0.0.1:18100] [--format yaml|json]

Writes OUT_DIR/00-gateway.yaml (GatewayClass + Gateway with one HTTP listener on 127.0.0.1:PORT),
OUT_DIR/01-services.yaml (SERVICES Services, each with one EndpointSlice pointing at BACKEND) and
the routes spread over FILES files (multi-document YAML, or a JSON `kind: List` per file).

Route i: hostname host-(i mod H).example.com, one rule matching PathPrefix /r<i>/ (plus, for one
route in ten, a header match and for one in ten a second weighted backend), backendRef
svc-(i mod S) port 80. So a request for route i is `GET /r<i>/ Host: host-<i mod H>.example.com`.
Everything is in namespace "default"; manifests follow Gateway API v1 (standard channel).
"""
import argparse
import json
import os


def gateway(port):
    return [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "gantry"},
         "spec": {"controllerName": "gantry.io/gateway-controller"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "scale", "namespace": "default"},
         "spec": {"gatewayClassName": "gantry",
                  "addresses": [{"type": "IPAddress", "value": "127.0.0.1"}],
                  "listeners": [{"name": "http", "protocol": "HTTP", "port": port,
                                 "allowedRoutes": {"namespaces": {"from": "Same"}}}]}},
    ]


def services(count, backend_host, backend_port):
    docs = []
    for s in range(count):
        docs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": f"svc-{s}", "namespace": "default"},
                     "spec": {"ports": [{"name": "http", "protocol": "TCP", "port": 80,
                                         "targetPort": backend_port}]}})
        docs.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"name": f"svc-{s}-1", "namespace": "default",
                                  "labels": {"kubernetes.io/service-name": f"svc-{s}"}},
                     "addressType": "IPv4",
                     "ports": [{"name": "http", "protocol": "TCP", "port": backend_port}],
                     "endpoints": [{"addresses": [backend_host],
                                    "conditions": {"ready": True}}]})
    return docs


def route(i, hostnames, services_count, hostname=None, path=None):
    match = {"path": {"type": "PathPrefix", "value": path or f"/r{i}/"}}
    if i % 10 == 3:
        match["headers"] = [{"type": "Exact", "name": "x-variant", "value": f"v{i % 7}"}]
    backends = [{"name": f"svc-{i % services_count}", "port": 80, "weight": 9}]
    if i % 10 == 7:
        backends.append({"name": f"svc-{(i + 1) % services_count}", "port": 80, "weight": 1})
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": f"route-{i}", "namespace": "default"},
            "spec": {"parentRefs": [{"name": "scale", "sectionName": "http"}],
                     "hostnames": [hostname or f"host-{i % hostnames}.example.com"],
                     "rules": [{"matches": [match], "backendRefs": backends}]}}


def to_yaml(value, indent=0):
    """Block-style YAML, as people write manifests (keys in insertion order, strings quoted
    only when YAML would read them as something else)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.append(to_yaml(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {scalar(v)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 1)
                lines.append(f"{pad}- " + body.lstrip())
            else:
                lines.append(f"{pad}- {scalar(item)}")
        return "\n".join(lines)
    return pad + scalar(value)


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v == {}:
        return "{}"
    if v == []:
        return "[]"
    plain = v and all(c.isalnum() or c in "-./_" for c in v) and not v[0].isdigit()
    return v if plain and v not in ("true", "false", "null", "yes", "no", "on", "off") \
        else json.dumps(v)


def dump(docs, path, fmt):
    with open(path + ".tmp", "w") as f:
        if fmt == "json":
            json.dump({"apiVersion": "v1", "kind": "List", "items": docs}, f, indent=1)
        else:
            for d in docs:
                f.write("---\n" + to_yaml(d) + "\n")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--routes", type=int, default=10000)
    ap.add_argument("--hostnames", type=int, default=1000)
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--port", type=int, default=18180)
    ap.add_argument("--backend", default="127.0.0.1:18100")
    ap.add_argument("--format", choices=["yaml", "json"], default="yaml")
    a = ap.parse_args()
    host, _, port = a.backend.rpartition(":")
    os.makedirs(a.out, exist_ok=True)
    ext = a.format
    dump(gateway(a.port), os.path.join(a.out, f"00-gateway.{ext}"), a.format)
    dump(services(a.services, host, int(port)), os.path.join(a.out, f"01-services.{ext}"),
         a.format)
    per_file = -(-a.routes // a.files)
    for f in range(a.files):
        docs = [route(i, a.hostnames, a.services)
                for i in range(f * per_file, min(a.routes, (f + 1) * per_file))]
        if docs:
            dump(docs, os.path.join(a.out, f"routes-{f:04d}.{ext}"), a.format)


if __name__ == "__main__":
    main()
