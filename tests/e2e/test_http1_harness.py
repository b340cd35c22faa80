"""Self-tests of the harness (no gantry involved): the echo backend and the raw client must be right
for the data plane tests' verdicts to mean anything."""

import base64
import hashlib
import json

from backends.echo import EchoBackend, pattern, pattern_sha256
from backends.rawhttp import RawConn, request


def test_echo_backend_reports_and_frames(make_echo):
    b = make_echo("self")
    with RawConn(*b.address) as c:
        c.send(request("POST", "/a/../b?x=%2F", "h", [("X-Z", "1"), ("x-y", "2")], b"hello")
               + request("HEAD", "/h", "h", [("x-echo-response-bytes", "10")])
               + request("GET", "/c", "h", [("x-echo-chunked", "1"), ("x-echo-response-bytes", "70000"),
                                            ("x-echo-trailers", json.dumps([["T", "v"]]))])
               + request("GET", "/n", "h", [("x-echo-status", "204")]))
        r = c.read_response()
        rec = r.json()
        assert rec["target"] == "/a/../b?x=%2F"
        assert rec["headers"][:3] == [["Host", "h"], ["X-Z", "1"], ["x-y", "2"]]
        assert rec["body_len"] == 5 and rec["body_sha256"] == hashlib.sha256(b"hello").hexdigest()
        h = c.read_response("HEAD")
        assert h.header("content-length") == "10" and h.body == b""
        ch = c.read_response()
        assert ch.chunked and ch.body == pattern(0, 70000) and ch.trailers == [["T", "v"]]
        assert c.read_response().status == 204
        c.send(b"PUT /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")
        rec = c.read_response().json()
        assert rec["chunked"] and rec["body_len"] == 3 and rec["trailers"] == [["X-T", "1"]]
    assert b.connections == 1 and len(b.requests) == 5


def test_echo_backend_raw_and_short_modes(make_echo):
    b = make_echo("self")
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    with RawConn(*b.address) as c:
        c.send(request("GET", "/", "h", [("x-echo-mode", "raw"),
                                         ("x-echo-raw", base64.b64encode(raw).decode()),
                                         ("x-echo-after", "keep")]))
        assert c.read_response().body == b"ok"
        c.send(request("GET", "/", "h", [("x-echo-mode", "short-body"),
                                         ("x-echo-response-bytes", "1000")]))
        r = c.read_response()
        assert not r.complete and len(r.body) == 500 and c.eof


def test_pattern():
    assert pattern(0, 3) == b"\x00\x01\x02"
    assert pattern(250, 3) == b"\xfa\x00\x01"
    assert pattern(10, 1 << 20) == pattern(0, (1 << 20) + 10)[10:]
    assert pattern_sha256(1000) == hashlib.sha256(pattern(0, 1000)).hexdigest()


def test_echo_backend_close_stops_threads():
    b = EchoBackend("tmp")
    c = RawConn(*b.address)
    c.send(request("GET", "/", "h"))
    assert c.read_response().status == 200
    b.close()
    assert c.wait_closed(3)[0]
    c.close()
