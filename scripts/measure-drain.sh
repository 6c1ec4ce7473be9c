#!/usr/bin/env bash
# How fast a real agent drains a backlog to a real collector, and what it
# costs in memory. The backlog an ATM keeps through a long collector outage:
#   1. atmhealth-backlog-fill writes EVENTS events into a new agent buffer
#      through the agent's own EventStore, the agent not running;
#   2. a collector on a fresh SQLite database starts on loopback;
#   3. atmhealthd starts on that buffer, pointed at the collector, and sends
#      the backlog the way it does after an outage;
#   4. the script polls the agent's control socket (atmhealthctl status)
#      until every committed event is acknowledged, sampling VmRSS of the
#      agent and the collector every SAMPLE_MS, then checks in the
#      collector's database that every event of the buffer is stored exactly
#      once (one row per seq, seq 1..the agent's last), and prints the time,
#      the rate, the memory (peak VmRSS sampled, VmHWM) and the CPU of both.
# "Drained" is from atmhealthd's start to the Ack of its last event, so it
# includes opening the buffer and connecting. Exit status 0 only if every
# event arrived once.
#
#   scripts/measure-drain.sh [--build DIR] [--events N] [--max-bytes SIZE]
#       [--sample-ms N] [--timeout SECONDS] [--rss-trace FILE]
#       [--batch-events N] [--window-batches N] [--max-frame-bytes N] [--nice N]
#       [--agent FILE] [--frames-in-store N]
#
# --max-bytes is the agent's [store] max_bytes (default: room for the
# backlog, ~640 bytes per event, at least 64MiB); --batch-events,
# --window-batches and --max-frame-bytes set the agent's [uplink] keys of
# those names (default: the agent's defaults); --frames-in-store sets the
# collector's [listen] max_frames_in_store (1: one frame of the agent at a
# time, as before the collector read ahead). --nice runs the collector and
# atmhealthd at that niceness (negative, as root: ahead of whatever else
# runs, as on a machine of their own). --agent drains with another atmhealthd
# binary than DIR's (an earlier build, to compare). --rss-trace writes every
# sample as "MS rss AGENT_KIB COLLECTOR_KIB" and every status answer as
# "MS acked SEQ", MS counted from atmhealthd's start. The databases go
# under $TMPDIR (else /tmp): put it on the disk you mean to measure.
# Everything it starts is stopped and removed on exit. Traffic stays on
# 127.0.0.1. DIR (default build/release) needs agent/atmhealthd,
# collector/atmhealth-collector, tools/ctl/atmhealthctl and
# tests/bench/atmhealth-backlog-fill.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/release
events=1000000
max_bytes=
sample_ms=100
timeout_s=600
rss_trace=
uplink_extra=
niceness=0
agentd=
collector_extra=
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
number() {
  case "$2" in ''|*[!0-9]*) echo "measure-drain: $1: \"$2\" is not a number" >&2; exit 2 ;; esac
}
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --events) number "$1" "$2"; events=$2; shift 2 ;;
    --max-bytes) max_bytes=$2; shift 2 ;;
    --sample-ms) number "$1" "$2"; sample_ms=$2; shift 2 ;;
    --timeout) number "$1" "$2"; timeout_s=$2; shift 2 ;;
    --rss-trace) rss_trace=$2; shift 2 ;;
    --nice) niceness=$2; shift 2 ;;
    --agent) agentd=$2; shift 2 ;;
    --frames-in-store) number "$1" "$2"; collector_extra="max_frames_in_store = $2"$'\n'; shift 2 ;;
    --batch-events|--window-batches|--max-frame-bytes)
      number "$1" "$2"; key=${1#--}; uplink_extra="$uplink_extra${key//-/_} = $2"$'\n'; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "measure-drain: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$niceness" in -[0-9]*|[0-9]*) ;; *) echo "measure-drain: --nice: \"$niceness\" is not a number" >&2; exit 2 ;; esac
if [ "$events" -lt 1 ]; then echo "measure-drain: --events must be at least 1" >&2; exit 2; fi
if [ -z "$max_bytes" ]; then
  max_bytes=$(( events * 640 ))
  [ "$max_bytes" -lt $(( 64 * 1024 * 1024 )) ] && max_bytes=$(( 64 * 1024 * 1024 ))
fi

agentd=${agentd:-$build/agent/atmhealthd}
collectord=$build/collector/atmhealth-collector
ctl=$build/tools/ctl/atmhealthctl
fill=$build/tests/bench/atmhealth-backlog-fill
for program in "$agentd" "$collectord" "$ctl" "$fill"; do
  if [ ! -x "$program" ]; then
    echo "measure-drain: $program is missing; build $build with ATMHEALTH_BUILD_BENCHMARKS=ON" >&2
    exit 2
  fi
done
if ! command -v sqlite3 >/dev/null; then
  echo "measure-drain: sqlite3 (the command-line shell) is needed for the exactly-once check" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/atmhealth-drain.XXXXXX")
# shellcheck source=scripts/measure-lib.sh
. scripts/measure-lib.sh
measure_trap_cleanup

# Builtins only in the sampling loop (no subshell, no sleep process): on a
# loaded machine every fork would stretch the interval.
now_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }
# kib PID FIELD: sets KIB to the kB of the "FIELD: N kB" line of
# /proc/PID/status, or 0.
kib() {
  local key value rest
  KIB=0
  while read -r key value rest; do
    if [ "$key" = "$2:" ]; then KIB=$value; return; fi
  done <"/proc/$1/status" 2>/dev/null
}
# json_number JSON KEY: the first "KEY":N in JSON.
json_number() { { echo "$1" | grep -o "\"$2\":[0-9]*" || true; } | head -n 1 | cut -d: -f2; }

echo "measure-drain: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); collector and atmhealthd at niceness $niceness"
echo "disk: $(sync_write_ms "$work") ms per synchronous 4 KiB write (dd oflag=dsync, 200 writes) where the databases are"

# --- 1. the backlog, the agent stopped ---------------------------------------
mkdir -p "$work/agent"
echo "filling the agent's buffer with $events events (max_bytes $max_bytes) ..."
fill_out=$("$fill" --buffer "$work/agent/events.db" --events "$events" --max-bytes "$max_bytes")
echo "  $fill_out"
buffer_id=$(echo "$fill_out" | sed -n 's/.*buffer_id=\([0-9a-f]*\).*/\1/p')
echo "  buffer file $(stat -c %s "$work/agent/events.db") bytes"

# --- 2. the collector ---------------------------------------------------------
printf '[listen]\nplaintext = true\n%s' "$collector_extra" >"$work/collector.toml"
start_collector collector "$work/collector.toml" nice -n "$niceness"

# --- 3. the agent -------------------------------------------------------------
# No watcher of its own (all_mounts = false, nothing listed): the events sent
# are the backlog, and whatever the agent adds on start (an alert of the
# backlog closed because no rule owns it any more) is counted from its own
# buffer below.
cat >"$work/agent/atmhealthd.toml" <<TOML
[device]
id = "atm-drain-01"
site = "drain"
kind = "atm"
services = ["withdrawal", "deposit", "inquiry"]

[store]
path = "$work/agent/events.db"
max_bytes = $max_bytes

[uplink]
collectors = ["127.0.0.1:$agent_port"]
plaintext = true
$uplink_extra
[storage]
all_mounts = false
TOML
socket=$work/agent/control.sock
collector_cpu_before=$(cpu_ticks "$collector")
t0=$(now_ns)
nice -n "$niceness" "$agentd" --config "$work/agent/atmhealthd.toml" --log-level warn >"$work/agent.log" 2>&1 &
agent=$!
started+=("$agent")

# --- 4. until every committed event is acknowledged --------------------------
# Memory is sampled by a loop of its own, so that a slow status answer (the
# agent's store thread is busy) does not stretch the sampling interval.
sleep_s=$(awk -v ms="$sample_ms" 'BEGIN { printf "%.3f", ms / 1000 }')
(
  exec {never}<> <(:)  # read -t on it is a sleep without a process
  while kill -0 "$agent" 2>/dev/null; do
    kib "$agent" VmRSS; a=$KIB
    kib "$collector" VmRSS
    t=${EPOCHREALTIME/./}
    echo "$(( (t * 1000 - t0) / 1000000 )) rss $a $KIB"
    read -r -t "$sleep_s" -u "$never" _ || true
  done
) >"$work/rss" &
sampler=$!
started+=("$sampler")
acked=0
committed=-1
first_ack_ms=
drained_ms=
deadline=$(( t0 + timeout_s * 1000000000 ))
: >"$work/progress"
while :; do
  if ! kill -0 "$agent" 2>/dev/null; then
    echo "measure-drain: atmhealthd exited:" >&2; cat "$work/agent.log" >&2; exit 1
  fi
  status=
  if [ -S "$socket" ]; then
    status=$("$ctl" status --socket "$socket" --json --timeout 5s 2>/dev/null) || true
  fi
  d=$(json_number "$status" delivered_seq)
  c=$(json_number "$status" committed_seq)
  now=$(now_ns)
  if [ -n "$d" ] && [ -n "$c" ]; then
    acked=$d; committed=$c
    echo "$(( (now - t0) / 1000000 )) acked $acked" >>"$work/progress"
    if [ -z "$first_ack_ms" ] && [ "$acked" -gt 0 ]; then first_ack_ms=$(( (now - t0) / 1000000 )); fi
  fi
  if [ "$committed" -ge "$events" ] && [ "$acked" -ge "$committed" ]; then
    drained_ms=$(( (now - t0) / 1000000 ))
    break
  fi
  if [ "$now" -gt "$deadline" ]; then
    echo "measure-drain: not drained within ${timeout_s}s: $acked of $committed acknowledged" >&2
    tail -n 20 "$work/agent.log" >&2
    break
  fi
  sleep "$sleep_s"
done
# What the agent added on start (the start notice, closed alerts) is
# committed at its next group commit (200 ms by default) and may come after
# the backlog's last Ack: wait until everything committed is acknowledged
# and stays so over two polls 1 s apart, so that the count below is whole.
settled=0
while [ -n "$drained_ms" ] && [ "$settled" -lt 2 ] && [ "$(now_ns)" -le "$deadline" ]; do
  sleep 1
  status=$("$ctl" status --socket "$socket" --json --timeout 5s 2>/dev/null) || true
  d=$(json_number "$status" delivered_seq)
  c=$(json_number "$status" committed_seq)
  if [ -n "$d" ] && [ "$d" = "$c" ]; then settled=$((settled + 1)); else settled=0; fi
done
ticks_per_s=$(getconf CLK_TCK)
agent_cpu_ms=$(( $(cpu_ticks "$agent") * 1000 / ticks_per_s ))
collector_cpu_ms=$(( ($(cpu_ticks "$collector") - collector_cpu_before) * 1000 / ticks_per_s ))
agent_hwm=$(status_field "$agent" VmHWM)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
read -r samples peak_agent peak_collector < <(awk '$2 == "rss" { n++; if ($3 > a) a = $3; if ($4 > c) c = $4 }
  END { print n + 0, a + 0, c + 0 }' "$work/rss")
if [ -n "$rss_trace" ]; then sort -n -s -k1,1 "$work/rss" "$work/progress" >"$rss_trace"; fi
collector_hwm=$(status_field "$collector" VmHWM)

# --- 5. every event exactly once ---------------------------------------------
# The agent's own view of what it committed, then the collector's rows.
kill -TERM "$agent"
wait "$agent" 2>/dev/null || true
started=("$collector")
agent_last=$(sqlite3 "file:$work/agent/events.db?mode=ro" "SELECT last_seq FROM meta")
read -r rows distinct lowest highest < <(sqlite3 -separator ' ' "file:$work/collector.db?mode=ro" \
  "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM events WHERE device_id = 'atm-drain-01'")

echo
echo "backlog      $events events in buffer $buffer_id (agent's last seq $agent_last at the end)"
if [ -n "$drained_ms" ]; then
  echo "drained      $(awk -v ms="$drained_ms" 'BEGIN { printf "%.1f s", ms / 1000 }') from atmhealthd's start to the Ack of seq $committed ($(awk -v n="$committed" -v ms="$drained_ms" 'BEGIN { printf "%.0f", n * 1000 / ms }') events/s); first Ack after ${first_ack_ms:-?} ms; status polled every ${sample_ms} ms"
fi
echo "atmhealthd   peak VmRSS $(mib "$peak_agent") ($samples samples, every ${sample_ms} ms), VmHWM $(mib "$agent_hwm"), CPU ${agent_cpu_ms} ms"
echo "collector    peak VmRSS $(mib "$peak_collector"), VmHWM $(mib "$collector_hwm"), CPU ${collector_cpu_ms} ms during the drain"
echo "collector db $rows rows for the device, $distinct distinct seqs, seq $lowest..$highest; $(stat -c %s "$work/collector.db") bytes (+ WAL $(stat -c %s "$work/collector.db-wal" 2>/dev/null || echo 0))"
if [ -z "$drained_ms" ]; then exit 1; fi
if [ "$rows" != "$agent_last" ] || [ "$distinct" != "$agent_last" ] || [ "$lowest" != 1 ] ||
   [ "$highest" != "$agent_last" ]; then
  echo "measure-drain: FAILED: the collector does not hold seq 1..$agent_last exactly once" >&2
  exit 1
fi
echo "exactly once: every seq 1..$agent_last stored once"
