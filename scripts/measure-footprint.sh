#!/usr/bin/env bash
# What atmhealth costs on a machine. Starts a collector and one agent on
# loopback (the way tests/integration/harness.cc does), the agent watching an
# 8 MiB tmpfs with production intervals, and reports:
#   - the agent over IDLE seconds of watching: VmRSS/VmHWM, threads, open fds,
#     CPU time, and the size of its event buffer;
#   - the collector at rest, and under atmhealth-agent-swarm load (every
#     swarm session stays open 5 s after its last Ack, so all are open at
#     once): peak VmRSS (sampled every 100 ms), VmHWM, threads, fds, CPU time
#     per frame acknowledged, and the swarm's own report.
# Everything it starts (processes, the tmpfs, a scratch directory) is stopped
# and removed on exit. Traffic goes to 127.0.0.1 only.
#
#   scripts/measure-footprint.sh [--build DIR] [--idle SECONDS] [--max-sessions N]
#       [--agents N] [--events-per-agent N] [--batch N] [--window N] [--heartbeats N]
#       [--pace-ms N] [--connect-spread-ms N]
#   scripts/measure-footprint.sh --peers [--build DIR] [--agent FILE] [--also-agent FILE]...
#       [--idle SECONDS] [--tls]
#
# With --peers it starts, next to the agent, its peers installed on this
# machine (prometheus-node-exporter, zabbix_agent2, collectd with its default
# configuration and with only the df plugin, monit; scripts/footprint-peers.sh
# says how to install them), measures all of them over the same idle window
# and prints one table (RSS, PSS and private memory from smaps_rollup,
# threads, CPU per minute), then stops; no swarm. --agent measures another
# atmhealthd binary than DIR's (one linked differently, an installed one);
# --also-agent starts one more atmhealthd binary (its own buffer and device
# id, the same config otherwise) and measures it in the same window, a row of
# its own: a before and an after side by side in one run. --tls: the agents
# reach the collector over mutual TLS, as in production (a CA and
# certificates made with scripts/pki.sh in the scratch directory), instead of
# in plaintext.
#
# The swarm flags are atmhealth-agent-swarm's (see its --help); --max-sessions
# is the collector's listen.max_sessions (default: the swarm's agents plus
# the measured agent).
#
# Run it as root for the tmpfs (without root the agent watches a plain
# directory instead). DIR is a release build (default build/release) with
# the benchmarks on: it needs agent/atmhealthd, collector/atmhealth-collector
# and tests/bench/atmhealth-agent-swarm.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/release
idle=60
max_sessions=
agents=1000
events_per_agent=200
batch=16
window=4
heartbeats=0
pace_ms=0
connect_spread_ms=0
peers=no
tls=no
agentd=
also_agents=()
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --events-per-agent) events_per_agent=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --heartbeats) heartbeats=$2; shift 2 ;;
    --pace-ms) pace_ms=$2; shift 2 ;;
    --connect-spread-ms) connect_spread_ms=$2; shift 2 ;;
    --max-sessions) max_sessions=$2; shift 2 ;;
    --peers) peers=yes; shift ;;
    --tls) tls=yes; shift ;;
    --agent) agentd=$2; shift 2 ;;
    --also-agent) also_agents+=("$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "measure-footprint: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$idle" "$agents" "$events_per_agent" "$batch" "$window" "$heartbeats" "$pace_ms" \
  "$connect_spread_ms" "${max_sessions:-0}"; do
  case "$n" in ''|*[!0-9]*) echo "measure-footprint: \"$n\" is not a number" >&2; exit 2 ;; esac
done
max_sessions=${max_sessions:-$((agents + 1))}

agentd=${agentd:-$build/agent/atmhealthd}
collectord=$build/collector/atmhealth-collector
swarm=$build/tests/bench/atmhealth-agent-swarm
if [ ${#also_agents[@]} -gt 0 ] && [ "$peers" != yes ]; then
  echo "measure-footprint: --also-agent goes with --peers" >&2; exit 2
fi
# --peers runs no swarm, so it needs no benchmarks in the build.
needed=("$agentd" "$collectord" "${also_agents[@]}")
if [ "$peers" != yes ]; then needed+=("$swarm"); fi
for program in "${needed[@]}"; do
  if [ ! -x "$program" ]; then
    echo "measure-footprint: $program is missing; build $build (the swarm needs ATMHEALTH_BUILD_BENCHMARKS=ON)" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/atmhealth-footprint.XXXXXX")
# shellcheck source=scripts/measure-lib.sh
. scripts/measure-lib.sh
mounted=no
measure_cleanup_more() { if [ "$mounted" = yes ]; then umount "$work/watched" || true; fi; }
measure_trap_cleanup

# --- helpers -----------------------------------------------------------------
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# Nanoseconds on CPU of the threads PID has now (/proc/PID/task/*/schedstat):
# finer than clock ticks, but blind to threads that already ended.
cpu_ns_live_threads() { cat "/proc/$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'; }
# sizes FILE...: "name N bytes, ..." for each file that exists.
sizes() {
  local f out=""
  for f in "$@"; do
    [ -f "$f" ] && out="$out${out:+, }$(basename "$f") $(stat -c %s "$f") bytes"
  done
  echo "$out"
}

# smaps_by_file PID: RSS, PSS and private kB of PID summed per mapped file
# (mappings without a file as "[anonymous+heap+stacks]"), largest first.
smaps_by_file() {
  awk '
    /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anonymous+heap+stacks]"
      if (name ~ /^\[(heap|stack)/) name = "[anonymous+heap+stacks]"; next }
    $1 == "Rss:" { rss[name] += $2 }
    $1 == "Pss:" { pss[name] += $2 }
    $1 == "Private_Clean:" || $1 == "Private_Dirty:" { priv[name] += $2 }
    END { for (n in rss) if (rss[n] > 0) printf "%8d %8d %8d  %s\n", rss[n], pss[n], priv[n], n }
  ' "/proc/$1/smaps" | sort -rn |
    awk 'BEGIN { printf "  %8s %8s %8s\n", "RSS kB", "PSS kB", "private" } { printf "  %8d %8d %8d  %s\n", $1, $2, $3, $4 }'
}

# --- collector ---------------------------------------------------------------
printf '[listen]\nmax_sessions = %s\n' "$max_sessions" >"$work/collector.toml"
if [ "$tls" = yes ]; then
  # shellcheck disable=SC2046  # one device id per word
  make_pki "$work/pki" $(seq -f 'atm-footprint-0%g' 1 $((1 + ${#also_agents[@]})))
  collector_tls "$work/pki" >>"$work/collector.toml"
  uplink_security=$(agent_tls "$work/pki" atm-footprint-01)
else
  printf 'plaintext = true\n' >>"$work/collector.toml"
  uplink_security="plaintext = true"
fi
start_collector collector "$work/collector.toml"

# --- agent -------------------------------------------------------------------
mkdir -p "$work/watched" "$work/agent"
watched="a plain directory (not root: no tmpfs)"
if mount -t tmpfs -o size=8m atmhealth-footprint "$work/watched" 2>/dev/null; then
  mounted=yes
  watched="an 8 MiB tmpfs"
fi
agent_config atm-footprint-01 "$work/agent/events.db" "$agent_port" "$uplink_security" 10s \
  "$work/watched" >"$work/agent/atmhealthd.toml"
"$agentd" --config "$work/agent/atmhealthd.toml" --log-level warn >"$work/agent.log" 2>&1 &
agent=$!
started+=("$agent")
# Up and talking: the collector recorded the agent's first heartbeat.
heard_from_agent() { [ "$(metric atmhealth_collector_heartbeats_total)" != 0 ]; }
if ! wait_for 30 heard_from_agent; then
  echo "measure-footprint: the agent never reached the collector:" >&2; cat "$work/agent.log" >&2; exit 1
fi

also_pids=()
for i in "${!also_agents[@]}"; do
  n=$((i + 2))
  mkdir -p "$work/agent-$n"
  sed -e "s|atm-footprint-01|atm-footprint-0$n|" -e "s|$work/agent/events.db|$work/agent-$n/events.db|" \
    "$work/agent/atmhealthd.toml" >"$work/agent-$n/atmhealthd.toml"
  "${also_agents[$i]}" --config "$work/agent-$n/atmhealthd.toml" --log-level warn >"$work/agent-$n.log" 2>&1 &
  also_pids+=("$!")
  started+=("$!")
done
all_connected() { [ "$(metric atmhealth_collector_sessions_active)" -ge $((1 + ${#also_pids[@]})) ]; }
if [ ${#also_pids[@]} -gt 0 ] && ! wait_for 30 all_connected; then
  echo "measure-footprint: not every --also-agent reached the collector:" >&2
  cat "$work"/agent-*.log >&2; exit 1
fi

ticks_per_s=$(getconf CLK_TCK)
if [ "$peers" = yes ]; then
  # shellcheck source=scripts/footprint-peers.sh
  . scripts/footprint-peers.sh
  start_peers
fi
echo "measure-footprint: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Both stores commit with fsync, so the disk's synchronous-write latency sets
# their pace: measure it where the databases are.
echo "disk: $(sync_write_ms "$work") ms per synchronous 4 KiB write (dd oflag=dsync, 200 writes) where the databases are"
echo "agent watching $watched, storage interval 10s, heartbeat 10s, $( [ "$tls" = yes ] && echo "mutual TLS" || echo plaintext ); measuring ${idle}s of idle watching"
if [ "$peers" = yes ]; then
  peer_ticks_before=()
  also_ticks_before=()
  for pid in "${also_pids[@]}"; do also_ticks_before+=("$(cpu_ticks "$pid")"); done
  for pid in "${peer_pids[@]}"; do
    case "$pid" in *[!0-9]*) peer_ticks_before+=(0) ;; *) peer_ticks_before+=("$(cpu_ticks "$pid")") ;; esac
  done
  scrape_node_exporter
fi
cpu_before=$(cpu_ticks "$agent")
ns_before=$(cpu_ns_live_threads "$agent")
sleep "$idle"
cpu_after=$(cpu_ticks "$agent")
ns_after=$(cpu_ns_live_threads "$agent")
cpu_ms=$(( (cpu_after - cpu_before) * 1000 / ticks_per_s ))
live_ms=$(awk -v a="$ns_before" -v b="$ns_after" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')

echo
echo "atmhealthd (idle, after ${idle}s)"
echo "  VmRSS            $(mib "$(status_field "$agent" VmRSS)")"
echo "  VmHWM            $(mib "$(status_field "$agent" VmHWM)")"
echo "  RssAnon          $(mib "$(status_field "$agent" RssAnon)") (private; the rest of VmRSS is shared libraries and files)"
echo "  threads          $(status_field "$agent" Threads)"
echo "  open fds         $(fd_count "$agent")"
echo "  CPU time         ${cpu_ms} ms in ${idle} s ($(awk -v ms="$cpu_ms" -v s="$idle" 'BEGIN { printf "%.3f", ms / (s * 10) }') % of one core; counted in clock ticks of $((1000 / ticks_per_s)) ms)"
echo "                   ${live_ms} ms on CPU by its long-lived threads (schedstat, ns; without the short-lived probe threads)"
echo "  event buffer     $(sizes "$work/agent/events.db" "$work/agent/events.db-wal" "$work/agent/events.db-shm")"

if [ "$peers" = yes ]; then
  echo
  echo "side by side, idle, the same ${idle}s (memory from /proc/PID/smaps_rollup; CPU from /proc/PID/stat)"
  printf '  %-18s %9s %9s %9s %8s %12s\n' "" RSS PSS private threads "CPU/minute"
  footprint_row atmhealthd "$agent" "$cpu_before"
  for i in "${!also_pids[@]}"; do
    footprint_row "$(basename "${also_agents[$i]}")" "${also_pids[$i]}" "${also_ticks_before[$i]}"
  done
  for i in "${!peer_pids[@]}"; do
    footprint_row "${peer_names[$i]}" "${peer_pids[$i]}" "${peer_ticks_before[$i]}"
  done
  echo
  echo "where atmhealthd's RSS is (/proc/PID/smaps, summed per file; anonymous mappings, heap and stacks together)"
  smaps_by_file "$agent"
  for i in "${!also_pids[@]}"; do
    echo
    echo "where ${also_agents[$i]}'s RSS is"
    smaps_by_file "${also_pids[$i]}"
  done
  exit 0
fi

echo
echo "atmhealth-collector (one agent connected, before the swarm)"
echo "  VmRSS            $(mib "$(status_field "$collector" VmRSS)")"
echo "  RssAnon          $(mib "$(status_field "$collector" RssAnon)")"
echo "  threads          $(status_field "$collector" Threads)"
echo "  open fds         $(fd_count "$collector")"

collector_cpu_before=$(cpu_ticks "$collector")
"$swarm" --collector "127.0.0.1:$agent_port" --agents "$agents" \
  --events-per-agent "$events_per_agent" --batch "$batch" --window "$window" \
  --heartbeats "$heartbeats" --pace-ms "$pace_ms" --connect-spread-ms "$connect_spread_ms" \
  --linger 5 --duration-limit 300 >"$work/swarm.out" 2>&1 &
swarm_pid=$!
started+=("$swarm_pid")
peak_rss=0
peak_anon=0
peak_fds=0
peak_threads=0
while kill -0 "$swarm_pid" 2>/dev/null; do
  rss=$(status_field "$collector" VmRSS)
  fds=$(fd_count "$collector")
  threads=$(status_field "$collector" Threads)
  anon=$(status_field "$collector" RssAnon)
  [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
  [ "$anon" -gt "$peak_anon" ] && peak_anon=$anon
  [ "$fds" -gt "$peak_fds" ] && peak_fds=$fds
  [ "$threads" -gt "$peak_threads" ] && peak_threads=$threads
  sleep 0.1
done
swarm_status=0
wait "$swarm_pid" || swarm_status=$?
started=("$collector" "$agent")
collector_cpu_ms=$(( ($(cpu_ticks "$collector") - collector_cpu_before) * 1000 / ticks_per_s ))
frames=$(awk '$1 == "ack" && $2 == "latency" { gsub(/[(]/, "", $(NF-1)); print $(NF-1) }' "$work/swarm.out")

echo
echo "atmhealth-collector under the swarm (max_sessions $max_sessions)"
echo "  peak VmRSS       $(mib "$peak_rss") (sampled every 100 ms)"
echo "  peak RssAnon     $(mib "$peak_anon")"
echo "  VmHWM            $(mib "$(status_field "$collector" VmHWM)")"
echo "  peak threads     $peak_threads"
echo "  peak open fds    $peak_fds"
echo "  CPU time         ${collector_cpu_ms} ms for ${frames:-0} frames acknowledged ($(awk -v ms="$collector_cpu_ms" -v n="${frames:-0}" 'BEGIN { if (n > 0) printf "%.0f", ms * 1000 / n; else printf "-" }') us per frame, Hellos included)"
echo "  database         $(sizes "$work/collector.db" "$work/collector.db-wal" "$work/collector.db-shm")"
echo
sed 's/^/  /' "$work/swarm.out"
exit "$swarm_status"
