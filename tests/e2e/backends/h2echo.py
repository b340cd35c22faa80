"""H2EchoBackend: an HTTP/2 cleartext (h2c, prior knowledge) origin server for end-to-end tests.

Built on the `h2` library (framing and HPACK) with asyncio, in a thread of its own. It honours
HTTP/2 flow control both ways: request DATA is acknowledged as it arrives, response DATA is sent
only within the windows the client (gantry) grants, so a proxy that does not return credit stalls.

Every request is recorded in `backend.requests` (dicts: method, path, authority, scheme, headers as
a list of [name, value] in order, body_len, body_sha256, conn (connection number), stream id,
trailers). `backend.connections` counts accepted connections; `backend.max_active` is the largest
number of concurrently open streams seen on one connection.

Default answer: 200, content-type application/json, content-length, the request record as body.
Per-request behaviour through request headers:

  x-h2-echo-body: 1       body = the request body, sent back without content-length
  x-h2-response-bytes: N  body = N bytes of a deterministic pattern, without content-length
  x-h2-trailers: JSON     [[name, value], ...] response trailers
  x-h2-status: N          status code
  x-h2-sleep-ms: N        wait N ms (after the request ended) before answering
  x-h2-refuse: KEY        the first request carrying KEY gets RST_STREAM(REFUSED_STREAM)
  x-h2-goaway: 1          after answering, send GOAWAY (last-stream-id = this stream) and close the
                          connection once its streams are done
  x-h2-reset: 1           answer with RST_STREAM(INTERNAL_ERROR) instead of a response
  x-h2-fail-times: N      the first N requests with the same x-h2-fail-key (default: the path) fail
                          as x-h2-fail-with says (a status code, default 500, or "reset"); later
                          ones are answered normally. `backend.fail_counts[key]` counts them all.

Constructor options: max_concurrent_streams (SETTINGS_MAX_CONCURRENT_STREAMS, default 100);
tls: an ssl.SSLContext (server side) to serve h2 over TLS instead of h2c -- ALPN "h2" is set on it;
the record then has "tls": {sni, alpn, version, session_reused, peer_subject} (peer_subject: the
client certificate's subject as a dict, None without one).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings


def pattern(n: int) -> bytes:
    """n bytes of a deterministic, non-repeating-looking pattern."""
    block = bytes((i * 7 + i // 251) & 0xFF for i in range(65536))
    out = bytearray()
    while len(out) < n:
        out += block[: n - len(out)]
    return bytes(out)


class _Stream:
    def __init__(self, sid: int, headers):
        self.id = sid
        self.headers = headers
        self.body = bytearray()
        self.trailers = []
        self.ended = False
        self.reset = False


class _Conn(asyncio.Protocol):
    def __init__(self, backend: "H2EchoBackend"):
        self.b = backend
        self.streams: dict[int, _Stream] = {}
        self.window_open = asyncio.Event()
        self.goaway_pending = False
        self.closed = False

    def connection_made(self, transport):
        self.t = transport
        self.tls = None
        sslobj = transport.get_extra_info("ssl_object")
        if sslobj is not None:
            peer = sslobj.getpeercert()
            self.tls = {
                "sni": getattr(sslobj, "gantry_sni", None),
                "alpn": sslobj.selected_alpn_protocol(),
                "version": sslobj.version(),
                "session_reused": sslobj.session_reused,
                "peer_subject": (dict(x[0] for x in peer["subject"]) if peer else None),
            }
        with self.b.lock:
            self.b.connections += 1
            self.num = self.b.connections
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                        validate_inbound_headers=True)
        self.c = h2.connection.H2Connection(config=cfg)
        self.c.initiate_connection()
        self.c.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS:
                                self.b.max_concurrent_streams})
        self.flush()

    def connection_lost(self, exc):
        self.closed = True
        self.window_open.set()

    def flush(self):
        data = self.c.data_to_send()
        if data and not self.closed:
            self.t.write(data)

    def data_received(self, data):
        try:
            events = self.c.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            with self.b.lock:
                self.b.errors.append(repr(e))
            self.flush()
            self.t.close()
            return
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                s = _Stream(ev.stream_id, ev.headers)
                self.streams[ev.stream_id] = s
                with self.b.lock:
                    active = sum(1 for x in self.streams.values() if not x.reset)
                    self.b.max_active = max(self.b.max_active, active)
                key = dict(ev.headers).get("x-h2-refuse")
                if key is not None:
                    with self.b.lock:
                        first = key not in self.b.refused
                        self.b.refused.add(key)
                    if first:
                        self.c.reset_stream(ev.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                        self.streams.pop(ev.stream_id, None)
                        with self.b.lock:
                            self.b.refusals += 1
                        continue
                if ev.stream_ended:
                    s.ended = True
                    asyncio.ensure_future(self.respond(s))
            elif isinstance(ev, h2.events.DataReceived):
                s = self.streams.get(ev.stream_id)
                if s is not None:
                    s.body += ev.data
                self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.TrailersReceived):
                s = self.streams.get(ev.stream_id)
                if s is not None:
                    s.trailers = ev.headers
            elif isinstance(ev, h2.events.StreamEnded):
                s = self.streams.get(ev.stream_id)
                if s is not None and not s.ended:
                    s.ended = True
                    asyncio.ensure_future(self.respond(s))
            elif isinstance(ev, h2.events.StreamReset):
                s = self.streams.pop(ev.stream_id, None)
                if s is not None:
                    s.reset = True
                with self.b.lock:
                    self.b.resets_received += 1
                self.window_open.set()
            elif isinstance(ev, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                self.window_open.set()
        self.flush()

    async def send_body(self, s: _Stream, data: bytes, end: bool) -> bool:
        off = 0
        while off < len(data):
            if self.closed or s.reset:
                return False
            try:
                window = min(self.c.local_flow_control_window(s.id), self.c.max_outbound_frame_size)
            except (h2.exceptions.StreamClosedError, KeyError):
                return False
            if window <= 0:
                self.window_open.clear()
                await self.window_open.wait()
                continue
            n = min(window, len(data) - off)
            self.c.send_data(s.id, data[off:off + n])
            off += n
            self.flush()
            await asyncio.sleep(0)
        if end:
            self.c.end_stream(s.id)
            self.flush()
        return True

    async def respond(self, s: _Stream):
        h = dict(s.headers)
        rec = {
            "method": h.get(":method"),
            "path": h.get(":path"),
            "authority": h.get(":authority"),
            "scheme": h.get(":scheme"),
            "headers": [[k, v] for k, v in s.headers if not k.startswith(":")],
            "body_len": len(s.body),
            "body_sha256": hashlib.sha256(bytes(s.body)).hexdigest(),
            "conn": self.num,
            "stream": s.id,
            "trailers": [[k, v] for k, v in s.trailers],
            "tls": self.tls,
        }
        fail_with = None
        with self.b.lock:
            self.b.requests.append(rec)
            if "x-h2-fail-times" in h:
                key = h.get("x-h2-fail-key", h.get(":path"))
                n = self.b.fail_counts.get(key, 0) + 1
                self.b.fail_counts[key] = n
                if n <= int(h["x-h2-fail-times"]):
                    fail_with = h.get("x-h2-fail-with", "500")
        sleep_ms = int(h.get("x-h2-sleep-ms", "0"))
        if sleep_ms:
            await asyncio.sleep(sleep_ms / 1000)
        if self.closed or s.reset:
            return
        if h.get("x-h2-reset") == "1" or fail_with == "reset":
            self.c.reset_stream(s.id, h2.errors.ErrorCodes.INTERNAL_ERROR)
            self.flush()
            self.streams.pop(s.id, None)
            return
        status = fail_with or h.get("x-h2-status", "200")
        trailers = json.loads(h["x-h2-trailers"]) if "x-h2-trailers" in h else None
        if h.get("x-h2-echo-body") == "1":
            body, headers = bytes(s.body), [(":status", status)]
        elif "x-h2-response-bytes" in h:
            body = pattern(int(h["x-h2-response-bytes"]))
            headers = [(":status", status), ("content-type", "application/octet-stream")]
        else:
            body = json.dumps(rec).encode()
            headers = [(":status", status), ("content-type", "application/json"),
                       ("content-length", str(len(body)))]
        headers.append(("x-backend", self.b.name))
        self.c.send_headers(s.id, headers, end_stream=not body and not trailers)
        self.flush()
        if body or trailers:
            ok = await self.send_body(s, body, end=not trailers)
            if ok and trailers:
                self.c.send_headers(s.id, [(k, v) for k, v in trailers], end_stream=True)
                self.flush()
        self.streams.pop(s.id, None)
        if h.get("x-h2-goaway") == "1":
            self.goaway_pending = True
            self.c.close_connection(last_stream_id=s.id)
            self.flush()
        if self.goaway_pending and not self.streams:
            self.t.close()


class H2EchoBackend:
    def __init__(self, name: str = "h2echo", max_concurrent_streams: int = 100, tls=None):
        self.name = name
        self.tls = tls
        if tls is not None:
            tls.set_alpn_protocols(["h2"])

            def remember_sni(sslobj, server_name, ctx):
                sslobj.gantry_sni = server_name

            tls.sni_callback = remember_sni
        self.max_concurrent_streams = max_concurrent_streams
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.errors: list[str] = []
        self.refused: set[str] = set()
        self.refusals = 0
        self.fail_counts: dict[str, int] = {}
        self.resets_received = 0
        self.connections = 0
        self.max_active = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def _run(self, ready: threading.Event):
        asyncio.set_event_loop(self.loop)

        async def start():
            self.server = await self.loop.create_server(lambda: _Conn(self), "127.0.0.1", 0,
                                                        ssl=self.tls)

        self.loop.run_until_complete(start())
        ready.set()
        self.loop.run_forever()

    def endpoint(self, weight: int = 1) -> dict:
        return {"address": "127.0.0.1", "port": self.port, "weight": weight}

    def close(self):
        def stop():
            self.server.close()
            for t in asyncio.all_tasks(self.loop):
                t.cancel()
            self.loop.call_soon(self.loop.stop)  # after the cancellations ran

        self.loop.call_soon_threadsafe(stop)
        self.thread.join(5)
