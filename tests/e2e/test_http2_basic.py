"""Downstream HTTP/2 (issue 5): h2c with prior knowledge on an HTTP listener, proxied to HTTP/1.1
backends. Real clients: curl --http2-prior-knowledge, the `h2` library (frame-level control),
h2load. What the backend saw is checked from the EchoBackend's report."""

import hashlib
import json
import re
import subprocess

import pytest

from backends.echo import header_values
from backends.h2client import H2Client
from backends.helpers import one_backend
from backends.snapshot import Snapshot, free_port


@pytest.fixture
def gw(make_echo, start_gantry):
    return one_backend(make_echo, start_gantry)


def curl(*args, timeout=30):
    out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", *args], capture_output=True,
                         timeout=timeout)
    return out


def test_curl_prior_knowledge_get(gw):
    out = curl("-D", "-", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
               f"http://127.0.0.1:{gw.port}/a/./b/../c?x=1&y=%2F")
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert text.endswith("2 200"), text
    # RFC 9113 8.2.2: no connection-specific fields in an HTTP/2 response; names lower-case.
    head = text.split("\r\n\r\n")[0]
    for line in head.split("\r\n")[1:]:
        name = line.split(":")[0]
        assert name == name.lower(), line
        assert name not in ("connection", "keep-alive", "transfer-encoding"), line
    rec = gw.echo.requests[-1]
    # Same normalised path rules as HTTP/1 (routing and forwarding use one form).
    assert rec["target"] == "/a/c?x=1&y=%2F"
    assert rec["version"] == "HTTP/1.1"
    assert header_values(rec["headers"], "host") == [f"127.0.0.1:{gw.port}"]
    assert header_values(rec["headers"], "x-forwarded-proto") == ["http"]
    assert header_values(rec["headers"], "x-forwarded-for") == ["127.0.0.1"]
    assert header_values(rec["headers"], "x-forwarded-host") == [f"127.0.0.1:{gw.port}"]


def test_curl_post_body_streamed(gw, tmp_path):
    body = bytes(range(256)) * 4096 * 3  # 3 MiB: many windows' worth
    f = tmp_path / "body.bin"
    f.write_bytes(body)
    out = curl("--data-binary", f"@{f}", "-H", "content-type: application/octet-stream",
               f"http://127.0.0.1:{gw.port}/upload")
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["method"] == "POST"
    assert rec["body_len"] == len(body)
    assert rec["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert header_values(rec["headers"], "content-length") == [str(len(body))]


def test_body_without_content_length_is_chunked_upstream(gw):
    with H2Client(gw.port) as c:
        sid = c.request("PUT", "/nocl", body=b"x" * 100_000)
        r = c.response(sid)
        assert c.status(r) == 200
        rec = json.loads(bytes(r["data"]))
        assert rec["chunked"] is True and rec["body_len"] == 100_000


def test_multiplexed_streams_on_one_connection(gw):
    with H2Client(gw.port) as c:
        sids = [c.request("GET", f"/m/{i}") for i in range(50)]
        targets = set()
        for sid in sids:
            r = c.response(sid)
            assert c.status(r) == 200
            targets.add(json.loads(bytes(r["data"]))["target"])
        assert targets == {f"/m/{i}" for i in range(50)}
    # The upstream side pooled its connections (keep-alive reuse), not one per stream.
    assert gw.echo.connections <= 50


def test_cookie_crumbs_joined_and_hop_by_hop_dropped(gw):
    with H2Client(gw.port) as c:
        sid = c.request("GET", "/c", headers=[("cookie", "a=1"), ("cookie", "b=2"),
                                               ("te", "trailers"), ("x-custom", "v")])
        r = c.response(sid)
        rec = json.loads(bytes(r["data"]))
    # RFC 9113 8.2.3: cookie crumbs are joined with "; " for HTTP/1.1.
    assert header_values(rec["headers"], "cookie") == ["a=1; b=2"]
    assert header_values(rec["headers"], "te") == []
    assert header_values(rec["headers"], "x-custom") == ["v"]


def test_response_trailers_and_chunked_body(gw):
    with H2Client(gw.port) as c:
        sid = c.request("GET", "/t", headers=[
            ("te", "trailers"), ("x-echo-chunked", "1"), ("x-echo-response-bytes", "50000"),
            ("x-echo-trailers", json.dumps([["Grpc-Status", "0"], ["x-checksum", "abc"]]))])
        r = c.response(sid)
        assert c.status(r) == 200
        assert len(r["data"]) == 50000
        assert dict(r["trailers"] or []) == {"grpc-status": "0", "x-checksum": "abc"}
        assert c.header(r, "transfer-encoding") == []


def test_request_trailers_forwarded_in_chunked_body(gw):
    with H2Client(gw.port) as c:
        sid = c.request("POST", "/rt", body=b"hello", end_stream=False)
        c.conn.send_headers(sid, [("x-trailer", "yes")], end_stream=True)
        c.flush()
        r = c.response(sid)
        rec = json.loads(bytes(r["data"]))
    assert rec["body_len"] == 5
    assert ["x-trailer", "yes"] in [list(t) for t in rec.get("trailers", [])]


def test_head_and_204_have_no_body(gw):
    with H2Client(gw.port) as c:
        sid = c.request("HEAD", "/h")
        r = c.response(sid)
        assert c.status(r) == 200 and bytes(r["data"]) == b""
        assert c.header(r, "content-length") != []  # describes the GET representation
        sid = c.request("GET", "/n", headers=[("x-echo-status", "204")])
        r = c.response(sid)
        assert c.status(r) == 204 and bytes(r["data"]) == b""


def test_routing_errors_match_http1(make_echo, start_gantry):
    echo = make_echo("echo")
    snap = Snapshot()
    snap.backend("echo", [echo])
    snap.backend("dead", [("127.0.0.1", free_port())])
    p = snap.http_port()
    lst = p.listener("app.example")
    lst.route("/ok", "echo")
    lst.route("/dead", "dead")
    lst.route("/invalid", "")
    g = start_gantry(snap)
    with H2Client(p.port) as c:
        def status(path, authority="app.example"):
            return c.status(c.response(c.request("GET", path, authority=authority)))
        assert status("/ok") == 200
        assert status("/nothing") == 404
        assert status("/ok", authority="other.example") == 404
        assert status("/dead") == 503
        assert status("/invalid") == 500
        assert status("/ok", authority="app.example:notaport") == 400
        # A character nghttp2 refuses in :authority: malformed (RFC 9113 8.1.1) -> stream error.
        r = c.response(c.request("GET", "/ok", authority="bad host"))
        assert r["reset"] == 1  # PROTOCOL_ERROR
        assert status("/%zz") == 400
    assert g.alive()


def test_header_list_too_large_is_431(gw):
    with H2Client(gw.port) as c:
        big = [(f"x-big-{i}", "v" * 4000) for i in range(20)]  # ~80 KiB > 64 KiB default
        r = c.response(c.request("GET", "/big", headers=big))
        assert c.status(r) == 431
        # The connection is still usable.
        assert c.status(c.response(c.request("GET", "/after"))) == 200


def test_settings_advertise_limits(gw):
    with H2Client(gw.port) as c:
        c.response(c.request("GET", "/s"))
        from h2.settings import SettingCodes
        assert c.remote_settings.get(SettingCodes.MAX_CONCURRENT_STREAMS) == 100
        assert c.remote_settings.get(SettingCodes.MAX_HEADER_LIST_SIZE) == 64 * 1024


def test_h2load_zero_failures(gw):
    out = subprocess.run(["h2load", "-n", "10000", "-c", "10", "-m", "10",
                          f"http://127.0.0.1:{gw.port}/load"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored", out.stdout)
    assert m, out.stdout
    total, _, done, ok, failed, errored = map(int, m.groups())
    assert (total, done, ok, failed, errored) == (10000, 10000, 10000, 0, 0), out.stdout
    assert "status codes: 10000 2xx" in out.stdout, out.stdout


def test_http1_still_served_on_the_same_port(gw):
    out = subprocess.run(["curl", "-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_version}",
                          f"http://127.0.0.1:{gw.port}/h1"], capture_output=True, text=True,
                         timeout=20)
    assert out.stdout == "1.1", out.stderr
