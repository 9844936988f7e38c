#!/usr/bin/env bash
# Provision a private CA and a TLS server certificate for the lgefed coordinator with openssl.
# Usage: deploy/tls/make-ca.sh OUT_DIR coordinator.hospital.example [extra SAN, e.g. IP:10.1.2.3]
# Writes ca.key (keep offline), ca.crt (give to every site), server.key + server.crt (coordinator only).
set -euo pipefail
# ECDSA P-256 throughout: every TLS client, browsers included, accepts it (Ed25519 certificates are not.)
out=${1:?usage: make-ca.sh OUT_DIR HOSTNAME [SAN...]}; host=${2:?hostname of the coordinator}; shift 2
mkdir -p "$out"; umask 077
san="DNS:$host"; for extra in "$@"; do san="$san,$extra"; done

if [ ! -f "$out/ca.key" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/ca.key"
  openssl req -x509 -new -key "$out/ca.key" -subj "/CN=lgefed federation CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$out/ca.crt"
fi
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/server.key"
openssl req -new -key "$out/server.key" -subj "/CN=$host" -out "$out/server.csr"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 825 -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' "$san") \
  -out "$out/server.crt"
rm -f "$out/server.csr"
chmod 600 "$out"/*.key; chmod 644 "$out"/*.crt
openssl verify -CAfile "$out/ca.crt" "$out/server.crt"
echo "CA: $out/ca.crt   server: $out/server.crt + $out/server.key (SAN $san)"
