#!/usr/bin/env bash
# Writes agent/hot_code.ld: the code atmhealthd runs when it starts and while
# it watches, which the link puts together at the front of the binary
# (cmake/AgentFootprint.cmake). The kernel maps a program's code 64 KiB at a
# time around every page it runs, so code that runs scattered between code
# that never runs keeps nearly the whole binary resident; packed, an idle
# agent maps little more than what it runs (BENCHMARKS.md §5).
#
#   scripts/order-agent-code.sh [--build DIR] [--seconds N]
#
# Runs DIR's atmhealthd (default build/release, built as it is now) twice
# under valgrind's callgrind for N seconds each (default 60), both at once:
# once over mutual TLS watching every mount and an 8 MiB tmpfs that it fills
# past critical and empties again (alerts raised and cleared), once in
# plaintext watching the tmpfs only, as scripts/measure-footprint.sh does.
# Every function either run entered is listed, by its input section as the
# link map names it (the agent is linked once more for that, from DIR's
# objects without the order: valgrind names only functions in .text). Run it again when the agent's code
# has changed much: the test atmhealthd_hot_code_list_is_current fails when
# too few of the listed functions are still linked. A function missing from
# the list costs only memory, never correctness.
#
# Needs root (the tmpfs), valgrind and python3 (maintainers' tools, not build
# dependencies: apt-get install valgrind python3). Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/release
seconds=60
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "order-agent-code: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "order-agent-code: \"$seconds\" is not a number" >&2; exit 2 ;; esac
for tool in valgrind python3; do
  command -v "$tool" >/dev/null || { echo "order-agent-code: $tool is not installed" >&2; exit 2; }
done
agentd=$build/agent/atmhealthd
collectord=$build/collector/atmhealth-collector
for file in "$agentd" "$collectord"; do
  [ -e "$file" ] || { echo "order-agent-code: $file is missing; build $build first" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/atmhealth-order.XXXXXX")
# shellcheck source=scripts/measure-lib.sh
. scripts/measure-lib.sh
mounted=no
measure_cleanup_more() { if [ "$mounted" = yes ]; then umount "$work/watched" || true; fi; }
measure_trap_cleanup

# The agent linked from the same objects without the order, with a link map:
# valgrind names only the functions in a section called .text.
link=$(cd "$build" && ninja -t commands agent/atmhealthd | tail -1)
link=$(printf '%s\n' "$link" | sed -e 's| -Wl,-T,[^ ]*hot_code\.ld||' \
  -e "s| -o agent/atmhealthd | -Wl,-Map=$work/atmhealthd.map -o $work/atmhealthd |")
(cd "$build" && eval "$link")
agentd=$work/atmhealthd

make_pki "$work/pki" atm-order-tls
mkdir -p "$work/watched"
mount -t tmpfs -o size=8m atmhealth-order "$work/watched"
mounted=yes

# start_agent NAME TOML: atmhealthd under callgrind.
start_agent() {
  valgrind --tool=callgrind --callgrind-out-file="$work/$1.callgrind" --dump-line=no \
    --demangle=no --compress-strings=no --compress-pos=no --separate-threads=no \
    "$agentd" --config "$2" --log-level warn >"$work/$1.log" 2>&1 &
  started+=("$!")
  agent_pids+=("$!")
}
agent_pids=()

collector_tls "$work/pki" >"$work/tls-collector.toml"
start_collector tls-collector "$work/tls-collector.toml"
tls_http_port=$http_port
agent_config atm-order-tls "$work/tls-agent.db" "$agent_port" "$(agent_tls "$work/pki" atm-order-tls)" \
  2s "$work/watched" true >"$work/tls-agent.toml"
start_agent tls-agent "$work/tls-agent.toml"

printf '[listen]\nplaintext = true\n' >"$work/plain-collector.toml"
start_collector plain-collector "$work/plain-collector.toml"
agent_config atm-order-plain "$work/plain-agent.db" "$agent_port" "plaintext = true" 2s \
  "$work/watched" >"$work/plain-agent.toml"
start_agent plain-agent "$work/plain-agent.toml"

# Both agents connected (each collector recorded a heartbeat), then an
# alert raised and cleared on the tmpfs, then the rest of the time idle.
http_port=$tls_http_port
wait_for 120 eval '[ "$(metric atmhealth_collector_heartbeats_total)" != 0 ]' ||
  { echo "order-agent-code: the TLS agent never reached its collector" >&2; cat "$work/tls-agent.log" >&2; exit 1; }
head -c $((7 * 1024 * 1024 + 512 * 1024)) /dev/zero >"$work/watched/fill" 2>/dev/null || true
sleep $((seconds / 3))
rm -f "$work/watched/fill"
sleep $((seconds - seconds / 3))

# Stop the agents so that callgrind writes its files, then list.
for pid in "${agent_pids[@]}"; do kill -TERM "$pid"; done
for pid in "${agent_pids[@]}"; do wait "$pid" || true; done
python3 scripts/order-agent-code.py --map "$work/atmhealthd.map" --binary "$agentd" \
  --out agent/hot_code.ld "$work/tls-agent.callgrind" "$work/plain-agent.callgrind"
