"""GRPCRoute end to end with real grpcio clients and servers (generic handlers, raw bytes: no
codegen). Manifests go through the control plane (standalone mode); the client speaks h2c with
prior knowledge to the Gateway's HTTP listener; gantry forwards each call as a stream of its
HTTP/2 upstream pool.

Covered: unary, server streaming, client streaming, bidi; method matching Exact (service+method,
service only) and RegularExpression, header matching, weighted backendRefs, header modifier
filters; gRPC-shaped errors (UNIMPLEMENTED without a route, UNAVAILABLE for a backend that is down
or an invalid backendRef), grpc-timeout (DEADLINE_EXCEEDED), status and trailers from the
backend relayed, client cancellation reaching the backend."""

import json
import threading
import time
from concurrent import futures

import grpc
import pytest

from cp_helpers import Admin, ConfigDir, backend, gateway, gateway_class, wait_until
from backends.snapshot import free_port


class Backend:
    """A grpcio server with a generic service; every call is recorded."""

    def __init__(self, name: str):
        self.name = name
        self.calls = []
        self.cancelled = threading.Event()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        self.server.add_generic_rpc_handlers((self,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def close(self):
        self.server.stop(0)

    # grpc.GenericRpcHandler
    def service(self, details):
        method = details.method
        svc, _, name = method.lstrip("/").partition("/")
        kind = name.split("_")[0]
        meta = [list(m) for m in details.invocation_metadata]

        def record(extra=None):
            rec = {"backend": self.name, "method": method, "metadata": meta}
            rec.update(extra or {})
            self.calls.append(rec)
            return rec

        if kind == "Unary":
            def unary(req, ctx):
                rec = record({"len": len(req)})
                md = dict(meta)
                if "x-fail" in md:
                    ctx.set_trailing_metadata((("x-detail", "bad"),))
                    ctx.abort(grpc.StatusCode.FAILED_PRECONDITION, md["x-fail"])
                if "x-sleep-ms" in md:
                    time.sleep(int(md["x-sleep-ms"]) / 1000)
                ctx.set_trailing_metadata((("x-trailer", "t-" + self.name),))
                return json.dumps(rec).encode() + b"|" + req
            return grpc.unary_unary_rpc_method_handler(unary)
        if kind == "ServerStream":
            def server_stream(req, ctx):
                n = int(req.decode())
                record({"n": n})
                # Runs when the call ends; the long stream only ends early when it is cancelled.
                ctx.add_callback(lambda: (not ctx.is_active()) and self.cancelled.set())
                for i in range(n):
                    if not ctx.is_active():
                        self.cancelled.set()
                        return
                    yield f"{self.name}:{i}".encode() + b"x" * 1000
                    if n > 100:
                        time.sleep(0.01)
            return grpc.unary_stream_rpc_method_handler(server_stream)
        if kind == "ClientStream":
            def client_stream(it, ctx):
                total, count = 0, 0
                for m in it:
                    total += len(m)
                    count += 1
                record({"count": count, "total": total})
                return json.dumps({"backend": self.name, "count": count, "total": total}).encode()
            return grpc.stream_unary_rpc_method_handler(client_stream)
        if kind == "Bidi":
            def bidi(it, ctx):
                record()
                for m in it:
                    yield b"echo:" + m
            return grpc.stream_stream_rpc_method_handler(bidi)
        return None


def grpc_route(name: str, rules: list[str]) -> str:
    body = "".join(rules)
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: {name}
  namespace: default
spec:
  parentRefs:
    - name: gw
  rules:
{body}---
"""


def rule(matches: str, backends: list[tuple[str, int]], filters: str = "") -> str:
    out = "    - matches:\n" + matches
    if filters:
        out += "      filters:\n" + filters
    out += "      backendRefs:\n"
    for b, w in backends:
        out += f"        - name: {b}\n          port: 80\n          weight: {w}\n"
    return out


def method(service: str, name: str | None = None, type_: str = "Exact", headers=None) -> str:
    out = f"        - method:\n            type: {type_}\n            service: '{service}'\n"
    if name:
        out += f"            method: '{name}'\n"
    if headers:
        out += "          headers:\n" + "".join(
            f"            - name: {k}\n              value: \"{v}\"\n" for k, v in headers.items())
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory, gantry_bin):
    """One gantry and two gRPC backends for the whole module (start-up cost paid once)."""
    import subprocess
    import conftest

    a, b, m = Backend("a"), Backend("b"), Backend("m")
    port = free_port()
    admin_port = free_port()
    d = ConfigDir(tmp_path_factory.mktemp("grpc") / "cfg")
    d.write("gw.yaml", gateway_class() + gateway("gw", port))
    d.write("svc.yaml", backend("svc-a", a.port) + backend("svc-b", b.port)
            + backend("svc-down", free_port()) + backend("svc-m", m.port))
    hdr_filter = """        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
              - name: x-added
                value: by-gantry
            remove: ["x-secret"]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            add:
              - name: x-resp
                value: from-gantry
"""
    mirror_filter = """        - type: RequestMirror
          requestMirror:
            backendRef:
              name: svc-m
              port: 80
"""
    d.write("route.yaml", grpc_route("g", [
        rule(method("echo.Mirror"), [("svc-a", 1)], filters=mirror_filter),
        rule(method("echo.Sticky"), [("svc-a", 1), ("svc-b", 1)])
        + "      sessionPersistence:\n        sessionName: gsess\n        type: Cookie\n",
        rule(method("echo.Echo", "Unary_Exact"), [("svc-a", 1)]),
        rule(method(r"echo\.Re.*", "Unary_.*", type_="RegularExpression"), [("svc-b", 1)]),
        rule(method("echo.Split"), [("svc-a", 1), ("svc-b", 3)]),
        rule(method("echo.Hdr", headers={"x-tenant": "t1"}), [("svc-b", 1)]),
        rule(method("echo.Hdr"), [("svc-a", 1)]),
        rule(method("echo.Filter"), [("svc-a", 1)], filters=hdr_filter),
        rule(method("echo.Down"), [("svc-down", 1)]),
        rule(method("echo.Invalid"), [("no-such-service", 1)]),
        rule(method("echo.Stream"), [("svc-a", 1)]),
    ]))
    log = tmp_path_factory.mktemp("grpclog") / "gantry.log"
    g = conftest.Gantry(gantry_bin, ["run", "--workers", "2", "--admin-address",
                                     f"127.0.0.1:{admin_port}", "--config", str(d.path)],
                        log, [("127.0.0.1", port)], admin_port)
    try:
        g.wait_ready()
        admin = Admin(g.admin_address)
        wait_until(lambda: admin.route_condition("GRPCRoute", "default", "g", "Accepted") == "True",
                   timeout=10, what="GRPCRoute accepted")
        ch = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(ch).result(timeout=10)
        yield type("Env", (), {"a": a, "b": b, "m": m, "ch": ch, "port": port, "g": g,
                               "admin": admin})
        ch.close()
    finally:
        g.stop()
        a.close()
        b.close()
        m.close()
        if g.proc.returncode not in (0, None):
            print(g.log()[-4000:])


def unary(env, path: str, payload: bytes = b"ping", metadata=None, timeout: float = 10):
    fn = env.ch.unary_unary(path)
    resp, call = fn.with_call(payload, metadata=metadata, timeout=timeout)
    rec = json.loads(resp.split(b"|", 1)[0])
    return rec, resp.split(b"|", 1)[1], call


def test_unary_exact_method(env):
    rec, echoed, call = unary(env, "/echo.Echo/Unary_Exact", b"hello",
                              metadata=[("x-custom", "v1")])
    assert rec["backend"] == "a" and rec["method"] == "/echo.Echo/Unary_Exact"
    assert echoed == b"hello"
    md = dict(rec["metadata"])
    assert md["x-custom"] == "v1"
    assert "x-forwarded-for" in md
    assert ("x-trailer", "t-a") in call.trailing_metadata()
    assert call.code() == grpc.StatusCode.OK


def test_regex_method_match(env):
    rec, _, _ = unary(env, "/echo.Regex/Unary_Anything")
    assert rec["backend"] == "b"
    # The regex is anchored: a service that only contains the pattern does not match.
    with pytest.raises(grpc.RpcError) as e:
        unary(env, "/x.echo.Regex/Unary_Anything")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_no_route_is_unimplemented(env):
    with pytest.raises(grpc.RpcError) as e:
        unary(env, "/echo.Echo/Unary_Other")  # service matches, method does not
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(grpc.RpcError) as e:
        unary(env, "/nope.Service/Unary_X")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_header_match(env):
    rec, _, _ = unary(env, "/echo.Hdr/Unary_H", metadata=[("x-tenant", "t1")])
    assert rec["backend"] == "b"
    rec, _, _ = unary(env, "/echo.Hdr/Unary_H", metadata=[("x-tenant", "t2")])
    assert rec["backend"] == "a"


def test_weights(env):
    counts = {"a": 0, "b": 0}
    for _ in range(80):
        rec, _, _ = unary(env, "/echo.Split/Unary_W")
        counts[rec["backend"]] += 1
    # 1:3 split, round robin per worker: close to 20/60.
    assert 10 <= counts["a"] <= 30 and counts["a"] + counts["b"] == 80, counts


def test_header_modifier_filters(env):
    rec, _, call = unary(env, "/echo.Filter/Unary_F", metadata=[("x-secret", "s"), ("x-keep", "k")])
    md = dict(rec["metadata"])
    assert md.get("x-added") == "by-gantry"
    assert "x-secret" not in md and md["x-keep"] == "k"
    assert ("x-resp", "from-gantry") in call.initial_metadata()


def test_request_mirror(env):
    """GRPCRoute RequestMirror (issue 5: "filters (header modifiers, mirror)"): the call is also
    sent to the mirror backend, whose answer is discarded; the client gets the primary's."""
    n0 = len(env.m.calls)
    rec, echoed, _ = unary(env, "/echo.Mirror/Unary_M", b"mirror-me",
                           metadata=[("x-custom", "m1")])
    assert rec["backend"] == "a" and echoed == b"mirror-me"
    stream = env.ch.stream_unary("/echo.Mirror/ClientStream_M")
    resp = json.loads(stream(iter([b"x" * 100, b"y" * 200, b"z" * 300]), timeout=10))
    assert resp == {"backend": "a", "count": 3, "total": 600}
    wait_until(lambda: len(env.m.calls) >= n0 + 2, timeout=5, what="mirrored calls")
    got = {c["method"]: c for c in env.m.calls[n0:]}
    assert got["/echo.Mirror/Unary_M"]["len"] == len(b"mirror-me")
    assert ["x-custom", "m1"] in got["/echo.Mirror/Unary_M"]["metadata"]
    assert got["/echo.Mirror/ClientStream_M"]["count"] == 3
    assert got["/echo.Mirror/ClientStream_M"]["total"] == 600
    assert all(c["backend"] == "m" for c in env.m.calls)


def test_cookie_session_persistence(env):
    """GRPCRouteRule.sessionPersistence (conformance GRPCRouteSessionPersistenceCookie): the first
    call's response carries a session cookie (no Max-Age/Expires); calls sending it back as
    metadata, each on a new connection, reach the same backend."""
    fn = env.ch.unary_unary("/echo.Sticky/Unary_S")
    _, call = fn.with_call(b"x", timeout=10)
    cookies = [v for k, v in call.initial_metadata() if k == "set-cookie"]
    assert len(cookies) == 1 and cookies[0].startswith("gsess="), call.initial_metadata()
    assert "Max-Age" not in cookies[0] and "Expires" not in cookies[0]
    token = cookies[0].split(";", 1)[0]
    seen = set()
    for _ in range(6):
        ch = grpc.insecure_channel(f"127.0.0.1:{env.port}")
        try:
            resp = ch.unary_unary("/echo.Sticky/Unary_S")(b"y", metadata=[("cookie", token)],
                                                          timeout=10)
        finally:
            ch.close()
        seen.add(json.loads(resp.split(b"|", 1)[0])["backend"])
    assert len(seen) == 1
    # Without the cookie, both backends serve (round robin).
    spread = {json.loads(fn(b"z", timeout=10).split(b"|", 1)[0])["backend"] for _ in range(6)}
    assert spread == {"a", "b"}


def test_backend_errors_are_unavailable(env):
    with pytest.raises(grpc.RpcError) as e:
        unary(env, "/echo.Down/Unary_D")
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError) as e:
        unary(env, "/echo.Invalid/Unary_I")
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_backend_status_and_trailers_relayed(env):
    with pytest.raises(grpc.RpcError) as e:
        unary(env, "/echo.Echo/Unary_Exact", metadata=[("x-fail", "nope")])
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details() == "nope"
    assert ("x-detail", "bad") in e.value.trailing_metadata()


def test_grpc_timeout_deadline_exceeded(env):
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        unary(env, "/echo.Echo/Unary_Exact", metadata=[("x-sleep-ms", "3000")], timeout=0.5)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - t0 < 2.5
    # gantry enforces grpc-timeout itself: a raw HTTP/2 client that would wait forever.
    t0 = time.monotonic()
    status, headers, trailers = raw_grpc_call(env.port, "/echo.Echo/Unary_Exact",
                                              [("grpc-timeout", "300m"), ("x-sleep-ms", "3000")])
    assert time.monotonic() - t0 < 2.5
    assert status == "200"
    assert headers.get("content-type") == "application/grpc"
    # Trailers-only: grpc-status in the one HEADERS block.
    assert headers.get("grpc-status") == "4", (headers, trailers)
    assert "deadline" in headers.get("grpc-message", "").lower()


def test_raw_no_route_is_trailers_only(env):
    status, headers, trailers = raw_grpc_call(env.port, "/nope.Service/Unary_X", [])
    assert status == "200" and headers.get("grpc-status") == "12" and trailers == {}
    assert headers.get("content-type") == "application/grpc"


def raw_grpc_call(port: int, path: str, extra, payload: bytes = b"hi", timeout: float = 10):
    """One gRPC call over a raw h2c connection (the `h2` library): (status, headers, trailers)."""
    import socket
    import struct

    import h2.config
    import h2.connection
    import h2.events

    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                             header_encoding="utf-8"))
    c.initiate_connection()
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", path),
                         (":authority", f"127.0.0.1:{port}"), ("content-type", "application/grpc"),
                         ("te", "trailers"), *extra])
    c.send_data(sid, b"\x00" + struct.pack(">I", len(payload)) + payload, end_stream=True)
    s.sendall(c.data_to_send())
    headers, trailers, done = None, {}, False
    deadline = time.monotonic() + timeout
    while not done and time.monotonic() < deadline:
        data = s.recv(65536)
        if not data:
            break
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                headers = dict(ev.headers)
            elif isinstance(ev, h2.events.TrailersReceived) and ev.stream_id == sid:
                trailers = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) \
                    and ev.stream_id == sid:
                done = True
        s.sendall(c.data_to_send())
    s.close()
    assert headers is not None, "no response"
    return headers.pop(":status"), headers, trailers


def test_server_streaming(env):
    fn = env.ch.unary_stream("/echo.Stream/ServerStream_S")
    msgs = list(fn(b"50", timeout=10))
    assert len(msgs) == 50
    assert msgs[0].startswith(b"a:0") and msgs[-1].startswith(b"a:49")


def test_client_streaming(env):
    fn = env.ch.stream_unary("/echo.Stream/ClientStream_C")
    chunks = [b"y" * 100_000 for _ in range(40)]  # 4 MB: flow control on the way up
    resp = json.loads(fn(iter(chunks), timeout=20))
    assert resp == {"backend": "a", "count": 40, "total": 4_000_000}


def test_bidi(env):
    fn = env.ch.stream_stream("/echo.Stream/Bidi_B")
    out = list(fn(iter([b"one", b"two", b"three"]), timeout=10))
    assert out == [b"echo:one", b"echo:two", b"echo:three"]


def test_cancel_reaches_backend(env):
    env.a.cancelled.clear()
    fn = env.ch.unary_stream("/echo.Stream/ServerStream_Long")
    it = fn(b"1000", timeout=20)
    assert next(it).startswith(b"a:0")
    it.cancel()
    assert env.a.cancelled.wait(5), "the backend did not see the call cancelled"


def test_example_grpc(tmp_path, start_gantry):
    """examples/grpc served for real, with its own server.py, on free ports."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    dst = tmp_path / "grpc"
    shutil.copytree(repo / "examples" / "grpc", dst)
    gw, p1, p2 = free_port(), free_port(), free_port()
    for f in dst.glob("*.yaml"):
        f.write_text(f.read_text().replace("port: 8090", f"port: {gw}")
                     .replace("9801", str(p1)).replace("9802", str(p2)))
    servers = [subprocess.Popen([sys.executable, str(dst / "server.py"), "--port", str(p), "--name", n],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for p, n in ((p1, "v1"), (p2, "v2"))]
    try:
        from conftest import wait_port

        for p in (p1, p2):  # both example servers up before any call
            assert wait_port("127.0.0.1", p, 15), f"example server on {p} did not start"
        start_gantry(config_dir=dst, wait_ports=[("127.0.0.1", gw)])
        ch = grpc.insecure_channel(f"127.0.0.1:{gw}",
                                   options=[("grpc.default_authority", "grpc.example.com")])
        hello = ch.unary_unary("/demo.Greeter/SayHello")
        deadline = time.monotonic() + 15
        while True:  # the servers and the route come up concurrently
            try:
                out = hello(b"x", timeout=2)
                break
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert out.endswith(b"via gantry")
        assert hello(b"x", metadata=[("x-version", "v2")], timeout=5) == b"hello x from v2"
        got = [hello(b"x", timeout=5).split()[3] for _ in range(100)]
        assert 3 <= got.count(b"v2") <= 20, got.count(b"v2")  # 90/10
        assert [m for m in ch.unary_stream("/demo.Greeter/Count")(b"2", timeout=10)] == \
            [b"v1: 0", b"v1: 1"]
        with pytest.raises(grpc.RpcError) as e:
            ch.unary_unary("/other.Svc/X")(b"x", timeout=5)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
        ch.close()
    finally:
        for s in servers:
            s.terminate()
            s.wait(5)
