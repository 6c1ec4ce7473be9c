#!/usr/bin/env bash
# Installs every Debian 12 package atmhealth needs to build, run and test.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev protobuf-compiler libprotobuf-dev libsqlite3-dev sqlite3 libssl-dev openssl
  libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libsystemd-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpugixml-dev libhowardhinnant-date-dev libabsl-dev tzdata
  # the collector's PostgreSQL store; its tests start a real server (initdb, pg_ctl)
  libpqxx-dev postgresql
  # atmhealthctl export's .tar.gz bundle
  libarchive-dev
  # network namespaces and veth pairs for the link-group test
  iproute2
  clang libclang-rt-14-dev clang-format
  # the dashboard's browser test; alert forwarding tested against the real Alertmanager
  chromium prometheus-alertmanager
  # the Debian packages: CPack's dependency list, manual pages, their checks
  dpkg-dev help2man lintian file
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "atmhealth: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
