#!/bin/sh
# Makes a throwaway PKI for the TLS specs in directory $1: a CA; signed by it, a server
# certificate for localhost, 127.0.0.1 and ::1, one for server.example only, one naming
# 127.0.0.1 (and 127.1, 2130706433, 0x7f.0.0.1) only as DNS names and common name (not an IP
# address), a client certificate, and one for f*.nml.test (a partial wildcard);
# and a second CA that signed nothing of these (for "a client that does not trust the server").
# EC P-256 keys.
set -eu
dir="$1"
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -days 2 -subj "/CN=$2" -out "$1.crt" 2>/dev/null
}
signed() { # name, CN, extensions
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca "nml spec CA"
ca other-ca "another CA"
signed server localhost "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
signed elsewhere server.example "subjectAltName=DNS:server.example"
signed dns-address 127.0.0.1 "subjectAltName=DNS:127.0.0.1,DNS:127.1,DNS:2130706433,DNS:0x7f.0.0.1"
signed client "nml spec client" "extendedKeyUsage=clientAuth"
signed partial-wildcard "nml spec partial" "subjectAltName=DNS:f*.nml.test"
echo "certificates in $dir"
