"""The examples/ folders, served for real: each is copied to a temp folder with its fixed ports
(Gateway 808x, backends 9xxx on 127.0.0.1) replaced by free ones, and its README's claims checked."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

from cp_helpers import Admin, find_condition, served_by, wait_until

REPO = Path(__file__).resolve().parents[2]


def serve_example(name, tmp_path, start_gantry, make_echo, gateway_port, backends):
    """backends: {fixed port: backend name}. Returns (gantry, port, {name: EchoBackend})."""
    from backends.snapshot import free_port

    dst = tmp_path / name
    shutil.copytree(REPO / "examples" / name, dst)
    port = free_port()
    echoes = {b: make_echo(b) for b in backends.values()}
    for f in list(dst.rglob("*.yaml")):
        text = f.read_text().replace(f"port: {gateway_port}", f"port: {port}")
        for fixed, b in backends.items():
            text = text.replace(str(fixed), str(echoes[b].port))
        f.write_text(text)
    g = start_gantry(config_dir=dst, wait_ports=[("127.0.0.1", port)])
    return g, port, echoes


def test_path_header_routing(tmp_path, start_gantry, make_echo):
    g, port, _ = serve_example("path-header-routing", tmp_path, start_gantry, make_echo, 8081,
                               {9101: "api", 9102: "api-v2", 9103: "frontend"})
    host = "shop.example.com"
    wait_until(lambda: served_by(port, host, "/api/items") == "api", what="api route")
    assert served_by(port, host, "/api/items", {"x-version": "v2"}) == "api-v2"
    assert served_by(port, host, "/api", {"x-version": "v1"}) == "api"
    assert served_by(port, host, "/") == "frontend"
    assert served_by(port, host, "/apiary") == "frontend"  # PathPrefix matches whole segments
    assert served_by(port, "other.example.com", "/api/items") is None


def test_canary_split(tmp_path, start_gantry, make_echo):
    g, port, _ = serve_example("canary", tmp_path, start_gantry, make_echo, 8082,
                               {9201: "checkout-stable", 9202: "checkout-canary"})
    host = "checkout.example.com"
    wait_until(lambda: served_by(port, host) is not None, what="routing")
    counts = collections.Counter(served_by(port, host) for _ in range(400))
    assert set(counts) <= {"checkout-stable", "checkout-canary"}, counts
    canary = counts["checkout-canary"] / 400
    assert 0.04 <= canary <= 0.18, counts  # 10% expected
    for _ in range(10):
        assert served_by(port, host, "/", {"x-canary": "always"}) == "checkout-canary"


def test_multi_team(tmp_path, start_gantry, make_echo):
    g, port, _ = serve_example("multi-team", tmp_path, start_gantry, make_echo, 8083,
                               {9301: "store", 9302: "search"})
    wait_until(lambda: served_by(port, "store.example.com") == "store", what="team-a route")
    assert served_by(port, "search.example.com") == "search"
    assert served_by(port, "blog.example.com") is None  # team-c is not admitted
    admin = Admin(g.admin_address)
    blog = admin.obj("HTTPRoute", "team-c", "blog")
    c = find_condition(blog["status"]["parents"][0]["conditions"], "Accepted")
    assert (c["status"], c["reason"]) == ("False", "NotAllowedByListeners")
    gw = admin.obj("Gateway", "infra", "shared")
    assert gw["status"]["listeners"][0]["attachedRoutes"] == 2
