"""`gantry validate DIR` and `gantry status` end to end, and the examples/ folders validated."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cp_helpers import ConfigDir, Setup, backend, gateway, gateway_class, http_route, namespace

REPO = Path(__file__).resolve().parents[2]


def run(gantry_bin, *args, timeout=20):
    return subprocess.run([gantry_bin, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def test_validate_clean_folder(gantry_bin, tmp_path):
    d = ConfigDir(tmp_path / "cfg")
    d.write("gw.yaml", gateway_class() + gateway("gw", 8080))
    d.write("app/route.yaml", http_route("r", hostnames=["a.example"]))
    d.write("app/svc.json", '{"apiVersion":"v1","kind":"Service","metadata":{"name":"echo"},'
                            '"spec":{"ports":[{"port":80,"targetPort":9000}]}}')
    r = run(gantry_bin, "validate", d.path)
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert "3 files" in last and "no problems" in last, r.stdout


def test_validate_reports_every_problem_with_file_and_line(gantry_bin, tmp_path):
    d = ConfigDir(tmp_path / "cfg")
    d.write("gw.yaml", gateway_class() + gateway("gw", 8080))
    # A listener port out of range (1..65535).
    bad = gateway("gw2", 8080).replace("port: 8080", "port: 70000")
    port_line = bad.splitlines().index("      port: 70000") + 1
    d.write("bad-port.yaml", bad)
    d.write("broken.yaml", "kind: HTTPRoute\nmetadata: [unclosed\n")
    d.write("dup.yaml", http_route("r") + http_route("r"))
    r = run(gantry_bin, "validate", d.path)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if not ln.startswith("warning:")]
    # "file:line: Kind ns/name: field: message"
    port = [ln for ln in lines if "bad-port.yaml" in ln]
    assert port, r.stdout
    assert re.match(r".*bad-port\.yaml:\d+: Gateway default/gw2: spec\.listeners\[0\]\.port: .+",
                    port[0]), port
    assert int(port[0].split(":")[1]) == port_line, port
    assert any(re.match(r".*broken\.yaml:\d+: .+", ln) for ln in lines), r.stdout
    assert any("dup.yaml" in ln and "HTTPRoute default/r" in ln for ln in lines), r.stdout
    assert re.search(r"\d+ problems? in ", lines[-1]), lines[-1]


def test_validate_missing_folder(gantry_bin, tmp_path):
    r = run(gantry_bin, "validate", tmp_path / "nope")
    assert r.returncode == 1
    assert "nope" in r.stderr


@pytest.mark.parametrize("example", ["quickstart", "path-header-routing", "canary", "multi-team"])
def test_examples_validate(gantry_bin, example):
    folder = REPO / "examples" / example
    if not folder.is_dir():
        pytest.skip(f"examples/{example} not present")
    r = run(gantry_bin, "validate", folder)
    assert r.returncode == 0, r.stdout + r.stderr
    warnings = [ln for ln in r.stdout.splitlines() if ln.startswith("warning:")]
    if example == "multi-team":
        # team-c's route is refused on purpose (its namespace is not selected).
        assert any("HTTPRoute team-c/blog" in w and "NotAllowedByListeners" in w
                   for w in warnings), r.stdout
        assert all("team-c" in w for w in warnings), warnings
    else:
        assert warnings == [], r.stdout


def test_status_command(gantry_bin, tmp_path, start_gantry, make_echo):
    echo = make_echo("echo")
    s = Setup(tmp_path, start_gantry, [echo], route=http_route("shop", hostnames=["a.example"]),
              extra={"other.yaml": namespace("other") + http_route("outsider", ns="other",
                                                                    parent_ns="default")})
    r = run(gantry_bin, "status", "--admin-address", s.gantry.admin_address)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    print(out)
    assert "default/gw" in out and "127.0.0.1" in out
    gw_line = next(ln for ln in out.splitlines() if ln.startswith("default/gw"))
    assert "Accepted=True" in gw_line and "Programmed=True" in gw_line
    listener = next(ln for ln in out.splitlines() if ln.strip().startswith("http "))
    assert str(s.port) in listener and "HTTP" in listener
    assert re.search(r"\s1\s", listener), listener  # one attached route
    assert re.search(r"HTTPRoute default/shop\s+default/gw\s+.*Accepted=True", out), out
    assert "NotAllowedByListeners" in out


def test_status_command_without_gantry(gantry_bin):
    from backends.snapshot import free_port

    r = run(gantry_bin, "status", "--admin-address", f"127.0.0.1:{free_port()}")
    assert r.returncode == 1
    assert "cannot reach" in r.stderr


def test_run_on_unreadable_folder_fails(gantry_bin, tmp_path):
    r = run(gantry_bin, "run", "--config", tmp_path / "missing", "--admin-address",
            "127.0.0.1:0", timeout=10)
    assert r.returncode != 0
    assert "missing" in (r.stdout + r.stderr)


def test_version_names_the_allocator_serving_malloc(gantry_bin, tmp_path, start_gantry):
    r = run(gantry_bin, "version")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"gantry \S+ \(allocator: (tcmalloc|jemalloc|mimalloc|glibc) \S.*\)\n",
                     r.stdout)
    assert m, r.stdout
    # The allocator it names (CMake GANTRY_MALLOC) is the one mapped into a running gantry.
    (tmp_path / "cfg").mkdir()
    g = start_gantry(config_dir=tmp_path / "cfg")
    maps = Path(f"/proc/{g.pid}/maps").read_text()
    libs = {"tcmalloc": "libtcmalloc", "jemalloc": "libjemalloc", "mimalloc": "libmimalloc"}
    if m.group(1) in libs:
        assert libs[m.group(1)] in maps
    else:
        assert not any(lib in maps for lib in libs.values())
