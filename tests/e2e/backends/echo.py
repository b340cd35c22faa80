"""EchoBackend: a threaded HTTP/1.1 origin server for end-to-end tests.

It is written on raw sockets (not http.server) so that it sees and reports the request exactly as it
arrived on the wire: request-target as sent, every header line in order with its original case, the
raw header block, body length and SHA-256, request trailers, and which connection it came on. It
keeps a record of every request (`backend.requests`) and counts accepted connections
(`backend.connections`), so tests can check upstream keep-alive reuse, load balancing and what the
proxy forwarded.

Default answer: 200 with a JSON body that is the request record (see `_record`). Behaviour is changed
per request with `x-echo-*` request headers (ordinary end-to-end headers, forwarded by the proxy), or
per backend with `EchoBackend(defaults={...})` using the same names:

  x-echo-status: N            status code of the answer (204/304/1xx/HEAD answers carry no body)
  x-echo-headers: JSON        [[name, value], ...] extra response header lines, sent verbatim
  x-echo-response-bytes: N    body = N bytes of the deterministic pattern (see `pattern()`)
  x-echo-chunked: 1           answer with Transfer-Encoding: chunked
  x-echo-chunk-size: N        chunk size for chunked/streamed answers (default 16384)
  x-echo-trailers: JSON       [[name, value], ...] response trailer fields (chunked only)
  x-echo-pause-after: N       after N body bytes have been sent, flush and sleep x-echo-pause-ms
  x-echo-pause-ms: N
  x-echo-no-framing: 1        neither Content-Length nor chunked: close-delimited body
  x-echo-sleep-ms: N          sleep after reading the request body, before answering
  x-echo-continue: 0          do not send 100 Continue for Expect: 100-continue (default: send)
  x-echo-skip-body: 1         answer without reading the request body, then close
  x-echo-skip-body: hold      answer without reading the request body, keep the connection 5 s
  x-echo-stream-echo: 1       answer at once (chunked) and echo the request body back as it arrives
  x-echo-close-after-ms: N    answer normally (keep-alive), then close the idle connection after N ms
  x-echo-refuse-upgrade: 1    treat an upgrade request as a normal request (no 101)
  x-echo-fail-times: N        the first N requests with the same x-echo-fail-key (default: the
                              request-target) fail as x-echo-fail-with says, later ones are answered
                              normally (what conformance's retry simulation calls succeedAfter); the
                              count is kept per backend, so it spans all connections
  x-echo-fail-with: W         how those fail: a status code (default 500), "reset" or "close"
  x-echo-fail-delay-ms: N     sleep this long before failing (simulates a slow failure)
  x-echo-mode: M              misbehave instead of answering normally:
      close             close the connection (FIN) without answering
      reset             reset the connection (RST) without answering
      raw               send base64(x-echo-raw) bytes verbatim, then do x-echo-after
      short-body        Content-Length: x-echo-response-bytes (default 100000), send half, close (FIN)
      reset-mid-body    same but reset (RST) after half the body
  x-echo-raw: BASE64          the bytes for mode raw
  x-echo-after: A             after mode raw: close (default), reset, keep (serve next request),
                              hold:MS (keep the connection open MS ms without reading, then close)

TLS: `EchoBackend(tls=ssl_context)` serves HTTPS (the handshake runs in the connection's thread);
each record then has "tls": {"version", "sni", "session_reused", "alpn", "peer_subject" (the client
certificate's subject as a dict when the context asked for one, else None)} and `tls_failures` counts
failed handshakes.

Upgrades: `Connection: upgrade` + `Upgrade: websocket` gets a real RFC 6455 handshake and a message
echo (text/binary, fragmentation, ping/pong, close); any other Upgrade token gets a 101 and then a raw
byte echo until the client half-closes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
import struct
import threading
import time

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Deterministic body content: byte i of a pattern body is i % 251 (a prime, so misplaced or repeated
# blocks of any power-of-two size change the content).
_PATTERN = bytes(range(251)) * 1200


def pattern(offset: int, n: int) -> bytes:
    """Bytes [offset, offset + n) of the pattern body."""
    out = bytearray()
    while n > 0:
        start = offset % 251
        k = min(n, len(_PATTERN) - start - 251)
        out += _PATTERN[start : start + k]
        offset += k
        n -= k
    return bytes(out)


def pattern_sha256(n: int) -> str:
    h = hashlib.sha256()
    off = 0
    while off < n:
        k = min(1 << 20, n - off)
        h.update(pattern(off, k))
        off += k
    return h.hexdigest()


class _Eof(Exception):
    pass


class _BadMessage(Exception):
    pass


class _Reader:
    """Buffered reads over a socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise _Eof()
        self.buf += data

    def read_head(self, limit: int = 8 << 20) -> bytes | None:
        """The request head up to and including the empty line; None on a clean EOF."""
        while True:
            # RFC 9112 section 2.2: a server SHOULD ignore at least one empty line before the
            # request-line.
            while self.buf[:2] == b"\r\n" or self.buf[:1] == b"\n":
                del self.buf[: 2 if self.buf[:1] == b"\r" else 1]
            ends = [i for i in (self.buf.find(b"\n\r\n"), self.buf.find(b"\n\n")) if i >= 0]
            if ends:
                i = min(ends)
                end = i + (3 if self.buf[i : i + 3] == b"\n\r\n" else 2)
                head = bytes(self.buf[:end])
                del self.buf[:end]
                return head
            if len(self.buf) > limit:
                raise _BadMessage("head too large")
            try:
                self._fill()
            except _Eof:
                if not self.buf:
                    return None
                raise

    def read_line(self, limit: int = 65536) -> bytes:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                return line
            if len(self.buf) > limit:
                raise _BadMessage("line too long")
            self._fill()

    def read_some(self, maxn: int) -> bytes:
        if not self.buf:
            self._fill()
        n = min(maxn, len(self.buf))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data


def header_values(headers, name: str) -> list[str]:
    """All values of `name` (case-insensitive) in a [[name, value], ...] list, in order."""
    name = name.lower()
    return [v for n, v in headers if n.lower() == name]


def header_tokens(headers, name: str) -> list[str]:
    """The comma-separated list elements of every `name` line, trimmed and lower-cased."""
    out = []
    for v in header_values(headers, name):
        out += [t.strip().lower() for t in v.split(",") if t.strip()]
    return out


def _rst_close(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class EchoBackend:
    def __init__(self, name: str = "echo", host: str = "127.0.0.1", port: int = 0,
                 defaults: dict | None = None, tls: ssl.SSLContext | None = None):
        self.name = name
        self.tls = tls
        self.tls_failures = 0
        if tls is not None:
            # Remember the SNI each connection sent (the callback runs during its handshake).
            tls.sni_callback = lambda s, name, ctx: setattr(s, "echo_sni", name)
        self.defaults = {k.lower(): str(v) for k, v in (defaults or {}).items()}
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind((host, port))
        self._lsock.listen(1024)
        self.host, self.port = self._lsock.getsockname()[:2]
        self.cond = threading.Condition()
        self.connections = 0  # accepted so far
        self.open_connections = 0
        self.requests: list[dict] = []
        self.ws_messages = 0
        self.fail_counts: dict[str, int] = {}  # x-echo-fail-times bookkeeping, per key
        self._socks: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._stopping = threading.Event()  # interrupts the backend's sleeps on close()
        t = threading.Thread(target=self._accept_loop, name=f"echo-{name}-accept", daemon=True)
        t.start()
        self._accept_thread = t

    # ----------------------------------------------------------------------------------------
    # Test-facing API.

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def endpoint(self, weight: int = 1) -> dict:
        return {"address": self.host, "port": self.port, "weight": weight}

    def reset(self) -> None:
        """Forget recorded requests and zero the connection counter (open connections stay)."""
        with self.cond:
            self.requests = []
            self.connections = 0
            self.ws_messages = 0

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        """Waits until predicate(self) is true; returns its final value."""
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), timeout)

    def done_requests(self) -> list[dict]:
        with self.cond:
            return [r for r in self.requests if r["state"] == "done"]

    def close(self) -> None:
        self._closed = True
        self._stopping.set()
        try:
            self._lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._lsock.close()
        with self.cond:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._accept_thread.join(2)
        for t in list(self._threads):
            t.join(2)

    # ----------------------------------------------------------------------------------------
    # Server.

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._lsock.accept()
            except OSError:
                return
            if self._closed:
                sock.close()
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.cond:
                self.connections += 1
                self.open_connections += 1
                conn_id = self.connections
                self._socks.add(sock)
                self.cond.notify_all()
            t = threading.Thread(target=self._serve, args=(sock, conn_id),
                                 name=f"echo-{self.name}-{conn_id}", daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket, conn_id: int) -> None:
        tls_info = None
        raw = sock
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
                with self.cond:  # close() shuts down what is in _socks; raw is detached now
                    self._socks.discard(raw)
                    self._socks.add(sock)
                sock.do_handshake()
                peer = sock.getpeercert()
                tls_info = {"version": sock.version(), "sni": getattr(sock, "echo_sni", None),
                            "session_reused": sock.session_reused,
                            "alpn": sock.selected_alpn_protocol(),
                            "peer_subject": (dict(x[0] for x in peer["subject"]) if peer
                                             else None)}
            except (OSError, ssl.SSLError):
                with self.cond:
                    self.tls_failures += 1
                    self.open_connections -= 1
                    self._socks.discard(raw)
                    self._socks.discard(sock)
                    self.cond.notify_all()
                sock.close()
                return
        rd = _Reader(sock)
        index = 0
        try:
            while True:
                head = rd.read_head()
                if head is None:
                    break
                rec = self._record(head, conn_id, index)
                if tls_info is not None:
                    rec["tls"] = tls_info
                index += 1
                if not self._handle(sock, rd, rec):
                    break
        except (_Eof, _BadMessage, OSError, ValueError):
            pass
        finally:
            with self.cond:
                self.open_connections -= 1
                self._socks.discard(raw)
                self._socks.discard(sock)
                self.cond.notify_all()
            try:
                sock.close()
            except OSError:
                pass

    def _record(self, head: bytes, conn_id: int, index: int) -> dict:
        text = head.decode("latin-1")
        lines = text.split("\n")
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
        while lines and lines[-1] == "":
            lines.pop()
        parts = lines[0].split(" ")
        method, target, version = (parts + ["", "", ""])[:3]
        headers: list[list[str]] = []
        obs_fold = False
        for ln in lines[1:]:
            if ln[:1] in (" ", "\t") and headers:
                obs_fold = True
                headers[-1][1] += " " + ln.strip(" \t")
                continue
            name, _, value = ln.partition(":")
            headers.append([name, value.strip(" \t")])
        rec = {
            "backend": self.name,
            "port": self.port,
            "conn": conn_id,
            "index": index,  # 0 for the first request on this connection
            "method": method,
            "target": target,
            "version": version,
            "headers": headers,
            "raw_head": text,
            "obs_fold": obs_fold,
            "chunked": False,
            "body_len": 0,
            "body_sha256": None,
            "body_head": "",
            "trailers": [],
            "state": "head",  # head -> body -> done | truncated
            "t_head": time.monotonic(),
        }
        with self.cond:
            self.requests.append(rec)
            self.cond.notify_all()
        return rec

    def _ctl(self, rec: dict, name: str, default: str | None = None) -> str | None:
        vals = header_values(rec["headers"], name)
        if vals:
            return vals[0]
        return self.defaults.get(name, default)

    def _set(self, rec: dict, **kw) -> None:
        with self.cond:
            rec.update(kw)
            self.cond.notify_all()

    # Reads the request body (Content-Length or chunked), hashing it; calls on_data per piece.
    def _read_body(self, rd: _Reader, rec: dict, on_data=None) -> None:
        h = hashlib.sha256()
        head_bytes = bytearray()
        total = 0

        def take(data: bytes) -> None:
            nonlocal total
            if total == 0 and data:
                self._set(rec, state="body", t_body=time.monotonic())
            h.update(data)
            if len(head_bytes) < 256:
                head_bytes.extend(data[: 256 - len(head_bytes)])
            total += len(data)
            with self.cond:
                rec["body_len"] = total
                self.cond.notify_all()
            if on_data:
                on_data(data)

        te = header_tokens(rec["headers"], "transfer-encoding")
        cls = header_values(rec["headers"], "content-length")
        try:
            if te and te[-1] == "chunked":
                rec["chunked"] = True
                trailers = []
                while True:
                    line = rd.read_line().rstrip(b"\r\n")
                    size = int(line.split(b";")[0].strip(), 16)
                    if size == 0:
                        break
                    left = size
                    while left:
                        data = rd.read_some(min(left, 262144))
                        left -= len(data)
                        take(data)
                    if rd.read_line() not in (b"\r\n", b"\n"):
                        raise _BadMessage("chunk data not followed by CRLF")
                while True:
                    line = rd.read_line().rstrip(b"\r\n")
                    if not line:
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    trailers.append([name, value.strip(" \t")])
                rec["trailers"] = trailers
            elif cls:
                left = int(cls[0].split(",")[0].strip())
                while left:
                    data = rd.read_some(min(left, 262144))
                    left -= len(data)
                    take(data)
        except _Eof:
            self._set(rec, state="truncated", body_sha256=h.hexdigest(),
                      body_head=head_bytes.decode("latin-1"))
            raise
        self._set(rec, body_sha256=h.hexdigest(), body_head=head_bytes.decode("latin-1"))

    def _handle(self, sock: socket.socket, rd: _Reader, rec: dict) -> bool:
        """Serves one request; returns whether the connection stays open."""
        hdrs = rec["headers"]
        conn_tokens = header_tokens(hdrs, "connection")
        upgrade = header_values(hdrs, "upgrade")
        if "upgrade" in conn_tokens and upgrade and self._ctl(rec, "x-echo-refuse-upgrade") != "1":
            return self._upgrade(sock, rd, rec, upgrade[0].strip())

        skip = self._ctl(rec, "x-echo-skip-body")
        if skip == "hold":
            # Answer, then neither read nor close for up to 5 s: the request body stays unread.
            self._respond(sock, rec, force_close=True)
            self._set(rec, state="done", t_done=time.monotonic())
            self._stopping.wait(5)
            return False
        if skip == "1":
            self._respond(sock, rec, force_close=True)
            self._set(rec, state="done", t_done=time.monotonic())
            # Half-close and drain what the client still sends, so the close is not a reset.
            try:
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(1.0)
                while sock.recv(65536):
                    pass
            except OSError:
                pass
            return False

        if (
            "100-continue" in header_tokens(hdrs, "expect")
            and self._ctl(rec, "x-echo-continue", "1") != "0"
        ):
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

        if self._ctl(rec, "x-echo-stream-echo") == "1":
            return self._stream_echo(sock, rd, rec)

        self._read_body(rd, rec)
        sleep_ms = int(self._ctl(rec, "x-echo-sleep-ms", "0"))
        if sleep_ms:
            self._stopping.wait(sleep_ms / 1000)
        self._set(rec, state="done", t_done=time.monotonic())

        mode = self._ctl(rec, "x-echo-mode", "")
        fail_times = self._ctl(rec, "x-echo-fail-times")
        if fail_times is not None:
            key = self._ctl(rec, "x-echo-fail-key", rec["target"])
            with self.cond:
                seen = self.fail_counts.get(key, 0)
                self.fail_counts[key] = seen + 1
            if seen < int(fail_times):
                delay = int(self._ctl(rec, "x-echo-fail-delay-ms", "0"))
                if delay:
                    self._stopping.wait(delay / 1000)
                how = self._ctl(rec, "x-echo-fail-with", "500")
                if how == "reset":
                    mode = "reset"
                elif how == "close":
                    mode = "close"
                else:
                    rec["fail_status"] = int(how)
        if mode == "close":
            sock.shutdown(socket.SHUT_WR)
            return False
        if mode == "reset":
            _rst_close(sock)
            return False
        if mode == "raw":
            sock.sendall(base64.b64decode(self._ctl(rec, "x-echo-raw", "")))
            after = self._ctl(rec, "x-echo-after", "close")
            if after == "keep":
                return True
            if after == "reset":
                _rst_close(sock)
            elif after.startswith("hold:"):
                self._stopping.wait(int(after[5:]) / 1000)
                sock.shutdown(socket.SHUT_RDWR)
            else:
                sock.shutdown(socket.SHUT_WR)
            return False
        if mode in ("short-body", "reset-mid-body"):
            n = int(self._ctl(rec, "x-echo-response-bytes", "100000"))
            sock.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nX-Echo-Backend: {self.name}\r\n\r\n"
                .encode() + pattern(0, n // 2)
            )
            time.sleep(0.05)
            if mode == "reset-mid-body":
                _rst_close(sock)
            else:
                sock.shutdown(socket.SHUT_WR)
            return False
        keep = self._respond(sock, rec)
        close_after = self._ctl(rec, "x-echo-close-after-ms")
        if keep and close_after is not None:
            # Keep-alive framing, but the server drops the idle connection shortly after (an
            # upstream keep-alive timeout shorter than the proxy's).
            self._stopping.wait(int(close_after) / 1000)
            sock.shutdown(socket.SHUT_WR)
            return False
        return keep

    def _respond(self, sock: socket.socket, rec: dict, force_close: bool = False) -> bool:
        hdrs = rec["headers"]
        status = rec.get("fail_status") or int(self._ctl(rec, "x-echo-status", "200"))
        extra = json.loads(self._ctl(rec, "x-echo-headers", "[]"))
        nbytes = self._ctl(rec, "x-echo-response-bytes")
        chunked = self._ctl(rec, "x-echo-chunked") == "1"
        no_framing = self._ctl(rec, "x-echo-no-framing") == "1"
        trailers = json.loads(self._ctl(rec, "x-echo-trailers", "[]"))
        chunk_size = int(self._ctl(rec, "x-echo-chunk-size", "16384"))
        pause_after = int(self._ctl(rec, "x-echo-pause-after", "-1"))
        pause_ms = int(self._ctl(rec, "x-echo-pause-ms", "0"))

        if nbytes is not None:
            length = int(nbytes)
            body_json = None
        else:
            body_json = json.dumps(
                {k: v for k, v in rec.items() if not k.startswith("t_")}
            ).encode()
            length = len(body_json)

        bodiless_status = status in (204, 304) or 100 <= status < 200
        send_body = rec["method"] != "HEAD" and not bodiless_status

        close = force_close or no_framing
        conn_tokens = header_tokens(hdrs, "connection")
        if "close" in conn_tokens:
            close = True
        if rec["version"] == "HTTP/1.0" and "keep-alive" not in conn_tokens:
            close = True
        if "close" in header_tokens(extra, "connection"):
            close = True

        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines.append(f"X-Echo-Backend: {self.name}")
        if body_json is not None and not bodiless_status:
            lines.append("Content-Type: application/json")
        if not bodiless_status and not no_framing:
            if chunked:
                lines.append("Transfer-Encoding: chunked")
            else:
                lines.append(f"Content-Length: {length}")
        for n, v in extra:
            lines.append(f"{n}: {v}")
        if close and "close" not in header_tokens(extra, "connection") and not force_close:
            lines.append("Connection: close")
        if force_close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

        if not send_body:
            sock.sendall(head)
            return not close

        def pieces():
            if body_json is not None:
                yield body_json
                return
            off = 0
            while off < length:
                k = min(chunk_size, length - off)
                if pause_after >= 0 and off < pause_after < off + k:
                    k = pause_after - off
                yield pattern(off, k)
                off += k

        out = bytearray(head)
        sent = 0
        for piece in pieces():
            if pause_after >= 0 and sent == pause_after and pause_ms:
                sock.sendall(out)
                out = bytearray()
                self._stopping.wait(pause_ms / 1000)
            if chunked:
                out += b"%x\r\n" % len(piece) + piece + b"\r\n"
            else:
                out += piece
            sent += len(piece)
            if len(out) >= 262144:
                sock.sendall(out)
                out = bytearray()
        if pause_after >= 0 and sent == pause_after and pause_ms:
            sock.sendall(out)
            out = bytearray()
            self._stopping.wait(pause_ms / 1000)
        if chunked:
            out += b"0\r\n"
            for n, v in trailers:
                out += f"{n}: {v}\r\n".encode("latin-1")
            out += b"\r\n"
        sock.sendall(out)
        if no_framing:
            sock.shutdown(socket.SHUT_WR)
        return not close

    def _stream_echo(self, sock: socket.socket, rd: _Reader, rec: dict) -> bool:
        sock.sendall(
            f"HTTP/1.1 200 OK\r\nX-Echo-Backend: {self.name}\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )

        def echo(data: bytes) -> None:
            sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")

        self._read_body(rd, rec, on_data=echo)
        sock.sendall(b"0\r\n\r\n")
        self._set(rec, state="done", t_done=time.monotonic())
        return "close" not in header_tokens(rec["headers"], "connection")

    # ----------------------------------------------------------------------------------------
    # Upgrades.

    def _upgrade(self, sock: socket.socket, rd: _Reader, rec: dict, proto: str) -> bool:
        if proto.lower() == "websocket":
            key = (header_values(rec["headers"], "sec-websocket-key") or [""])[0].strip()
            accept = base64.b64encode(hashlib.sha1(key.encode() + _WS_GUID).digest()).decode()
            sock.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
                    f"X-Echo-Backend: {self.name}\r\n\r\n"
                ).encode()
            )
            self._set(rec, state="done", t_done=time.monotonic(), upgraded=True)
            self._ws_echo(sock, rd)
            return False
        sock.sendall(
            (
                f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: {proto}\r\nConnection: Upgrade\r\n"
                f"X-Echo-Backend: {self.name}\r\n\r\n"
            ).encode()
        )
        self._set(rec, state="done", t_done=time.monotonic(), upgraded=True)
        try:
            if rd.buf:
                sock.sendall(bytes(rd.buf))
                rd.buf.clear()
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return False

    def _ws_echo(self, sock: socket.socket, rd: _Reader) -> None:
        def send_frame(op: int, payload: bytes) -> None:
            n = len(payload)
            if n < 126:
                hdr = struct.pack("!BB", 0x80 | op, n)
            elif n < 65536:
                hdr = struct.pack("!BBH", 0x80 | op, 126, n)
            else:
                hdr = struct.pack("!BBQ", 0x80 | op, 127, n)
            sock.sendall(hdr + payload)

        msg_op, parts = 1, []
        while True:
            b0, b1 = rd.read_exact(2)
            fin, op = b0 & 0x80, b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", rd.read_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", rd.read_exact(8))[0]
            mask = rd.read_exact(4) if b1 & 0x80 else None
            data = rd.read_exact(n)
            if mask and n:
                m = (mask * (n // 4 + 1))[:n]
                data = (int.from_bytes(data, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")
            if op == 8:
                send_frame(8, data[:2])
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if op == 9:
                send_frame(10, data)
                continue
            if op == 10:
                continue
            if op in (1, 2):
                msg_op, parts = op, [data]
            else:
                parts.append(data)
            if fin:
                send_frame(msg_op, b"".join(parts))
                with self.cond:
                    self.ws_messages += 1
                    self.cond.notify_all()


_REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 204: "No Content",
    206: "Partial Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
    400: "Bad Request", 404: "Not Found", 413: "Content Too Large", 417: "Expectation Failed",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}
