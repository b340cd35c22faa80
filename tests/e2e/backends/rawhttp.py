"""RawConn: a raw-socket HTTP/1.1 client for byte-exact requests and framing checks.

It sends exactly the bytes it is given and parses responses per RFC 9112 section 6.3 (HEAD, 1xx, 204
and 304 have no body; chunked with trailers; Content-Length; otherwise until close), reporting
whether the body was complete, so a truncated or mis-framed response is visible to the test.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field


class ConnectionClosed(Exception):
    """The peer closed (or reset) the connection before a complete response head arrived."""

    def __init__(self, msg: str, partial: bytes = b""):
        super().__init__(msg)
        self.partial = partial


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list  # [[name, value], ...] in received order
    body: bytes = b""
    trailers: list = field(default_factory=list)
    complete: bool = True  # False: the connection ended before the framed body was complete
    chunked: bool = False
    raw_head: bytes = b""

    def header(self, name: str):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def header_all(self, name: str) -> list:
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def json(self):
        return json.loads(self.body)


class RawConn:
    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data) -> None:
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def shutdown_write(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    # ---- reading

    def _fill(self, deadline: float) -> bool:
        """Reads more bytes; False on EOF/reset. Raises socket.timeout past the deadline."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self, deadline: float) -> bytes | None:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                return line
            if not self._fill(deadline):
                return None

    def read_response(self, method: str = "GET", timeout: float | None = None) -> Response:
        """Reads one response (interim 1xx responses are returned on their own)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        raw = bytearray()
        while True:
            line = self._line(deadline)
            if line is None:
                raise ConnectionClosed("closed before a response", bytes(raw) + bytes(self.buf))
            raw += line
            if raw.strip(b"\r\n"):
                break
            raw.clear()  # tolerate stray empty lines
        headers = []
        while True:
            line = self._line(deadline)
            if line is None:
                raise ConnectionClosed("closed inside response head", bytes(raw))
            raw += line
            s = line.rstrip(b"\r\n")
            if not s:
                break
            if s[:1] in (b" ", b"\t") and headers:
                headers[-1][1] += " " + s.strip().decode("latin-1")
                continue
            n, _, v = s.decode("latin-1").partition(":")
            headers.append([n, v.strip(" \t")])
        status_line = bytes(raw.split(b"\n", 1)[0]).rstrip(b"\r").decode("latin-1")
        parts = status_line.split(" ", 2)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        resp = Response(version, status, reason, headers, raw_head=bytes(raw))

        if method.upper() == "HEAD" or 100 <= status < 200 or status in (204, 304):
            return resp
        te = [t.strip().lower() for v in resp.header_all("transfer-encoding") for t in v.split(",")]
        cl = resp.header_all("content-length")
        body = bytearray()
        if te and te[-1] == "chunked":
            resp.chunked = True
            while True:
                line = self._line(deadline)
                if line is None:
                    resp.complete = False
                    break
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:
                        t = self._line(deadline)
                        if t is None:
                            resp.complete = False
                            break
                        t = t.rstrip(b"\r\n")
                        if not t:
                            break
                        n, _, v = t.decode("latin-1").partition(":")
                        resp.trailers.append([n, v.strip(" \t")])
                    break
                while len(self.buf) < size + 2:
                    if not self._fill(deadline):
                        break
                if len(self.buf) < size + 2:
                    body += self.buf[:size]
                    self.buf.clear()
                    resp.complete = False
                    break
                body += self.buf[:size]
                del self.buf[: size + 2]
        elif cl:
            n = int(cl[0])
            while len(self.buf) < n:
                if not self._fill(deadline):
                    break
            take = min(n, len(self.buf))
            body += self.buf[:take]
            del self.buf[:take]
            resp.complete = take == n
        else:
            while self._fill(deadline):
                pass
            body += self.buf
            self.buf.clear()
        resp.body = bytes(body)
        return resp

    def read_final(self, method: str = "GET", timeout: float | None = None):
        """Reads interim responses and the final one: returns (final, [interim...])."""
        interim = []
        while True:
            r = self.read_response(method, timeout)
            if 100 <= r.status < 200 and r.status != 101:
                interim.append(r)
                continue
            return r, interim

    def wait_closed(self, timeout: float = 5.0) -> tuple[bool, bytes]:
        """Waits for the peer to close. Returns (closed, bytes received meanwhile)."""
        deadline = time.monotonic() + timeout
        got = bytearray(self.buf)
        self.buf.clear()
        try:
            while self._fill(deadline):
                got += self.buf
                self.buf.clear()
            return True, bytes(got)
        except socket.timeout:
            return False, bytes(got)

    def read_available(self, timeout: float = 1.0) -> bytes:
        """Whatever arrives within timeout (stops early on EOF)."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except socket.timeout:
            pass
        out = bytes(self.buf)
        self.buf.clear()
        return out


def request(method: str, target: str, host: str | None, headers=(), body: bytes = b"",
            version: str = "HTTP/1.1") -> bytes:
    """Builds a well-formed request (Content-Length added when a body is given)."""
    lines = [f"{method} {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    names = {n.lower() for n, _ in headers}
    for n, v in headers:
        lines.append(f"{n}: {v}")
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
