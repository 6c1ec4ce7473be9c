#!/bin/sh
# Benchmark smoke run: a real collector and atmhealth-agent-swarm with tiny
# sizes, so the load tool keeps building and working. It asserts that every
# frame was acknowledged (the swarm's exit code), never a time.
# Usage: swarm_smoke.sh COLLECTOR SWARM
set -eu
collector=$1
swarm=$2
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

printf '[listen]\nplaintext = true\n' >"$dir/collector.toml"
"$collector" --config "$dir/collector.toml" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --db "$dir/collector.db" --ready-file "$dir/ready.json" --log-level warn &
pid=$!
tries=0
while [ ! -s "$dir/ready.json" ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "swarm_smoke: the collector did not become ready" >&2
    exit 1
  fi
  sleep 0.05
done
port=$(sed 's/.*"agent_port":\([0-9]*\).*/\1/' "$dir/ready.json")

# Saturation with batches and heartbeats, then a paced run with spread
# connects: the two ways BENCHMARKS.md drives it; the first with the raw
# ceiling beside it.
"$swarm" --collector "127.0.0.1:$port" --device-prefix smoke-a --agents 8 \
  --raw-ceiling-dir "$dir" --raw-ceiling-rows 200 --raw-ceiling-commit 50 \
  --events-per-agent 50 --batch 4 --window 2 --heartbeats 3 --duration-limit 60
"$swarm" --collector "127.0.0.1:$port" --device-prefix smoke-b --agents 4 \
  --events-per-agent 5 --batch 1 --window 1 --pace-ms 20 --connect-spread-ms 50 \
  --duration-limit 60
