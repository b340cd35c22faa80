"""Test-only PKI for the TLS end-to-end tests: CAs, server and client certificates made at test time
with the openssl command line tool (Debian's `openssl` package; scripts/install-deps.sh --test).
Nothing here is ever committed: every key lives in the test's tmp_path.

    pki = Pki(tmp_path / "pki")
    ca = pki.ca("Test CA")
    srv = pki.cert("a", ca, dns=["a.example.com"])               # RSA 2048, serverAuth
    ec = pki.cert("a-ec", ca, dns=["a.example.com"], key="ec")    # ECDSA P-256
    cli = pki.cert("client", ca, cn="client-1", client=True)      # clientAuth
    srv.crt, srv.key: paths; srv.crt_pem, srv.key_pem: text
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Cert:
    name: str
    crt: Path
    key: Path

    @property
    def crt_pem(self) -> str:
        return self.crt.read_text()

    @property
    def key_pem(self) -> str:
        return self.key.read_text()


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=60)


class Pki:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._serial = 1000

    def _newkey(self, key: str) -> list[str]:
        if key == "ec":
            return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        return ["-newkey", "rsa:2048"]

    def ca(self, cn: str, name: str | None = None, key: str = "rsa") -> Cert:
        name = name or cn.replace(" ", "-").lower()
        crt, k = self.path / f"{name}.crt", self.path / f"{name}.key"
        _run("openssl", "req", "-x509", *self._newkey(key), "-nodes", "-keyout", str(k), "-out",
             str(crt), "-days", "2", "-subj", f"/CN={cn}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return Cert(name, crt, k)

    def cert(self, name: str, ca: Cert, dns: list[str] | None = None, uris: list[str] | None = None,
             cn: str | None = None, key: str = "rsa", client: bool = False) -> Cert:
        """A leaf certificate signed by `ca`, with the given DNS and URI subjectAltNames."""
        crt, k = self.path / f"{name}.crt", self.path / f"{name}.key"
        csr, ext = self.path / f"{name}.csr", self.path / f"{name}.ext"
        cn = cn or (dns[0] if dns else name)
        _run("openssl", "req", *self._newkey(key), "-nodes", "-keyout", str(k), "-out", str(csr),
             "-subj", f"/CN={cn}")
        sans = [f"DNS:{d}" for d in dns or []] + [f"URI:{u}" for u in uris or []]
        lines = [f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}",
                 "basicConstraints=CA:FALSE"]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        ext.write_text("\n".join(lines) + "\n")
        self._serial += 1
        _run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca.crt), "-CAkey", str(ca.key),
             "-set_serial", str(self._serial), "-out", str(crt), "-days", "2", "-extfile", str(ext))
        return Cert(name, crt, k)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def tls_secret(name: str, cert: Cert, ns: str = "default") -> str:
    """A kubernetes.io/tls Secret manifest holding cert (base64 data, as kubectl writes it)."""
    return tls_secret_pem(name, cert.crt_pem, cert.key_pem, ns)


def tls_secret_pem(name: str, crt_pem: str, key_pem: str, ns: str = "default") -> str:
    """The same from PEM text."""
    return f"""apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {ns}
type: kubernetes.io/tls
data:
  tls.crt: {b64(crt_pem)}
  tls.key: {b64(key_pem)}
---
"""


def ca_configmap(name: str, ca: Cert, ns: str = "default") -> str:
    """A ConfigMap with the CA certificate under ca.crt (frontend validation, BackendTLSPolicy)."""
    pem = "".join(f"    {line}\n" for line in ca.crt_pem.strip().splitlines())
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {ns}
data:
  ca.crt: |
{pem}---
"""
