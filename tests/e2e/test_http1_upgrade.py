"""Upgrade / WebSocket: `Connection: Upgrade` requests are tunnelled after the 101 response
(RFC 9110 section 7.8, RFC 6455)."""

import asyncio
import os

import pytest
import websockets

from backends.echo import header_tokens, header_values
from backends.helpers import conn, one_backend, roundtrip, seen
from backends.rawhttp import request


@pytest.fixture
def gw(make_echo, start_gantry):
    return one_backend(make_echo, start_gantry)


def test_websocket_echo(gw):
    big = os.urandom(1 << 20)

    async def run():
        async with websockets.connect(f"ws://127.0.0.1:{gw.port}/chat?room=1",
                                      max_size=4 << 20, open_timeout=5) as ws:
            for i in range(50):
                await ws.send(f"message {i}")
                assert await asyncio.wait_for(ws.recv(), 5) == f"message {i}"
            await ws.send(big)
            assert await asyncio.wait_for(ws.recv(), 10) == big
            pong = await ws.ping(b"p")
            await asyncio.wait_for(pong, 5)
            await ws.close()
            return ws.close_code

    assert asyncio.run(run()) == 1000
    rec = gw.echo.requests[0]
    assert rec["target"] == "/chat?room=1"
    assert header_values(rec["headers"], "upgrade") == ["websocket"]
    assert "upgrade" in header_tokens(rec["headers"], "connection")
    assert header_values(rec["headers"], "sec-websocket-key")
    assert gw.echo.ws_messages == 51


def test_raw_upgrade_tunnel_bidirectional(gw):
    with conn(gw.port) as c:
        c.send(request("GET", "/tunnel", "a", [("Connection", "Upgrade"), ("Upgrade", "echo-proto")]))
        r = c.read_response(timeout=5)
        assert r.status == 101
        assert r.header("upgrade") == "echo-proto"
        c.send(b"hello tunnel\n")
        got = bytearray(c.buf)
        c.buf.clear()
        while len(got) < 13:
            d = c.sock.recv(65536)
            assert d
            got += d
        assert bytes(got) == b"hello tunnel\n"
        payload = os.urandom(2 << 20)
        c.send(payload)
        got = bytearray()
        while len(got) < len(payload):
            d = c.sock.recv(1 << 20)
            assert d, "tunnel closed early"
            got += d
        assert bytes(got) == payload
        # Half-close travels through: the backend echoes until EOF, then closes its side.
        c.shutdown_write()
        closed, extra = c.wait_closed(5)
        assert closed and extra == b""


def test_upgrade_refused_stays_http(gw):
    with conn(gw.port) as c:
        c.send(request("GET", "/maybe", "a", [("Connection", "Upgrade"), ("Upgrade", "echo-proto"),
                                              ("x-echo-refuse-upgrade", "1")]))
        r = c.read_response(timeout=5)
        assert r.status == 200
        # Still HTTP on the same connection.
        c.send(request("GET", "/next", "a"))
        assert seen(c.read_response(timeout=5))["target"] == "/next"


def test_upgrade_header_without_connection_token_not_an_upgrade(gw):
    rec = seen(roundtrip(gw.port, target="/plain", headers=[("Upgrade", "websocket")]))
    assert not header_values(rec["headers"], "upgrade")
    assert not rec.get("upgraded")
