#!/usr/bin/env bash
# What atmhealth costs on a machine. Starts a collector and one agent on
# loopback (the way tests/integration/harness.cc does), the agent watching an
# 8 MiB tmpfs with production intervals, and reports:
#   - the agent over IDLE seconds of watching: VmRSS/VmHWM, threads, open fds,
#     CPU time, and the size of its event buffer;
#   - the collector at rest, and under atmhealth-agent-swarm load (every
#     swarm session stays open 5 s after its last Ack, so all are open at
#     once): peak VmRSS (sampled every 100 ms), VmHWM, threads, fds, CPU time
#     per event stored, and the swarm's own report.
# Everything it starts (processes, the tmpfs, a scratch directory) is stopped
# and removed on exit. Traffic goes to 127.0.0.1 only.
#
#   scripts/measure-footprint.sh [--build DIR] [--idle SECONDS]
#                                [--agents N] [--events-per-agent N] [--batch N] [--window N]
#
# Run it as root for the tmpfs (without root the agent watches a plain
# directory instead). DIR is a release build (default build/release) with
# the benchmarks on: it needs agent/atmhealthd, collector/atmhealth-collector
# and tests/bench/atmhealth-agent-swarm.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/release
idle=60
agents=100
events_per_agent=2000
batch=16
window=4
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --events-per-agent) events_per_agent=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "measure-footprint: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$idle" "$agents" "$events_per_agent" "$batch" "$window"; do
  case "$n" in ''|*[!0-9]*) echo "measure-footprint: \"$n\" is not a number" >&2; exit 2 ;; esac
done

agentd=$build/agent/atmhealthd
collectord=$build/collector/atmhealth-collector
swarm=$build/tests/bench/atmhealth-agent-swarm
for program in "$agentd" "$collectord" "$swarm"; do
  if [ ! -x "$program" ]; then
    echo "measure-footprint: $program is missing; build $build with ATMHEALTH_BUILD_BENCHMARKS=ON" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/atmhealth-footprint.XXXXXX")
started=()
mounted=no
cleanup() {
  local pid
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$mounted" = yes ]; then umount "$work/watched" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------
# status_kb PID FIELD: a "FIELD:  N kB" line of /proc/PID/status, in KiB.
status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# CPU time (user + system) of PID, in clock ticks. Fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }
# sizes FILE...: "name N bytes, ..." for each file that exists.
sizes() {
  local f out=""
  for f in "$@"; do
    [ -f "$f" ] && out="$out${out:+, }$(basename "$f") $(stat -c %s "$f") bytes"
  done
  echo "$out"
}
# metric NAME: one sample of the collector's /metrics, over bash's /dev/tcp.
metric() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$http_port"
  printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  line=$(timeout 5 cat <&3 | tr -d '\r' | awk -v m="$1" '$1 == m { print $2 }')
  exec 3<&-
  echo "${line:-0}"
}
wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local limit=$(( $1 * 10 )); shift
  for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# --- collector ---------------------------------------------------------------
"$collectord" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --db "$work/collector.db" \
  --ready-file "$work/collector.ready.json" --log-level warn >"$work/collector.log" 2>&1 &
collector=$!
started+=("$collector")
if ! wait_for 20 test -f "$work/collector.ready.json"; then
  echo "measure-footprint: the collector did not come up:" >&2; cat "$work/collector.log" >&2; exit 1
fi
ready=$(cat "$work/collector.ready.json")
agent_port=$(echo "$ready" | sed -n 's/.*"agent_port": *\([0-9]*\).*/\1/p')
http_port=$(echo "$ready" | sed -n 's/.*"http_port": *\([0-9]*\).*/\1/p')

# --- agent -------------------------------------------------------------------
mkdir -p "$work/watched" "$work/agent"
watched="a plain directory (not root: no tmpfs)"
if mount -t tmpfs -o size=8m atmhealth-footprint "$work/watched" 2>/dev/null; then
  mounted=yes
  watched="an 8 MiB tmpfs"
fi
cat >"$work/agent/atmhealthd.toml" <<TOML
[device]
id = "atm-footprint-01"
site = "footprint"
kind = "atm"
services = ["withdrawal", "deposit", "inquiry"]

[store]
path = "$work/agent/events.db"
commit_interval = "200ms"

[uplink]
collectors = ["127.0.0.1:$agent_port"]
plaintext = true
heartbeat_interval = "10s"

[storage]
interval = "10s"
all_mounts = false

[[storage.filesystem]]
path = "$work/watched"
warning = 70
critical = 90
unavailable = ["withdrawal", "deposit"]
TOML
"$agentd" --config "$work/agent/atmhealthd.toml" --log-level warn >"$work/agent.log" 2>&1 &
agent=$!
started+=("$agent")
# Up and talking: the collector recorded the agent's first heartbeat.
heard_from_agent() { [ "$(metric atmhealth_collector_heartbeats_total)" != 0 ]; }
if ! wait_for 30 heard_from_agent; then
  echo "measure-footprint: the agent never reached the collector:" >&2; cat "$work/agent.log" >&2; exit 1
fi

ticks_per_s=$(getconf CLK_TCK)
echo "measure-footprint: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "agent watching $watched, storage interval 10s, heartbeat 10s; measuring ${idle}s of idle watching"
cpu_before=$(cpu_ticks "$agent")
sleep "$idle"
cpu_after=$(cpu_ticks "$agent")
cpu_ms=$(( (cpu_after - cpu_before) * 1000 / ticks_per_s ))

echo
echo "atmhealthd (idle, after ${idle}s)"
echo "  VmRSS            $(mib "$(status_field "$agent" VmRSS)")"
echo "  VmHWM            $(mib "$(status_field "$agent" VmHWM)")"
echo "  threads          $(status_field "$agent" Threads)"
echo "  open fds         $(fd_count "$agent")"
echo "  CPU time         ${cpu_ms} ms in ${idle} s ($(awk -v ms="$cpu_ms" -v s="$idle" 'BEGIN { printf "%.3f", ms / (s * 10) }') % of one core; clock tick $((1000 / ticks_per_s)) ms)"
echo "  event buffer     $(sizes "$work/agent/events.db" "$work/agent/events.db-wal" "$work/agent/events.db-shm")"

echo
echo "atmhealth-collector (one agent connected, before the swarm)"
echo "  VmRSS            $(mib "$(status_field "$collector" VmRSS)")"
echo "  threads          $(status_field "$collector" Threads)"
echo "  open fds         $(fd_count "$collector")"

collector_cpu_before=$(cpu_ticks "$collector")
"$swarm" --collector "127.0.0.1:$agent_port" --agents "$agents" \
  --events-per-agent "$events_per_agent" --batch "$batch" --window "$window" \
  --linger 5 --duration-limit 300 >"$work/swarm.out" 2>&1 &
swarm_pid=$!
started+=("$swarm_pid")
peak_rss=0
peak_fds=0
peak_threads=0
while kill -0 "$swarm_pid" 2>/dev/null; do
  rss=$(status_field "$collector" VmRSS)
  fds=$(fd_count "$collector")
  threads=$(status_field "$collector" Threads)
  [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
  [ "$fds" -gt "$peak_fds" ] && peak_fds=$fds
  [ "$threads" -gt "$peak_threads" ] && peak_threads=$threads
  sleep 0.1
done
swarm_status=0
wait "$swarm_pid" || swarm_status=$?
started=("$collector" "$agent")
collector_cpu_ms=$(( ($(cpu_ticks "$collector") - collector_cpu_before) * 1000 / ticks_per_s ))
stored=$(awk '$1 == "events" && $2 == "stored" { print $3 }' "$work/swarm.out")

echo
echo "atmhealth-collector under the swarm (--agents $agents --events-per-agent $events_per_agent --batch $batch --window $window --linger 5)"
echo "  peak VmRSS       $(mib "$peak_rss") (sampled every 100 ms)"
echo "  VmHWM            $(mib "$(status_field "$collector" VmHWM)")"
echo "  peak threads     $peak_threads"
echo "  peak open fds    $peak_fds"
echo "  CPU time         ${collector_cpu_ms} ms for ${stored:-0} events ($(awk -v ms="$collector_cpu_ms" -v n="${stored:-0}" 'BEGIN { if (n > 0) printf "%.1f", ms * 1000 / n; else printf "-" }') us of CPU per event stored)"
echo "  database         $(sizes "$work/collector.db" "$work/collector.db-wal" "$work/collector.db-shm")"
echo
sed 's/^/  /' "$work/swarm.out"
exit "$swarm_status"
