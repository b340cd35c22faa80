#!/usr/bin/env bash
# Makes the example's throwaway PKI in certs/ and writes secrets.yaml next to this script:
#   - a backend CA and the backend's certificate for backend.internal (served by backend.py);
#   - a client CA and gantry's client certificate (CN=gantry-client), which backend.py requires;
#   - secrets.yaml: the ConfigMap backend-ca (trusted by the BackendTLSPolicy) and the
#     kubernetes.io/tls Secret gantry-client (the Gateway's spec.tls.backend.clientCertificateRef).
# Example only: keys are written unencrypted; none of these files belong in version control.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p certs
cd certs
ca() {  # name CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -keyout "$1.key" -out "$1.crt" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
}
leaf() {  # name CN CA usage [dns]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  { echo "extendedKeyUsage=$4"; [ -n "${5:-}" ] && echo "subjectAltName=DNS:$5"; } > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 30 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
ca backend-ca "Example backend CA"
ca client-ca "Example client CA"
leaf backend backend.internal backend-ca serverAuth backend.internal
leaf gantry-client gantry-client client-ca clientAuth
chmod 600 ./*.key
cd ..
b64() { base64 -w0 < "$1"; }
{
  echo "apiVersion: v1"
  echo "kind: ConfigMap"
  echo "metadata: {name: backend-ca, namespace: default}"
  echo "data:"
  echo "  ca.crt: |"
  sed 's/^/    /' certs/backend-ca.crt
  echo "---"
  echo "apiVersion: v1"
  echo "kind: Secret"
  echo "metadata: {name: gantry-client, namespace: default}"
  echo "type: kubernetes.io/tls"
  echo "data:"
  echo "  tls.crt: $(b64 certs/gantry-client.crt)"
  echo "  tls.key: $(b64 certs/gantry-client.key)"
} > secrets.yaml.tmp
mv secrets.yaml.tmp secrets.yaml  # atomic: gantry never reads half a file
echo "certs/ and secrets.yaml written"
