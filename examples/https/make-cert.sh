#!/usr/bin/env bash
# Makes a self-signed certificate for www.example.com (ECDSA P-256, 30 days) in certs/ and writes
# it as the kubernetes.io/tls Secret www-cert in secret.yaml next to this script. Run it again to
# rotate the certificate: a running gantry picks the new Secret up without a restart, new TLS
# connections get the new certificate and open ones are not interrupted.
# Example only: the key is written unencrypted; neither file belongs in version control.
set -euo pipefail
cd "$(dirname "$0")"
host=${1:-www.example.com}
mkdir -p certs
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -keyout certs/tls.key -out certs/tls.crt -subj "/CN=$host" \
  -addext "subjectAltName=DNS:$host" -addext "extendedKeyUsage=serverAuth" 2>/dev/null
chmod 600 certs/tls.key
b64() { base64 -w0 < "$1"; }
cat > secret.yaml.tmp <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: www-cert
  namespace: default
type: kubernetes.io/tls
data:
  tls.crt: $(b64 certs/tls.crt)
  tls.key: $(b64 certs/tls.key)
YAML
mv secret.yaml.tmp secret.yaml  # atomic: gantry never reads half a Secret
echo "certificate for $host: $(openssl x509 -in certs/tls.crt -noout -serial)"
