"""Service appProtocol kubernetes.io/ws and kubernetes.io/wss (GEP-1911, issue 4 "Backends"), end to
end with the `websockets` package on both sides: client -> gantry -> websockets server.

- ws: WebSocket over cleartext to the backend (RFC 6455 opening handshake over HTTP/1.1, then the
  tunnel): messages both ways, server-initiated messages, close codes in both directions.
- wss: WebSocket over TLS to the backend. GEP-1911 supports it on an HTTPRoute "only if there is a
  corresponding BackendTLSPolicy": with one, gantry verifies the backend by the policy's CA and
  hostname (SNI); without one the backendRef is invalid (ResolvedRefs False UnsupportedProtocol)
  and its requests get 500.
- HTTP/2 clients: gantry does not send SETTINGS_ENABLE_CONNECT_PROTOCOL, so RFC 8441 WebSockets
  over HTTP/2 are not offered: an extended CONNECT (":protocol") is a malformed request (RFC 8441
  section 3, RFC 9113 section 8.1.1) and so is an HTTP/1.1-style Upgrade header in an HTTP/2
  request (RFC 9113 section 8.2.2: connection-specific header fields): stream error
  PROTOCOL_ERROR, the connection lives on.
"""

from __future__ import annotations

import socket
import ssl
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.sync.server import serve

from backends.tls_pki import Pki, ca_configmap
from cp_helpers import Setup, backend, get_via, http_route, wait_until
from test_tls_backend import policy


class WsServer:
    """A websockets (sync) server on 127.0.0.1: greets, echoes, closes on request; records what it
    saw. With `tls`, WebSocket over TLS (records the SNI the client sent)."""

    def __init__(self, name: str, tls: ssl.SSLContext | None = None):
        self.name = name
        self.paths: list[str] = []
        self.headers: list[dict] = []
        self.close_codes: list[int | None] = []
        self.sni: list[str | None] = []
        self.messages = 0
        self._lock = threading.Lock()
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.sni.append(name)
        self.server = serve(self._handle, "127.0.0.1", 0, ssl=tls, max_size=4 << 20)
        self.port = self.server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _handle(self, ws) -> None:
        with self._lock:
            self.paths.append(ws.request.path)
            self.headers.append({k.lower(): v for k, v in ws.request.headers.raw_items()})
        ws.send(f"hello from {self.name}")  # server -> client before the client says anything
        try:
            for msg in ws:
                if msg == "close-me":
                    ws.close(4001, "asked to")
                    break
                with self._lock:
                    self.messages += 1
                ws.send(msg)
        except ConnectionClosed:
            pass
        with self._lock:
            self.close_codes.append(ws.close_code)

    def close(self) -> None:
        self.server.shutdown()
        self._thread.join(5)


def ws_service(name: str, port: int, app_protocol: str) -> str:
    return backend(name, port).replace(
        "    - name: http\n      port: 80\n",
        f"    - name: http\n      port: 80\n      appProtocol: {app_protocol}\n", 1)


def setup(tmp_path, start_gantry, servers: dict, extra: str = "") -> Setup:
    """servers: {path prefix: (WsServer, appProtocol)}; one route rule per prefix."""
    rules = [{"path": f"/{p}", "backends": [(srv.name, 1)]} for p, (srv, _) in servers.items()]
    services = "".join(ws_service(srv.name, srv.port, ap) for srv, ap in servers.values())
    s = Setup(tmp_path, start_gantry, [], route=http_route("r", rules=rules),
              extra={"ws.yaml": services + extra})
    return s


def _ready(s: Setup, path: str) -> None:
    # Any HTTP answer from the backend (a websockets server answers a plain GET with 426).
    wait_until(lambda: get_via(s.port, "chat.example", path, timeout=2)[0] == 426,
               timeout=10, what=f"route to {path}")


def chat(url: str, **kw) -> tuple[list, int | None]:
    got = []
    with connect(url, open_timeout=10, close_timeout=5, max_size=4 << 20, **kw) as ws:
        got.append(ws.recv(timeout=5))
        for i in range(20):
            ws.send(f"message {i}")
            got.append(ws.recv(timeout=5))
        big = bytes(range(256)) * 4096  # 1 MiB binary frame
        ws.send(big)
        got.append(ws.recv(timeout=10) == big)
    return got, ws.close_code


def test_ws_backend_echo_both_ways_and_close(tmp_path, start_gantry):
    srv = WsServer("chat")
    try:
        s = setup(tmp_path, start_gantry, {"chat": (srv, "kubernetes.io/ws")})
        _ready(s, "/chat")
        got, code = chat(f"ws://127.0.0.1:{s.port}/chat/room?x=1")
        assert got[0] == "hello from chat"
        assert got[1:21] == [f"message {i}" for i in range(20)] and got[21] is True
        assert code == 1000
        wait_until(lambda: srv.close_codes, timeout=5, what="server saw the close")
        assert srv.close_codes == [1000] and srv.messages == 21
        assert srv.paths == ["/chat/room?x=1"]
        h = srv.headers[0]
        assert h["upgrade"].lower() == "websocket" and "upgrade" in h["connection"].lower()
        assert h["sec-websocket-version"] == "13" and h["x-forwarded-proto"] == "http"
        # The backend closes: its close frame and code reach the client.
        with connect(f"ws://127.0.0.1:{s.port}/chat", open_timeout=10) as ws:
            assert ws.recv(timeout=5) == "hello from chat"
            ws.send("close-me")
            with pytest.raises(ConnectionClosed) as e:
                ws.recv(timeout=5)
        assert e.value.rcvd is not None and e.value.rcvd.code == 4001
        assert e.value.rcvd.reason == "asked to"
        admin_status = s.admin.route_condition("HTTPRoute", "default", "r", "ResolvedRefs")
        assert admin_status == "True"
    finally:
        srv.close()


def test_wss_backend_with_backend_tls_policy(tmp_path, start_gantry):
    pki = Pki(tmp_path / "pki")
    ca = pki.ca("Chat CA")
    cert = pki.cert("chat", ca, dns=["chat.internal"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.crt), str(cert.key))
    secure = WsServer("secure", tls=ctx)
    plain = WsServer("plain")
    try:
        s = setup(tmp_path, start_gantry, {"secure": (secure, "kubernetes.io/wss"),
                                           "plain": (plain, "kubernetes.io/ws")},
                  extra=ca_configmap("backend-ca", ca) + policy("p", "secure", "chat.internal"))
        _ready(s, "/secure")
        got, code = chat(f"ws://127.0.0.1:{s.port}/secure/room")
        assert got[0] == "hello from secure"
        assert got[1:21] == [f"message {i}" for i in range(20)] and got[21] is True
        assert code == 1000
        assert "chat.internal" in secure.sni  # the policy's hostname, verified by its CA
        wait_until(lambda: secure.close_codes, timeout=5, what="server saw the close")
        assert secure.close_codes == [1000]
        assert s.admin.route_condition("HTTPRoute", "default", "r", "ResolvedRefs") == "True"
    finally:
        secure.close()
        plain.close()


def test_wss_without_policy_is_unsupported_protocol(tmp_path, start_gantry):
    srv = WsServer("nopolicy")
    try:
        s = setup(tmp_path, start_gantry, {"np": (srv, "kubernetes.io/wss")})
        wait_until(lambda: s.admin.route_condition("HTTPRoute", "default", "r", "ResolvedRefs")
                   == "False", timeout=10, what="ResolvedRefs False")
        o = s.admin.obj("HTTPRoute", "default", "r")
        c = [c for c in o["status"]["parents"][0]["conditions"] if c["type"] == "ResolvedRefs"][0]
        assert c["reason"] == "UnsupportedProtocol" and "kubernetes.io/wss" in c["message"], c
        # The only backendRef is invalid: HTTPBackendRef "all traffic ... MUST receive a 500".
        wait_until(lambda: get_via(s.port, "chat.example", "/np", timeout=2)[0] == 500,
                   timeout=10, what="500")
        with pytest.raises(Exception):
            with connect(f"ws://127.0.0.1:{s.port}/np", open_timeout=5):
                pass
        assert srv.paths == []
    finally:
        srv.close()


class H2:
    """A raw HTTP/2 (h2c prior knowledge) connection with the `h2` library."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                         header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.remote_settings: dict = {}

    def events(self, until) -> list:
        out = []
        while not any(until(e) for e in out):
            data = self.sock.recv(65536)
            if not data:
                break
            evs = self.conn.receive_data(data)
            for e in evs:
                if isinstance(e, h2.events.RemoteSettingsChanged):
                    self.remote_settings.update({k: v.new_value for k, v in e.changed_settings.items()})
            out += evs
            self.sock.sendall(self.conn.data_to_send())
        return out

    def send_raw_headers(self, stream_id: int, headers: list, end_stream: bool) -> None:
        # Bypass h2's own validation: we want to see what gantry does with a malformed request.
        self.conn.config.validate_outbound_headers = False
        self.conn.config.normalize_outbound_headers = False
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        self.sock.sendall(self.conn.data_to_send())

    def close(self) -> None:
        self.sock.close()


def test_http2_websocket_upgrades_are_refused_per_spec(tmp_path, start_gantry):
    srv = WsServer("h2chat")
    try:
        s = setup(tmp_path, start_gantry, {"chat": (srv, "kubernetes.io/ws")})
        _ready(s, "/chat")
        c = H2(s.port)
        try:
            c.events(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
            # RFC 8441 section 3: without SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 from the server a
            # client MUST NOT send :protocol.
            assert c.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL, 0) == 0

            def reset(sid):
                return lambda e: isinstance(e, h2.events.StreamReset) and e.stream_id == sid

            # Extended CONNECT anyway: malformed, stream error PROTOCOL_ERROR.
            c.send_raw_headers(1, [(":method", "CONNECT"), (":protocol", "websocket"),
                                   (":scheme", "http"), (":path", "/chat"),
                                   (":authority", "chat.example"),
                                   ("sec-websocket-version", "13")], end_stream=False)
            evs = c.events(reset(1))
            r = [e for e in evs if isinstance(e, h2.events.StreamReset) and e.stream_id == 1]
            assert r and r[0].error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR, evs
            # An HTTP/1.1 Upgrade in an HTTP/2 request: connection-specific, malformed.
            c.send_raw_headers(3, [(":method", "GET"), (":scheme", "http"), (":path", "/chat"),
                                   (":authority", "chat.example"), ("connection", "upgrade"),
                                   ("upgrade", "websocket")], end_stream=True)
            evs = c.events(reset(3))
            r = [e for e in evs if isinstance(e, h2.events.StreamReset) and e.stream_id == 3]
            assert r and r[0].error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR, evs
            # The connection lives on: a normal request on it is answered (426 from websockets).
            c.conn.config.validate_outbound_headers = True
            c.conn.send_headers(5, [(":method", "GET"), (":scheme", "http"), (":path", "/chat"),
                                    (":authority", "chat.example")], end_stream=True)
            c.sock.sendall(c.conn.data_to_send())
            evs = c.events(lambda e: isinstance(e, h2.events.ResponseReceived))
            resp = [e for e in evs if isinstance(e, h2.events.ResponseReceived)][0]
            assert dict(resp.headers)[":status"] == "426"
        finally:
            c.close()
        assert srv.paths == []  # nothing reached the backend as a WebSocket
    finally:
        srv.close()


def test_websocket_example(tmp_path, start_gantry):
    """examples/websocket served for real (its fixed ports replaced by free ones) with its own
    server.py, and the README's exchange checked."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from backends.snapshot import free_port
    from cp_helpers import Admin

    repo = Path(__file__).resolve().parents[2]
    dst = tmp_path / "websocket"
    shutil.copytree(repo / "examples" / "websocket", dst)
    gw_port, ws_port = free_port(), free_port()
    for f in dst.glob("*.yaml"):
        f.write_text(f.read_text().replace("port: 8095", f"port: {gw_port}")
                     .replace("9951", str(ws_port)))
    server = subprocess.Popen([sys.executable, str(dst / "server.py"), "--port", str(ws_port)])
    try:
        g = start_gantry(config_dir=dst, wait_ports=[("127.0.0.1", gw_port)])
        wait_until(lambda: get_via(gw_port, "chat.example.com", "/ws/x", timeout=2)[0] == 426,
                   timeout=10, what="example route and server")
        with connect(f"ws://127.0.0.1:{gw_port}/ws/lobby", open_timeout=10) as ws:
            assert ws.recv(timeout=5) == "welcome to /ws/lobby"
            ws.send("hi")
            assert ws.recv(timeout=5) == "echo: hi"
        assert Admin(g.admin_address).route_condition("HTTPRoute", "default", "chat",
                                                       "ResolvedRefs") == "True"
    finally:
        server.terminate()
        server.wait(5)
