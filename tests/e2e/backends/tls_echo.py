"""TlsEchoBackend: a TLS server for the L4 re-encryption tests (TLSRoute Terminate + BackendTLSPolicy).

After its handshake it greets with one line describing the TLS it saw:

    <name> sni=<server_name or None> alpn=<protocol or None> peer=<client certificate CN or None>

then echoes every byte until the client's end of stream. `client_ca`: require a client certificate
signed by that CA (ssl.CERT_REQUIRED). `handshake_failures` counts handshakes that failed.
"""

from __future__ import annotations

import socket
import ssl
import threading


class TlsEchoBackend:
    def __init__(self, name: str, cert, client_ca=None):
        self.name = name
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert.crt), str(cert.key))
        if client_ca is not None:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(str(client_ca.crt))
        self.ctx.sni_callback = lambda s, n, c: setattr(s, "echo_sni", n)
        self.handshake_failures = 0
        self.connections = 0
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket):
        c.settimeout(30)
        try:
            try:
                t = self.ctx.wrap_socket(c, server_side=True)
            except (OSError, ssl.SSLError):
                with self._lock:
                    self.handshake_failures += 1
                return
            peer = t.getpeercert()
            cn = dict(x[0] for x in peer["subject"]).get("commonName") if peer else None
            sni = getattr(t, "echo_sni", None)
            t.sendall(f"{self.name} sni={sni} alpn={t.selected_alpn_protocol()} peer={cn}\n"
                      .encode())
            while True:
                data = t.recv(65536)
                if not data:
                    break
                t.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
