"""A small HTTP/2 client over a plain socket (h2c with prior knowledge) built on the `h2` library,
for tests that need frame-level control: flow-control windows, resets, limits, GOAWAY."""

from __future__ import annotations

import socket
import time

import h2.config
import h2.connection
import h2.events
import h2.settings


class H2Client:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0,
                 window: int | None = None, auto_window: bool = True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                          header_encoding="utf-8"))
        self.auto_window = auto_window
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.flush()
        self.authority = f"{host}:{port}"
        self.responses: dict[int, dict] = {}
        self.events: list = []
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.closed = False
        self.remote_settings: dict = {}

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, method: str = "GET", path: str = "/", headers=(), body: bytes | None = None,
                end_stream: bool = True, authority: str | None = None) -> int:
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "http"), (":authority", authority or self.authority),
                (":path", path), *headers]
        self.conn.send_headers(sid, hdrs, end_stream=end_stream and not body)
        self.responses[sid] = {"headers": None, "data": bytearray(), "trailers": None,
                               "ended": False, "reset": None, "interim": []}
        if body:
            self.send_body(sid, body, end_stream=end_stream)
        self.flush()
        return sid

    def send_body(self, sid: int, body: bytes, end_stream: bool = True) -> None:
        """Sends as much as the flow-control windows allow, reading frames while waiting."""
        off = 0
        while off < len(body):
            window = min(self.conn.local_flow_control_window(sid),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                self.flush()
                self.pump(0.5)
                continue
            k = min(window, len(body) - off)
            self.conn.send_data(sid, body[off:off + k])
            off += k
            self.flush()
        if end_stream:
            self.conn.end_stream(sid)
        self.flush()

    def pump(self, timeout: float = 1.0) -> bool:
        """Reads once (up to timeout) and processes events; False on EOF or timeout."""
        if self.closed:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        for ev in self.conn.receive_data(data):
            self.events.append(ev)
            self._on_event(ev)
        self.flush()
        return True

    def _on_event(self, ev) -> None:
        if isinstance(ev, h2.events.ResponseReceived):
            self.responses[ev.stream_id]["headers"] = ev.headers
        elif isinstance(ev, h2.events.InformationalResponseReceived):
            self.responses[ev.stream_id]["interim"].append(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            r = self.responses[ev.stream_id]
            r["data"] += ev.data
            if self.auto_window and ev.flow_controlled_length:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            self.responses[ev.stream_id]["trailers"] = ev.headers
        elif isinstance(ev, h2.events.StreamEnded):
            self.responses[ev.stream_id]["ended"] = True
        elif isinstance(ev, h2.events.StreamReset):
            if ev.stream_id in self.responses:
                self.responses[ev.stream_id]["reset"] = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = ev
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            for k, v in ev.changed_settings.items():
                self.remote_settings[k] = v.new_value

    def wait(self, predicate, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return predicate()
            self.pump(min(left, 0.5))
        return True

    def response(self, sid: int, timeout: float = 10.0) -> dict:
        r = self.responses[sid]
        assert self.wait(lambda: r["ended"] or r["reset"] is not None, timeout), \
            f"stream {sid}: no complete response (goaway={self.goaway}, closed={self.closed})"
        return r

    @staticmethod
    def status(r: dict) -> int:
        return int(dict(r["headers"])[":status"])

    @staticmethod
    def header(r: dict, name: str):
        return [v for k, v in r["headers"] if k == name]
