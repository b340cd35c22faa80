"""A tiny WebSocket echo server for examples/websocket (pip install websockets)."""

import argparse

from websockets.sync.server import serve


def handle(ws):
    ws.send(f"welcome to {ws.request.path}")
    for msg in ws:
        ws.send(f"echo: {msg}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9951)
    args = ap.parse_args()
    with serve(handle, "127.0.0.1", args.port) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
