#!/usr/bin/env bash
# The main job on one machine: installs the dependencies, builds, then runs a
# collector on 127.0.0.1 and an agent watching this machine's filesystems and
# streaming to it, both on their embedded defaults. Ctrl-C stops both.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release

bin=build/release
state=${ATMHEALTH_STATE_DIR:-$PWD/build/local}
mkdir -p "$state"
"$bin/collector/atmhealth-collector" --db "$state/collector.db" \
  --ready-file "$state/collector.ready.json" >"$state/collector.log" 2>&1 &
collector=$!
"$bin/agent/atmhealthd" --store "$state/agent-events.db" >"$state/agent.log" 2>&1 &
agent=$!
trap 'kill -TERM $agent $collector 2>/dev/null; wait $agent $collector 2>/dev/null; echo "stopped"' EXIT INT TERM

for _ in $(seq 50); do [ -f "$state/collector.ready.json" ] && break; sleep 0.1; done
cat <<MSG

atmhealth is running on this machine:
  collector   pid $collector, agents on 127.0.0.1:7411 (plaintext TCP), database $state/collector.db
              metrics   http://127.0.0.1:7412/metrics     health  http://127.0.0.1:7412/healthz
              log       $state/collector.log
  atmhealthd  pid $agent, device $(hostname), watching every data filesystem of this machine
              buffer    $state/agent-events.db
              log       $state/agent.log

Stored alerts:  sqlite3 $state/collector.db "SELECT device_id, seq, severity, state, summary FROM events ORDER BY seq DESC LIMIT 20"
Ctrl-C stops both.
MSG
wait $agent $collector
