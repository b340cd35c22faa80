#!/usr/bin/env python3
"""Demo UDP backend for examples/tcp-tls: answers each datagram with b"<name>:" + the datagram.

    python3 udp_echo.py [--host 127.0.0.1] [--port 9053] [--name dns]
"""
import argparse
import socket


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9053)
    ap.add_argument("--name", default="dns")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.host, a.port))
    prefix = a.name.encode() + b":"
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(prefix + data, peer)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
