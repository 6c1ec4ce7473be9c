#!/bin/sh
# A small certificate authority for atmhealth, kept in one directory, made
# with the openssl command only. See docs/tls.md for the whole procedure.
#
#   pki.sh init      DIR [CA_NAME]           make the CA and an empty CRL
#   pki.sh device    DIR DEVICE_ID [DATES]   a device (client) certificate; CN = device id
#   pki.sh collector DIR NAME [NAME|IP ...]  a collector (server) certificate for these names
#   pki.sh revoke    DIR NAME                revoke the certificate issued to NAME, new CRL
#   pki.sh crl       DIR                     regenerate the CRL (do it before it expires)
#
# DATES, for tests and re-issues: --not-before YYYYMMDDHHMMSSZ --not-after YYYYMMDDHHMMSSZ
# (default: from now, DAYS days; DAYS from the environment, default 825).
#
# Output: DIR/ca.crt (give to every agent and collector), DIR/crl.pem (give to
# every collector, refresh it before next_update), DIR/issued/NAME.crt and
# NAME.key (give to that one device or collector only). DIR/private/ca.key
# never leaves the CA machine.
set -eu

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "pki.sh: $*" >&2; exit 1; }

[ $# -ge 2 ] || usage
command -v openssl >/dev/null || die "the openssl command is not installed (apt-get install openssl)"
cmd=$1
dir=$2
shift 2
days=${DAYS:-825}
# Read by the collector_cert section of openssl.cnf; must be set for every
# command, as openssl expands the whole file.
ATMHEALTH_SAN=DNS:unused
export ATMHEALTH_SAN
crl_days=${CRL_DAYS:-30}

# The openssl ca configuration; written by init, read by every other command.
write_config() {
  cat >"$dir/openssl.cnf" <<CNF
[ ca ]
default_ca = atmhealth_ca

[ atmhealth_ca ]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
certificate = \$dir/ca.crt
private_key = \$dir/private/ca.key
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = $days
default_crl_days = $crl_days
policy = policy_any
unique_subject = no
copy_extensions = none

[ policy_any ]
commonName = supplied

[ device_cert ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ collector_cert ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \${ENV::ATMHEALTH_SAN}

[ ca_cert ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
}

require_ca() {
  [ -f "$dir/openssl.cnf" ] && [ -f "$dir/ca.crt" ] || die "$dir: no CA here; run: pki.sh init $dir"
}

gen_crl() {
  openssl ca -batch -config "$dir/openssl.cnf" -gencrl -out "$dir/crl.pem.tmp" 2>"$dir/last-error.log" ||
    die "cannot make the CRL: $(cat "$dir/last-error.log")"
  mv "$dir/crl.pem.tmp" "$dir/crl.pem"  # one rename: a collector never reads half a CRL
}

# issue NAME EXTENSION_SECTION [openssl ca date options]
issue() {
  name=$1
  section=$2
  shift 2
  case $name in
    *[!A-Za-z0-9._-]* | "") die "\"$name\": use 1..64 characters of A-Z a-z 0-9 . _ -" ;;
  esac
  [ ${#name} -le 64 ] || die "\"$name\": longer than 64 characters"
  mkdir -p "$dir/issued"
  key="$dir/issued/$name.key"
  csr="$dir/issued/$name.csr"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key.tmp" 2>"$dir/last-error.log" ||
    die "cannot make a key: $(cat "$dir/last-error.log")"
  chmod 600 "$key.tmp"
  openssl req -new -key "$key.tmp" -subj "/CN=$name" -out "$csr" 2>"$dir/last-error.log" ||
    die "cannot make a request: $(cat "$dir/last-error.log")"
  openssl ca -batch -notext -config "$dir/openssl.cnf" -extensions "$section" -in "$csr" \
    -out "$dir/issued/$name.crt.tmp" "$@" 2>"$dir/last-error.log" ||
    die "cannot issue the certificate for $name: $(cat "$dir/last-error.log")"
  mv "$key.tmp" "$key"
  mv "$dir/issued/$name.crt.tmp" "$dir/issued/$name.crt"
  rm -f "$csr"
  echo "$dir/issued/$name.crt $dir/issued/$name.key"
}

case $cmd in
  init)
    ca_name=${1:-atmhealth CA}
    [ ! -e "$dir/ca.crt" ] || die "$dir: a CA is already there"
    mkdir -p "$dir/private" "$dir/newcerts"
    chmod 700 "$dir/private"
    dir=$(cd "$dir" && pwd)
    : >"$dir/index.txt"
    echo 1000 >"$dir/serial"
    echo 1000 >"$dir/crlnumber"
    write_config
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/private/ca.key" 2>"$dir/last-error.log" ||
      die "cannot make the CA key: $(cat "$dir/last-error.log")"
    chmod 600 "$dir/private/ca.key"
    openssl req -new -x509 -key "$dir/private/ca.key" -subj "/CN=$ca_name" -days $((days * 4)) \
      -config "$dir/openssl.cnf" -extensions ca_cert -out "$dir/ca.crt" 2>"$dir/last-error.log" ||
      die "cannot make the CA certificate: $(cat "$dir/last-error.log")"
    gen_crl
    echo "$dir/ca.crt $dir/crl.pem"
    ;;
  device)
    require_ca
    [ $# -ge 1 ] || usage
    id=$1
    shift
    dates=""
    while [ $# -gt 0 ]; do
      case $1 in
        --not-before) dates="$dates -startdate $2"; shift 2 ;;
        --not-after) dates="$dates -enddate $2"; shift 2 ;;
        *) usage ;;
      esac
    done
    # shellcheck disable=SC2086  # $dates is a list of options
    issue "$id" device_cert $dates
    ;;
  collector)
    require_ca
    [ $# -ge 1 ] || usage
    name=$1
    san=""
    for n in "$@"; do
      case $n in
        *[!0-9.:a-fA-F]*) entry="DNS:$n" ;;
        *) entry="IP:$n" ;;
      esac
      san="${san:+$san,}$entry"
    done
    ATMHEALTH_SAN=$san issue "$name" collector_cert
    ;;
  revoke)
    require_ca
    [ $# -eq 1 ] || usage
    crt="$dir/issued/$1.crt"
    [ -f "$crt" ] || die "$crt: no certificate issued to $1"
    openssl ca -batch -config "$dir/openssl.cnf" -revoke "$crt" 2>"$dir/last-error.log" ||
      die "cannot revoke $1: $(cat "$dir/last-error.log")"
    gen_crl
    echo "$dir/crl.pem"
    ;;
  crl)
    require_ca
    gen_crl
    echo "$dir/crl.pem"
    ;;
  *) usage ;;
esac
