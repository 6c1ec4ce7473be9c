#!/usr/bin/env bash
# Builds the Debian packages atmhealthd and atmhealth-collector from a build
# tree (default build/release, built already) into <build>/packages and checks
# them with lintian (errors and warnings fail; packaging/CMakeLists.txt says
# what goes in them), and the units' hardening with systemd-analyze security.
#
#   scripts/package.sh [--install-test] [BUILD_DIR]
#
# --install-test then installs them on this machine with dpkg -i, checks the
# system user, state directories, conffiles, manual pages and completion,
# runs `systemd-analyze verify` on the installed units, runs the installed
# agent as its user to fill its buffer, and checks that `apt-get remove`
# keeps the buffer and the configuration while `dpkg --purge` / `apt-get
# purge` delete them. It changes the machine (CI runs it on a throwaway one),
# needs root, and refuses to run where atmhealth state exists that the
# packages did not make.
set -euo pipefail
cd "$(dirname "$0")/.."

install_test=false
if [ "${1:-}" = --install-test ]; then
  install_test=true
  shift
fi
build=${1:-build/release}
out=$build/packages

fail() {
  echo "package.sh: FAIL: $*" >&2
  exit 1
}

rm -rf "$out"
cpack --config "$build/CPackConfig.cmake" -B "$out" >/dev/null
rm -rf "$out/_CPack_Packages"
agent_deb=$(ls "$out"/atmhealthd_*.deb)
collector_deb=$(ls "$out"/atmhealth-collector_*.deb)
for deb in "$agent_deb" "$collector_deb"; do
  echo "package.sh: $(basename "$deb"): $(stat -c %s "$deb") bytes," \
    "$(dpkg-deb -f "$deb" Installed-Size) KiB installed"
done
# The binaries' debug information, split off into <package>-dbgsym: one
# file per build id of the stripped binaries.
for deb in "$agent_deb" "$collector_deb"; do
  package=$(dpkg-deb -f "$deb" Package)
  ddeb=$(ls "$out/$package-dbgsym_"*.ddeb 2>/dev/null) || fail "no $package-dbgsym package"
  ids=$(dpkg-deb -f "$ddeb" Build-Ids)
  [ -n "$ids" ] || fail "$(basename "$ddeb") names no build id"
  echo "package.sh: $(basename "$ddeb"): $(stat -c %s "$ddeb") bytes, build ids $ids"
done

# Each package names the libraries compiled into its programs, with their
# licences: OpenSSL and SQLite among them (the agent carries both).
for deb in "$agent_deb" "$collector_deb"; do
  package=$(dpkg-deb -f "$deb" Package)
  dpkg-deb --fsys-tarfile "$deb" |
    tar -xOf - "./usr/share/doc/$package/third-party-copyright.gz" 2>/dev/null | gzip -dc |
    grep '^==== libssl-dev ' >/dev/null || fail "$(basename "$deb") lacks the libraries' copyright files"
done

# Info tags are shown too; lintian's note that it runs as root is not.
lint=0
lintian --fail-on error,warning --display-info "$agent_deb" "$collector_deb" >"$out/lintian.txt" 2>&1 ||
  lint=$?
grep -v 'running with root privileges' "$out/lintian.txt" || true
[ $lint -eq 0 ] || fail "lintian found errors or warnings (above)"
echo "package.sh: lintian: no errors or warnings"

# The units' hardening: systemd's exposure score (0 safest .. 10) stays at or
# below 2.0 (--threshold counts tenths); README records the scores.
for unit in packaging/atmhealthd.service packaging/atmhealth-collector.service; do
  score=$(systemd-analyze security --offline=true --threshold=20 "$unit" 2>&1) ||
    fail "$unit: exposure above 2.0: $score"
  echo "package.sh: $(echo "$score" | grep 'Overall exposure')"
done

$install_test || exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "package.sh: SKIP install test: it installs packages and creates system users," \
    "which needs root (CI runs it as root)"
  exit 0
fi

for package in atmhealthd atmhealth-collector; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q installed &&
    [ -e "/var/lib/$([ $package = atmhealthd ] && echo atmhealth || echo $package)" ]; then
    fail "/var/lib state of $package exists but the package is not installed; not touching it"
  fi
done

export DEBIAN_FRONTEND=noninteractive
dpkg -i "$agent_deb" "$collector_deb" >/dev/null

# Installed: users, state directories, conffiles, documentation.
for pair in atmhealth:/var/lib/atmhealth atmhealth-collector:/var/lib/atmhealth-collector; do
  user=${pair%%:*} dir=${pair#*:}
  getent passwd "$user" >/dev/null || fail "no system user $user"
  [ "$(id -u "$user")" -lt 1000 ] || fail "$user is not a system user"
  [ "$(stat -c %U:%a "$dir")" = "$user:750" ] || fail "$dir is $(stat -c %U:%a "$dir")"
done
dpkg-query -W -f='${Conffiles}\n' atmhealthd | grep -q ' /etc/atmhealth/atmhealthd.toml ' ||
  fail "atmhealthd.toml is not a conffile"
dpkg-query -W -f='${Conffiles}\n' atmhealth-collector |
  grep -q ' /etc/atmhealth/atmhealth-collector.toml ' || fail "atmhealth-collector.toml is not a conffile"
for page in atmhealthd.8 atmhealthctl.1 atmhealth-collector.8; do
  [ -f "/usr/share/man/man${page##*.}/$page.gz" ] || fail "no manual page $page"
done
for program in /usr/sbin/atmhealthd /usr/bin/atmhealthctl /usr/sbin/atmhealth-collector; do
  file "$program" | grep -q ', stripped' || fail "$program is not stripped"
done
bash -c 'source /usr/share/bash-completion/completions/atmhealthctl && complete -p atmhealthctl' \
  >/dev/null || fail "the bash completion does not load"

# The units as installed, with their binaries, users and manual pages.
verify=$(systemd-analyze verify /lib/systemd/system/atmhealthd.service \
  /lib/systemd/system/atmhealth-collector.service 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
echo "package.sh: systemd-analyze verify accepts both units"

# The installed agent, as its user, writes its buffer (embedded defaults: no
# collector needed; it keeps the events for one that comes later).
timeout -s TERM 3 setpriv --reuid=atmhealth --regid=atmhealth --clear-groups \
  /usr/sbin/atmhealthd --log-level off || [ $? -eq 124 ] || fail "the installed agent failed"
buffer=/var/lib/atmhealth/events.db
[ "$(stat -c %U "$buffer")" = atmhealth ] || fail "no buffer written by the agent as its user"
atmhealthctl events --store "$buffer" --json | grep -q '"atmhealthd [0-9.]* started"' ||
  fail "atmhealthctl does not read the installed agent's buffer"
checksum=$(sha256sum "$buffer")

apt-get remove -y -q atmhealthd atmhealth-collector >/dev/null
[ ! -e /usr/sbin/atmhealthd ] || fail "remove left /usr/sbin/atmhealthd"
[ "$(sha256sum "$buffer")" = "$checksum" ] || fail "remove did not keep the buffer as it was"
[ -f /etc/atmhealth/atmhealthd.toml ] || fail "remove did not keep the configuration"
echo "package.sh: apt-get remove kept the buffer and the configuration"

dpkg --purge atmhealthd >/dev/null
apt-get purge -y -q atmhealth-collector >/dev/null
for gone in /var/lib/atmhealth /var/lib/atmhealth-collector /etc/atmhealth; do
  [ ! -e "$gone" ] || fail "purge left $gone"
done
echo "package.sh: dpkg --purge and apt-get purge deleted the buffer, database and configuration"
echo "package.sh: install test passed"
