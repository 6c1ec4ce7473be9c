#!/usr/bin/env bash
# What a collector costs holding a fleet's idle sessions over mutual TLS 1.3:
# AGENTS atmhealth-agent-swarm sessions (each with its own device
# certificate, signed by a CA made for the run) connect over CONNECT_SPREAD
# seconds, then each sends a heartbeat every HEARTBEAT seconds, as an idle
# atmhealthd does, HEARTBEATS times, and stays connected LINGER seconds more,
# so that every session is open at once at the end. Every SAMPLE seconds the
# script reads the collector's open sessions (its /metrics), VmRSS and CPU
# time; it prints them, the CPU used per minute while every session was
# open, and the swarm's own report. Exit status 0 only if every heartbeat of
# every session was acknowledged (the swarm's exit status; a session refused
# with a retry hint comes back, counted in its connection attempts).
#
#   scripts/measure-tls-idle.sh [--build DIR] [--agents N] [--connect-spread S]
#       [--heartbeat S] [--heartbeats N] [--linger S] [--sample S] [--max-handshakes N]
#
# Defaults: 10,000 agents spread over 60 s, a heartbeat every 10 s (the
# agent's default heartbeat_interval), 18 heartbeats, 50 s of linger (below
# the collector's idle_timeout of 60 s), a sample every 5 s, the collector's
# default max_handshakes. Run as root or with a hard limit of open files
# above AGENTS + 100: the collector and the swarm each hold one descriptor a
# session. Everything it starts is stopped and removed on exit; traffic stays
# on 127.0.0.1. DIR (default build/release) needs
# collector/atmhealth-collector and tests/bench/atmhealth-agent-swarm.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/release
agents=10000
spread_s=60
heartbeat_s=10
heartbeats=18
linger_s=50
sample_s=5
max_handshakes=
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
number() {
  case "$2" in ''|*[!0-9]*) echo "measure-tls-idle: $1: \"$2\" is not a number" >&2; exit 2 ;; esac
}
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --agents) number "$1" "$2"; agents=$2; shift 2 ;;
    --connect-spread) number "$1" "$2"; spread_s=$2; shift 2 ;;
    --heartbeat) number "$1" "$2"; heartbeat_s=$2; shift 2 ;;
    --heartbeats) number "$1" "$2"; heartbeats=$2; shift 2 ;;
    --linger) number "$1" "$2"; linger_s=$2; shift 2 ;;
    --sample) number "$1" "$2"; sample_s=$2; shift 2 ;;
    --max-handshakes) number "$1" "$2"; max_handshakes=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "measure-tls-idle: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
collectord=$build/collector/atmhealth-collector
swarm=$build/tests/bench/atmhealth-agent-swarm
for program in "$collectord" "$swarm"; do
  if [ ! -x "$program" ]; then
    echo "measure-tls-idle: $program is missing; build $build with ATMHEALTH_BUILD_BENCHMARKS=ON" >&2
    exit 2
  fi
done
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((agents + 100)) ]; then
  echo "measure-tls-idle: at most $(ulimit -n) open files; $agents sessions need $((agents + 100))" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/atmhealth-tls-idle.XXXXXX")
# shellcheck source=scripts/measure-lib.sh
. scripts/measure-lib.sh
measure_trap_cleanup

make_pki "$work/pki"
{
  printf '[listen]\nmax_sessions = %s\n' "$agents"
  [ -n "$max_handshakes" ] && printf 'max_handshakes = %s\n' "$max_handshakes"
  collector_tls "$work/pki"
} >"$work/collector.toml"
start_collector collector "$work/collector.toml"

echo "measure-tls-idle: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "collector at rest: VmRSS $(status_field "$collector" VmRSS) kB"
duration=$(( spread_s + heartbeats * heartbeat_s + linger_s + 120 ))
swarm_cmd=("$swarm" --collector "127.0.0.1:$agent_port" --agents "$agents" --events-per-agent 0
  --heartbeats "$heartbeats" --pace-ms $((heartbeat_s * 1000)) --window 1
  --connect-spread-ms $((spread_s * 1000)) --linger "$linger_s" --duration-limit "$duration"
  --tls-ca "$work/pki/ca.crt" --tls-ca-key "$work/pki/private/ca.key")
echo "swarm: ${swarm_cmd[*]#"$work/"}"
ticks_per_s=$(getconf CLK_TCK)
t0=$(date +%s)
"${swarm_cmd[@]}" >"$work/swarm.out" 2>&1 &
swarm_pid=$!
started+=("$swarm_pid")

# seconds sessions_active VmRSS_kB cpu_ticks, one line a sample.
printf '%8s %9s %12s %12s\n' seconds sessions "VmRSS MiB" "CPU s"
while kill -0 "$swarm_pid" 2>/dev/null; do
  t=$(( $(date +%s) - t0 ))
  sessions=$(metric atmhealth_collector_sessions_active)
  rss=$(status_field "$collector" VmRSS)
  ticks=$(cpu_ticks "$collector")
  echo "$t $sessions $rss $ticks" >>"$work/samples"
  printf '%8d %9s %12.1f %12.2f\n' "$t" "$sessions" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
    "$(awk -v t="$ticks" -v h="$ticks_per_s" 'BEGIN { print t / h }')"
  sleep "$sample_s"
done
swarm_status=0
wait "$swarm_pid" || swarm_status=$?
started=("$collector")

echo
# CPU per minute and memory while every session was open (the samples at
# the full count; heartbeats and TLS records only, no handshakes).
awk -v n="$agents" -v h="$ticks_per_s" '
  $2 + 0 >= n { if (!seen) { t1 = $1; c1 = $4; seen = 1 } t2 = $1; c2 = $4; if ($3 > peak) peak = $3; k++ }
  { if ($3 > all_peak) all_peak = $3 }
  END {
    printf "collector peak VmRSS %.1f MiB over the run\n", all_peak / 1024
    if (!seen) { print "never all " n " sessions open at once"; exit }
    printf "all %d sessions open from %d s to %d s (%d samples): peak VmRSS %.1f MiB, ", n, t1, t2, k, peak / 1024
    if (t2 > t1) printf "CPU %.2f s per minute (%.1f %% of one core)\n", (c2 - c1) / h * 60 / (t2 - t1), (c2 - c1) / h * 100 / (t2 - t1)
    else print "too short a window for CPU"
  }' "$work/samples"
echo "collector VmHWM $(status_field "$collector" VmHWM) kB; tls handshake failures: $(metric atmhealth_collector_tls_handshake_failures_total)"
echo "store: $(metric atmhealth_collector_store_errors_total) calls failed (sessions refused STORE_UNAVAILABLE)," \
  "$(metric atmhealth_collector_heartbeats_total) heartbeats recorded," \
  "$(metric atmhealth_collector_heartbeats_coalesced_total) coalesced with a newer one of their device," \
  "$(metric atmhealth_collector_store_commit_calls_count) commits;" \
  "sessions refused store_busy: $(metric 'atmhealth_collector_sessions_refused_total{reason="store_busy"}')"
echo
cat "$work/swarm.out"
exit "$swarm_status"
