"""HTTP/2 flow control, limits and attack defences (issue 5), with the `h2` library driving frames
directly: per-stream backpressure both ways, MAX_CONCURRENT_STREAMS, rapid reset
(CVE-2023-44487), CONTINUATION flood, idle timeout and graceful drain with GOAWAY."""

import json
import signal
import socket
import time

import h2.errors
import h2.events
import h2.frame_buffer
import hyperframe.frame
import pytest

from backends.h2client import H2Client
from backends.helpers import one_backend


@pytest.fixture
def gw(make_echo, start_gantry):
    return one_backend(make_echo, start_gantry)


def test_response_respects_client_window(gw):
    # The client advertises a 16 KiB stream window and does not send WINDOW_UPDATE: gantry may
    # send exactly 16 KiB of DATA (RFC 9113 6.9.1), then must wait; after the update, the rest.
    size = 1 << 20
    with H2Client(gw.port, window=16384, auto_window=False) as c:
        sid = c.request("GET", "/big", headers=[("x-echo-response-bytes", str(size))])
        r = c.responses[sid]
        c.wait(lambda: len(r["data"]) >= 16384, 10)
        time.sleep(0.5)
        c.pump(0.3)
        assert len(r["data"]) == 16384, "sent beyond the client's flow-control window"
        # Now open the windows generously and read the rest.
        c.auto_window = True
        c.conn.increment_flow_control_window(size, stream_id=sid)
        c.conn.increment_flow_control_window(size)
        c.flush()
        r = c.response(sid, 20)
        assert len(r["data"]) == size


def test_slow_reader_backpressures_the_upstream(gw):
    # A client that reads nothing: gantry must not buffer the whole 64 MiB response; the backend's
    # send stalls. Measured as: the backend has not finished sending after a while.
    size = 64 << 20
    with H2Client(gw.port, auto_window=False) as c:
        sid = c.request("GET", "/huge", headers=[("x-echo-response-bytes", str(size))])
        c.wait(lambda: c.responses[sid]["headers"] is not None, 10)
        time.sleep(1.5)
        c.pump(0.3)
        # The client's initial windows (65535) bound what it got; the rest stays in the backend
        # (its send blocks on full socket buffers) instead of in gantry's memory.
        assert len(c.responses[sid]["data"]) <= 65535
        rss = gw.g.proc_status_kib("VmRSS")
        assert rss < 48 * 1024, f"gantry RSS {rss} KiB while a client does not read"


def test_request_body_flow_control(gw):
    # gantry reopens the client's window only for bytes it forwarded: a 4 MiB upload completes
    # (several windows) and arrives intact.
    body = bytes(range(256)) * 16384
    with H2Client(gw.port) as c:
        sid = c.request("POST", "/up", headers=[("content-length", str(len(body)))], body=body)
        r = c.response(sid, 30)
        rec = json.loads(bytes(r["data"]))
        assert rec["body_len"] == len(body)


def raw_h2(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + hyperframe.frame.SettingsFrame(0).serialize())
    return s


def read_frames(s, until, timeout=10.0):
    buf = h2.frame_buffer.FrameBuffer(server=False)
    buf.max_frame_size = 1 << 24
    frames = []
    deadline = time.monotonic() + timeout
    s.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not data:
            break
        buf.add_data(data)
        for f in buf:
            frames.append(f)
            if until(f):
                return frames, True
    return frames, False


def headers_block(c_encoder, authority, path, method="GET"):
    return c_encoder.encode([(":method", method), (":scheme", "http"), (":authority", authority),
                             (":path", path)])


def test_101st_stream_refused_raw(gw):
    import hpack
    s = raw_h2(gw.port)
    enc = hpack.Encoder()
    out = b""
    # 101 streams left open (no END_STREAM: request bodies pending).
    for i in range(101):
        f = hyperframe.frame.HeadersFrame(1 + 2 * i)
        f.data = headers_block(enc, f"127.0.0.1:{gw.port}", f"/o/{i}", "POST")
        f.flags.add("END_HEADERS")
        out += f.serialize()
    s.sendall(out)
    frames, ok = read_frames(s, lambda f: isinstance(f, hyperframe.frame.RstStreamFrame))
    s.close()
    assert ok, [type(f).__name__ for f in frames]
    rst = [f for f in frames if isinstance(f, hyperframe.frame.RstStreamFrame)][0]
    assert rst.stream_id == 201
    assert rst.error_code in (h2.errors.ErrorCodes.REFUSED_STREAM,
                              h2.errors.ErrorCodes.PROTOCOL_ERROR)


def test_rapid_reset_gets_enhance_your_calm(gw):
    # CVE-2023-44487: open a stream and reset it at once, over and over. gantry answers with
    # GOAWAY(ENHANCE_YOUR_CALM) and closes; the backend sees at most a bounded number of requests.
    import hpack
    s = raw_h2(gw.port)
    enc = hpack.Encoder()
    out = b""
    for i in range(1000):
        sid = 1 + 2 * i
        f = hyperframe.frame.HeadersFrame(sid)
        f.data = headers_block(enc, f"127.0.0.1:{gw.port}", f"/rr/{i}")
        f.flags.add("END_HEADERS")
        f.flags.add("END_STREAM")
        r = hyperframe.frame.RstStreamFrame(sid)
        r.error_code = h2.errors.ErrorCodes.CANCEL
        out += f.serialize() + r.serialize()
    try:
        s.sendall(out)
    except OSError:
        pass  # gantry may close while we still write
    frames, ok = read_frames(s, lambda f: isinstance(f, hyperframe.frame.GoAwayFrame))
    s.close()
    assert ok, "no GOAWAY"
    ga = [f for f in frames if isinstance(f, hyperframe.frame.GoAwayFrame)][0]
    assert ga.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    time.sleep(0.5)
    assert len(gw.echo.requests) < 400, len(gw.echo.requests)
    # gantry is fine and serves others.
    with H2Client(gw.port) as c:
        assert c.status(c.response(c.request("GET", "/after"))) == 200


def test_continuation_flood_closes_connection(gw):
    # CVE-2024-27316 / 28182 class: endless CONTINUATION frames without END_HEADERS. nghttp2 caps
    # them (8 per block) and the header list limit caps the bytes: the connection is closed with
    # a GOAWAY, gantry keeps serving.
    import hpack
    s = raw_h2(gw.port)
    enc = hpack.Encoder()
    f = hyperframe.frame.HeadersFrame(1)
    f.data = headers_block(enc, f"127.0.0.1:{gw.port}", "/flood")
    out = f.serialize()
    for i in range(200):
        c = hyperframe.frame.ContinuationFrame(1)
        c.data = enc.encode([(f"x-flood-{i}", "a" * 100)])
        out += c.serialize()
    try:
        s.sendall(out)
    except OSError:
        pass
    frames, ok = read_frames(s, lambda f: isinstance(f, hyperframe.frame.GoAwayFrame))
    s.close()
    assert ok, [type(f).__name__ for f in frames]
    with H2Client(gw.port) as c:
        assert c.status(c.response(c.request("GET", "/after"))) == 200


def test_client_reset_cancels_upstream_request(gw):
    with H2Client(gw.port) as c:
        sid = c.request("GET", "/slow", headers=[("x-echo-sleep-ms", "3000")])
        assert gw.echo.wait_for(lambda e: any(r["target"] == "/slow" for r in e.requests), 5)
        c.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        c.flush()
        # The connection stays usable; the upstream connection of the reset stream is closed.
        t0 = time.monotonic()
        assert c.status(c.response(c.request("GET", "/next"))) == 200
        assert time.monotonic() - t0 < 2.5
    assert gw.echo.wait_for(lambda e: e.open_connections <= 1, 5)


def test_idle_timeout_sends_goaway(make_echo, start_gantry):
    gw = one_backend(make_echo, start_gantry, args=["--idle-timeout-ms", "500"])
    with H2Client(gw.port) as c:
        assert c.status(c.response(c.request("GET", "/x"))) == 200
        t0 = time.monotonic()
        assert c.wait(lambda: c.goaway is not None, 5)
        assert c.goaway.error_code == h2.errors.ErrorCodes.NO_ERROR
        assert c.wait(lambda: c.closed, 5)
        assert 0.3 < time.monotonic() - t0 < 4


def test_sigterm_drains_with_goaway(make_echo, start_gantry):
    # Raw frames: the h2 library stops accepting frames once it has seen a GOAWAY, but RFC 9113
    # 6.8 says streams up to last_stream_id still complete -- which is what is checked here.
    import hpack
    gw = one_backend(make_echo, start_gantry, args=["--drain-timeout-ms", "10000"])
    s = raw_h2(gw.port)
    enc = hpack.Encoder()
    f = hyperframe.frame.HeadersFrame(1)
    f.data = enc.encode([(":method", "GET"), (":scheme", "http"),
                         (":authority", f"127.0.0.1:{gw.port}"), (":path", "/inflight"),
                         ("x-echo-sleep-ms", "1500")])
    f.flags.add("END_HEADERS")
    f.flags.add("END_STREAM")
    s.sendall(f.serialize())
    assert gw.echo.wait_for(lambda e: any(r["target"] == "/inflight" for r in e.requests), 5)
    t0 = time.monotonic()
    gw.g.signal(signal.SIGTERM)
    frames, ok = read_frames(s, lambda f: isinstance(f, hyperframe.frame.DataFrame)
                             and "END_STREAM" in f.flags)
    s.close()
    assert ok, [type(f).__name__ for f in frames]
    kinds = [type(f).__name__ for f in frames]
    ga = [f for f in frames if isinstance(f, hyperframe.frame.GoAwayFrame)]
    assert ga and ga[0].error_code == h2.errors.ErrorCodes.NO_ERROR and ga[0].last_stream_id >= 1
    assert kinds.index("GoAwayFrame") < kinds.index("HeadersFrame"), kinds
    dec = hpack.Decoder()
    head = [f for f in frames if isinstance(f, hyperframe.frame.HeadersFrame)][0]
    assert dict(dec.decode(head.data))[":status"] == "200"
    body = b"".join(f.data for f in frames if isinstance(f, hyperframe.frame.DataFrame))
    assert json.loads(body)["target"] == "/inflight"
    assert gw.g.wait(10) == 0
    assert time.monotonic() - t0 < 8
