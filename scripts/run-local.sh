#!/usr/bin/env bash
# The main job on one machine: installs the dependencies, builds, then runs a
# collector on 127.0.0.1 and an agent watching this machine's filesystems and
# streaming to it over mutual TLS, with a local CA made on first run by
# scripts/pki.sh (in build/local/pki). Ctrl-C stops both.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release

bin=build/release
state=${ATMHEALTH_STATE_DIR:-$PWD/build/local}
mkdir -p "$state"

# A local CA, a collector certificate for 127.0.0.1 and a device certificate
# for this machine (the agent's device id is its host name), made once.
pki=$state/pki
device=$(hostname)
[ -f "$pki/ca.crt" ] || bash scripts/pki.sh init "$pki" "atmhealth local CA" >/dev/null
[ -f "$pki/issued/collector.crt" ] || bash scripts/pki.sh collector "$pki" collector 127.0.0.1 localhost >/dev/null
[ -f "$pki/issued/$device.crt" ] || bash scripts/pki.sh device "$pki" "$device" >/dev/null
# The dashboard's operator token, made once; the config keeps only its SHA-256.
[ -f "$state/dashboard.token" ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$state/dashboard.token")
token=$(cat "$state/dashboard.token")
token_sha256=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
cat >"$state/collector.toml" <<TOML
[listen]
address = "127.0.0.1"
port = 7411

[tls]
certificate = "$pki/issued/collector.crt"
private_key = "$pki/issued/collector.key"
ca = "$pki/ca.crt"
crl = "$pki/crl.pem"

[store]
path = "$state/collector.db"

[[api.token]]
name = "local-dashboard"
role = "read"
sha256 = "$token_sha256"
TOML
cat >"$state/atmhealthd.toml" <<TOML
[store]
path = "$state/agent-events.db"

[uplink]
collectors = ["127.0.0.1:7411"]
ca = "$pki/ca.crt"
certificate = "$pki/issued/$device.crt"
private_key = "$pki/issued/$device.key"

[storage]
all_mounts = true
TOML

"$bin/collector/atmhealth-collector" --config "$state/collector.toml" \
  --ready-file "$state/collector.ready.json" >"$state/collector.log" 2>&1 &
collector=$!
"$bin/agent/atmhealthd" --config "$state/atmhealthd.toml" >"$state/agent.log" 2>&1 &
agent=$!
trap 'kill -TERM $agent $collector 2>/dev/null; wait $agent $collector 2>/dev/null; echo "stopped"' EXIT INT TERM

for _ in $(seq 50); do [ -f "$state/collector.ready.json" ] && break; sleep 0.1; done
cat <<MSG

atmhealth is running on this machine:
  collector   pid $collector, agents on 127.0.0.1:7411 (mutual TLS 1.3), database $state/collector.db
              config    $state/collector.toml
              dashboard http://127.0.0.1:7412/dashboard/   token: $token
              metrics   http://127.0.0.1:7412/metrics     health  http://127.0.0.1:7412/healthz
              log       $state/collector.log
  atmhealthd  pid $agent, device $device, watching every data filesystem of this machine
              config    $state/atmhealthd.toml
              buffer    $state/agent-events.db
              log       $state/agent.log
  local CA    $pki (scripts/pki.sh; see docs/tls.md)

Stored alerts:  sqlite3 $state/collector.db "SELECT device_id, seq, severity, state, summary FROM events ORDER BY seq DESC LIMIT 20"
Ctrl-C stops both.
MSG
wait $agent $collector
