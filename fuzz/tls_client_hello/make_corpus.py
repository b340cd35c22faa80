#!/usr/bin/env python3
"""Regenerates the seed corpus: real ClientHellos sent by `openssl s_client`, captured on a
loopback socket (the listener records the first flight and closes; nothing is answered).

Usage: fuzz/tls_client_hello/make_corpus.py [outdir]   (default: the corpus/ next to this file)
"""
import os
import socket
import subprocess
import sys
import threading

CASES = {
    "sni_alpn_h2_h11": ["-servername", "api.example.com", "-alpn", "h2,http/1.1"],
    "sni_only": ["-servername", "www.example.org"],
    "no_sni": ["-noservername"],
    "no_sni_alpn": ["-noservername", "-alpn", "http/1.1"],
    "tls12_only": ["-servername", "legacy.example.com", "-tls1_2", "-alpn", "http/1.1"],
    "tls13_only": ["-servername", "new.example.com", "-tls1_3", "-alpn", "h2"],
    "long_sni": ["-servername", ".".join(["label%02d" % i + "x" * 50 for i in range(4)])[:253]],
    "many_alpn": ["-servername", "a.b", "-alpn", ",".join("proto-%d" % i for i in range(40))],
    "groups_p384": ["-servername", "ec.example.com", "-groups", "secp384r1"],
}


def capture(args):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    data = bytearray()

    def accept():
        conn, _ = srv.accept()
        conn.settimeout(2)
        try:
            while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data.extend(chunk)
        except socket.timeout:
            pass
        conn.close()

    t = threading.Thread(target=accept)
    t.start()
    subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + args,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=10)
    t.join()
    srv.close()
    return bytes(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, args in CASES.items():
        hello = capture(args)
        assert hello[:1] == b"\x16", name
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(hello)
        # The same hello split into 40-byte records, as the peeker must handle.
        hs = bytearray()
        pos = 0
        while pos + 5 <= len(hello):
            n = int.from_bytes(hello[pos + 3:pos + 5], "big")
            hs += hello[pos + 5:pos + 5 + n]
            pos += 5 + n
        frag = bytearray()
        for off in range(0, len(hs), 40):
            piece = hs[off:off + 40]
            frag += b"\x16\x03\x01" + len(piece).to_bytes(2, "big") + piece
        with open(os.path.join(out, name + "_frag40.bin"), "wb") as f:
            f.write(bytes(frag))
        print(name, len(hello))


if __name__ == "__main__":
    main()
