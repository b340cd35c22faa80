"""Scale (issue 3's benchmark, end to end): 10,000 HTTPRoutes over 1,000 hostnames in 100 files;
then a one-route change, from the file write to traffic on the new route, 50 times.

Opt-in (it loads the machine for a while): GANTRY_SCALE=1 GANTRY_BIN=build-rel/gantry pytest -s
tests/e2e/test_controlplane_scale.py. Prints the figures quoted in docs/config-propagation.md.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest

from cp_helpers import Admin, ConfigDir, backend, gateway, gateway_class, served_by, wait_until

ROUTES, HOSTS, FILES = 10_000, 1_000, 100

pytestmark = pytest.mark.skipif(os.environ.get("GANTRY_SCALE") != "1",
                                reason="scale run is opt-in: GANTRY_SCALE=1")


def route(i: int, version: int = 0) -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r{i}
  namespace: default
spec:
  parentRefs:
    - name: gw
  hostnames:
    - h{i % HOSTS}.example.com
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /p{i}/v{version}
      backendRefs:
        - name: echo
          port: 80
---
"""


def routes_file(f: int, changed: dict[int, int]) -> str:
    per = ROUTES // FILES
    return "".join(route(i, changed.get(i, 0)) for i in range(f * per, (f + 1) * per))


def test_one_route_change_at_10k_routes(tmp_path, start_gantry, make_echo):
    from backends.snapshot import free_port

    echo = make_echo("echo")
    port = free_port()
    d = ConfigDir(tmp_path / "cfg")
    d.write("gw.yaml", gateway_class() + gateway("gw", port, allowed_from="Same"))
    d.write("backends.yaml", backend("echo", echo.port))
    for f in range(FILES):
        d.write(f"routes/{f:03d}.yaml", routes_file(f, {}))

    t0 = time.monotonic()
    g = start_gantry(config_dir=d.path, wait_ports=[("127.0.0.1", port)])
    admin = Admin(g.admin_address)
    wait_until(lambda: admin.get("/readyz")[0] == 200, timeout=60, what="ready")
    startup = time.monotonic() - t0
    assert served_by(port, "h1.example.com", "/p1/v0/x") == "echo"

    per = ROUTES // FILES
    latencies = []
    changed: dict[int, int] = {}
    for k in range(1, 51):
        i = (k * 7919) % ROUTES  # a different route (and file) each time
        changed[i] = k
        text = routes_file(i // per, changed)
        t = d.write(f"routes/{(i // per):03d}.yaml", text)
        host, path = f"h{i % HOSTS}.example.com", f"/p{i}/v{k}/x"
        wait_until(lambda: served_by(port, host, path) == "echo", timeout=10, interval=0.001,
                   what=f"route r{i} v{k} served")
        latencies.append((time.monotonic() - t) * 1000)
    latencies.sort()
    stats = admin.json("/stats")
    rss = g.proc_status_kib("VmHWM") / 1024
    print(f"\n10k routes / 1k hosts / {FILES} files: start to ready {startup:.2f} s, "
          f"peak RSS {rss:.0f} MiB")
    print(f"one-route change, write -> traffic: p50 {statistics.median(latencies):.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms, max {latencies[-1]:.1f} ms")
    print(f"last reload: provider {stats['provider']['last_apply_us'] / 1000:.1f} ms, "
          f"translate {stats['last_translate_us'] / 1000:.1f} ms, "
          f"publish {stats['last_publish_us'] / 1000:.1f} ms")
    assert g.alive()
