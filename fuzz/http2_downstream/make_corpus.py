#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_http2_downstream: HTTP/2 client frame sequences (the target
prepends the connection preface itself), made with the `h2`/`hyperframe`/`hpack` libraries from
tests/e2e/requirements.txt. Run from anywhere: python3 fuzz/http2_downstream/make_corpus.py"""

from pathlib import Path

import hpack
from hyperframe import frame as fr

OUT = Path(__file__).parent / "corpus"


def settings(**kw):
    f = fr.SettingsFrame(0)
    for k, v in kw.items():
        f.settings[getattr(fr.SettingsFrame, k)] = v
    return f.serialize()


def headers(enc, sid, path, method="GET", authority="a.example.com", extra=(), end_stream=True,
            end_headers=True, pad=0, priority=False):
    f = fr.HeadersFrame(sid)
    f.data = enc.encode([(":method", method), (":scheme", "http"), (":authority", authority),
                         (":path", path), *extra])
    if end_headers:
        f.flags.add("END_HEADERS")
    if end_stream:
        f.flags.add("END_STREAM")
    if pad:
        f.flags.add("PADDED")
        f.pad_length = pad
    if priority:
        f.flags.add("PRIORITY")
        f.depends_on, f.stream_weight, f.exclusive = 0, 15, False
    return f.serialize()


def data(sid, payload, end=True, pad=0):
    f = fr.DataFrame(sid)
    f.data = payload
    if end:
        f.flags.add("END_STREAM")
    if pad:
        f.flags.add("PADDED")
        f.pad_length = pad
    return f.serialize()


def window(sid, inc):
    f = fr.WindowUpdateFrame(sid)
    f.window_increment = inc
    return f.serialize()


def rst(sid, code=8):
    f = fr.RstStreamFrame(sid)
    f.error_code = code
    return f.serialize()


def ping(ack=False):
    f = fr.PingFrame(0)
    f.opaque_data = b"12345678"
    if ack:
        f.flags.add("ACK")
    return f.serialize()


def goaway(last=0, code=0):
    f = fr.GoAwayFrame(0)
    f.last_stream_id, f.error_code = last, code
    return f.serialize()


def main():
    OUT.mkdir(exist_ok=True)
    seeds = {}
    e = hpack.Encoder()
    seeds["get"] = settings() + headers(e, 1, "/api/x?q=1")
    e = hpack.Encoder()
    seeds["post_cl"] = settings() + headers(e, 1, "/api/up", "POST", extra=[("content-length", "5")],
                                            end_stream=False) + data(1, b"hello")
    e = hpack.Encoder()
    seeds["post_chunked_trailers"] = (settings() + headers(e, 1, "/api/up", "POST", end_stream=False)
                                      + data(1, b"abc", end=False, pad=4) + _trailers(e, 1))
    e = hpack.Encoder()
    seeds["outcomes"] = settings() + b"".join(
        headers(e, 1 + 2 * i, p) for i, p in enumerate(
            ["/direct", "/invalid", "/empty", "/redirect?x=1", "/re/abc", "/nothing", "/trailers",
             "/api/../api/%41", "*"]))
    e = hpack.Encoder()
    seeds["big_window"] = (settings(INITIAL_WINDOW_SIZE=1000) + headers(e, 1, "/big")
                           + window(0, 100000) + window(1, 50000) + window(1, 200000))
    e = hpack.Encoder()
    seeds["rst_ping"] = (settings() + headers(e, 1, "/api/a") + rst(1) + ping() + headers(e, 3, "/api/b")
                         + goaway(3))
    e = hpack.Encoder()
    seeds["continuation"] = settings() + headers(e, 1, "/api/c", end_headers=False)
    c = fr.ContinuationFrame(1)
    c.data = e.encode([("x-a", "b" * 50)])
    c.flags.add("END_HEADERS")
    seeds["continuation"] += c.serialize()
    e = hpack.Encoder()
    seeds["priority_padded"] = settings(MAX_FRAME_SIZE=16384) + headers(e, 1, "/api/p", pad=10,
                                                                           priority=True)
    e = hpack.Encoder()
    seeds["host_header"] = settings() + headers(e, 1, "/api/h", extra=[("host", "b.example.com"),
                                                                        ("cookie", "a=1"),
                                                                        ("cookie", "b=2"),
                                                                        ("te", "trailers")])
    e = hpack.Encoder()
    seeds["connect"] = settings() + headers(e, 1, "/", "CONNECT")
    for name, blob in seeds.items():
        (OUT / name).write_bytes(blob)
    print(f"wrote {len(seeds)} seeds to {OUT}")


def _trailers(enc, sid):
    f = fr.HeadersFrame(sid)
    f.data = enc.encode([("x-trailer", "1")])
    f.flags.add("END_HEADERS")
    f.flags.add("END_STREAM")
    return f.serialize()


if __name__ == "__main__":
    main()
