#!/usr/bin/env python3
"""Control-plane scale benchmark (issue 3): 10,000 HTTPRoutes over 1,000 hostnames.

    bench/translate_scale/run.py <gantry-binary> [--routes 10000] [--hostnames 1000]
                                 [--changes 30] [--format yaml|json] [--keep]

1. generate.py writes the manifests to a temporary folder;
2. a demo backend (examples/quickstart/backend.py) listens on 127.0.0.1:18100;
3. `gantry run --config DIR --workers 1` starts; measured: time from process start to /readyz 200
   and to the first proxied 200 on the last route, the controller's own translate time (/stats),
   and peak RSS (VmHWM);
4. sample routes are checked to route as generated (right backend path, header matches honoured);
5. one-route changes: CHANGES times, one HTTPRoute's hostname is changed (file written to a
   temporary name and renamed into place, as editors and ConfigMap volumes do); measured: time
   from the rename to the first 200 for the new hostname, polled every millisecond.

Loopback only; the ports are 18100 (backend), 18180 (gateway), 18902 (admin). Everything started
here is stopped on exit.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BACKEND_PORT = 18100
GATEWAY_PORT = 18180
ADMIN = ("127.0.0.1", 18902)


def get(port, path, host=None, headers=None, timeout=2.0):
    """One request on a fresh connection -> (status, body) or (None, error)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = dict(headers or {})
        if host:
            h["Host"] = host
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        return r.status, r.read()
    except OSError as e:
        return None, str(e).encode()
    finally:
        conn.close()


def wait_for(pred, timeout, interval=0.001):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.monotonic()
        time.sleep(interval)
    return None


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_ms(pid):
    """user + system CPU time of a process (all its threads) so far, in ms."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def change_manifest(k):
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: changing
  namespace: default
spec:
  parentRefs:
    - name: scale
      sectionName: http
  hostnames:
    - change-{k}.example.com
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /
      backendRefs:
        - name: svc-0
          port: 80
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gantry")
    ap.add_argument("--routes", type=int, default=10000)
    ap.add_argument("--hostnames", type=int, default=1000)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--changes", type=int, default=30)
    ap.add_argument("--format", choices=["yaml", "json"], default="yaml")
    ap.add_argument("--keep", action="store_true", help="keep the generated folder and log")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gantry-scale.")
    config = os.path.join(tmp, "config")
    procs = []

    def cleanup(*_):
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if a.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), config,
                        "--routes", str(a.routes), "--hostnames", str(a.hostnames),
                        "--files", str(a.files), "--port", str(GATEWAY_PORT),
                        "--backend", f"127.0.0.1:{BACKEND_PORT}", "--format", a.format],
                       check=True)
        size = sum(os.path.getsize(os.path.join(config, f)) for f in os.listdir(config))
        print(f"config: {a.routes} HTTPRoutes over {a.hostnames} hostnames, "
              f"{len(os.listdir(config))} {a.format} files, {size / 1e6:.1f} MB")

        backend = subprocess.Popen([sys.executable, os.path.join(ROOT, "examples/quickstart/backend.py"),
                                    "--port", str(BACKEND_PORT), "--quiet"],
                                   stderr=subprocess.DEVNULL)
        procs.append(backend)
        if not wait_for(lambda: get(BACKEND_PORT, "/")[0] == 200, 10, 0.05):
            sys.exit("backend did not start")

        log = open(os.path.join(tmp, "gantry.log"), "w")
        t0 = time.monotonic()
        gantry = subprocess.Popen([a.gantry, "run", "--config", config, "--workers", "1",
                                   "--admin-address", f"{ADMIN[0]}:{ADMIN[1]}",
                                   "--bind-address", "127.0.0.1"],
                                  stdout=log, stderr=subprocess.STDOUT)
        procs.append(gantry)

        def ready():
            if gantry.poll() is not None:
                raise SystemExit(f"gantry exited with {gantry.returncode}; log: {tmp}/gantry.log")
            return get(ADMIN[1], "/readyz", timeout=1)[0] == 200

        t_ready = wait_for(ready, 120)
        if t_ready is None:
            sys.exit("gantry not ready after 120 s")
        last = a.routes - 1
        last_host = f"host-{last % a.hostnames}.example.com"
        hdr = {"x-variant": f"v{last % 7}"} if last % 10 == 3 else {}
        t_traffic = wait_for(lambda: get(GATEWAY_PORT, f"/r{last}/", last_host, hdr)[0] == 200, 60)
        stats_status, stats_body = get(ADMIN[1], "/stats")
        stats = json.loads(stats_body) if stats_status == 200 else {}
        cpu_start = cpu_ms(gantry.pid)
        hwm_start = proc_status(gantry.pid, "VmHWM")
        rss_start = proc_status(gantry.pid, "VmRSS")

        print()
        print(f"start -> /readyz 200:          {(t_ready - t0) * 1000:8.0f} ms")
        print(f"gantry CPU (user+sys) to here:  {cpu_start:8.0f} ms")
        print("start -> traffic on last route: " +
              (f"{(t_traffic - t0) * 1000:8.0f} ms" if t_traffic else "never (within 60 s)"))
        if stats:
            print(f"controller translate (/stats):  {stats.get('last_translate_us', 0) / 1000:8.0f} ms"
                  f"  (publish {stats.get('last_publish_us', 0) / 1000:.0f} ms; provider objects "
                  f"{stats.get('provider', {}).get('objects')})")
        print(f"peak RSS after start (VmHWM):  {hwm_start / 1024:8.1f} MiB (RSS now {rss_start / 1024:.1f} MiB)")

        # Routing checks on a sample.
        rng = random.Random(1)
        bad = []
        sample = rng.sample(range(a.routes), min(200, a.routes))
        for i in sample:
            host = f"host-{i % a.hostnames}.example.com"
            h = {"x-variant": f"v{i % 7}"} if i % 10 == 3 else {}
            st, body = get(GATEWAY_PORT, f"/r{i}/x", host, h)
            if st != 200 or json.loads(body).get("path") != f"/r{i}/x":
                bad.append((i, st))
            if h:  # the header match must be required
                st, _ = get(GATEWAY_PORT, f"/r{i}/x", host)
                if st != 404:
                    bad.append((i, f"{st} without header"))
        st, _ = get(GATEWAY_PORT, "/r0/", "unknown.example.com")
        if st != 404:
            bad.append(("unknown host", st))
        print(f"routing checks: {len(sample)} sampled routes, {len(bad)} wrong"
              + (f": {bad[:5]}" if bad else ""))

        # One-route changes.
        latencies = []
        reconcile = []
        spans = {}  # the controller's own spans of each change (/stats "last_change"), in ms
        deltas = {}  # how each change was translated (/stats "last_change")
        cpu = []
        target = os.path.join(config, "zz-changing.yaml")
        staging = os.path.join(tmp, "staging.yaml")  # same filesystem: rename is atomic
        for k in range(a.changes):
            with open(staging, "w") as f:
                f.write(change_manifest(k))
            cpu_before = cpu_ms(gantry.pid)
            t_write = time.monotonic()
            os.replace(staging, target)
            host = f"change-{k}.example.com"
            t_ok = wait_for(lambda: get(GATEWAY_PORT, "/", host)[0] == 200, 10)
            if t_ok is None:
                print(f"change {k}: new hostname not served after 10 s", file=sys.stderr)
                latencies.append(float("inf"))
                continue
            latencies.append((t_ok - t_write) * 1000)
            cpu.append(cpu_ms(gantry.pid) - cpu_before)
            st, body = get(ADMIN[1], "/stats")
            if st == 200:
                stats = json.loads(body)
                reconcile.append(stats.get("last_reconcile_us", 0) / 1000)
                for name, us in stats.get("last_change", {}).items():
                    if name.endswith("_us"):
                        spans.setdefault(name.removesuffix("_us"), []).append(us / 1000)
                    else:  # "incremental" (a delta translation?), "routes_translated"
                        deltas.setdefault(name, []).append(us)
            time.sleep(0.2)  # let the provider's coalescing window close
        if latencies:
            print(f"one-route change, file rename -> first 200 on the new hostname, {len(latencies)} changes: "
                  f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
                  f"max {max(latencies):.0f} ms")
        if reconcile:
            print(f"  controller reconcile (translate + publish) per change: "
                  f"median {statistics.median(reconcile):.0f} ms, max {max(reconcile):.0f} ms")
        if spans:
            print("  controller spans per change (median / max ms): " + ", ".join(
                f"{name} {statistics.median(v):.1f} / {max(v):.1f}" for name, v in spans.items()))
            lat = [x for x in latencies if x != float("inf")]
            if "event_to_swapped" in spans and lat:
                print(f"  after every worker swapped -> first 200 seen by the client: median "
                      f"{statistics.median(lat) - statistics.median(spans['event_to_swapped']):.1f} ms")
        if deltas.get("incremental"):
            print(f"  delta translations: {sum(1 for x in deltas['incremental'] if x)} of "
                  f"{len(deltas['incremental'])} changes (HTTPRoutes re-translated per change: "
                  f"median {statistics.median(deltas.get('routes_translated', [0])):.0f})")
        if cpu:
            print(f"  gantry CPU (user+sys) from rename to first 200, per change: "
                  f"median {statistics.median(cpu):.0f} ms, max {max(cpu):.0f} ms "
                  f"(clock tick {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms)")
        print(f"peak RSS over the whole run (VmHWM): {proc_status(gantry.pid, 'VmHWM') / 1024:.1f} MiB")
        print(f"load average at the end: {open('/proc/loadavg').read().split()[:3]}")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
