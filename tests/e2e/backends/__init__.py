"""Test backends and wire-level client helpers for gantry's end-to-end tests.

echo.py     EchoBackend: a threaded HTTP/1.1 origin that reports exactly what it received and can be
            told (per request, through x-echo-* headers) to misbehave.
rawhttp.py  RawConn: a raw-socket HTTP/1.1 client for malformed input and byte-exact framing checks.
"""
