#!/usr/bin/env bash
# Two collectors on one PostgreSQL database under load, beside that
# server's raw ceiling in the same run:
#   1. a fresh PostgreSQL cluster (initdb; the server's defaults, fsync on)
#      in a scratch directory under $TMPDIR, its socket there, no TCP;
#   2. two collectors on it (plaintext agent listeners on loopback);
#   3. one atmhealth-agent-swarm per collector, both at the same time, each
#      with --agents AGENTS (so 2 x AGENTS agents in all);
#   4. every event sent is checked stored exactly once (count of distinct
#      (device, buffer, seq) = rows = agents x events);
#   5. the raw ceiling of the same server: the first 200,000 stored events
#      copied out, then into a copy of `events` (CREATE TABLE ... (LIKE
#      events INCLUDING ALL)) by COPY, and by INSERT ... VALUES of 1,000 rows
#      per statement with ON CONFLICT DO NOTHING (pg_dump --rows-per-insert,
#      psql -f: one commit per statement), each timed.
# Prints each swarm's summary, the sum of both rates, the raw rates, the
# load average before and after and the disk's synchronous write time.
# With --perf SECONDS it samples (perf record -g) the first collector for
# that long from the swarms' start into perf-collector.data in the current
# directory.
#
#   scripts/measure-pg-collectors.sh [--collector PROGRAM] [--swarm PROGRAM]
#       [--agents N] [--events-per-agent N] [--batch N] [--window N]
#       [--duration-limit SECONDS] [--raw-rows N] [--perf SECONDS]
#
# PROGRAM defaults: build/release/collector/atmhealth-collector and
# build/release/tests/bench/atmhealth-agent-swarm. Needs PostgreSQL's server
# (initdb, pg_ctl: /usr/lib/postgresql/<version>/bin) and psql, pg_dump; as
# root the server runs as the `postgres` user (initdb refuses root).
# Everything it starts is stopped and removed on exit. Exit status 0 only
# if both swarms had every frame acknowledged and every event is stored once.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/measure-lib.sh
. scripts/measure-lib.sh

collectord=build/release/collector/atmhealth-collector
swarm=build/release/tests/bench/atmhealth-agent-swarm
agents=50
events_per_agent=2000
batch=16
window=4
duration_limit=120
raw_rows=200000
perf_seconds=0
perf_pid=
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
number() {
  case "$2" in ''|*[!0-9]*) echo "measure-pg-collectors: $1: \"$2\" is not a number" >&2; exit 2 ;; esac
}
while [ $# -gt 0 ]; do
  case "$1" in
    --collector) collectord=$2; shift 2 ;;
    --swarm) swarm=$2; shift 2 ;;
    --agents) number "$1" "$2"; agents=$2; shift 2 ;;
    --events-per-agent) number "$1" "$2"; events_per_agent=$2; shift 2 ;;
    --batch) number "$1" "$2"; batch=$2; shift 2 ;;
    --window) number "$1" "$2"; window=$2; shift 2 ;;
    --duration-limit) number "$1" "$2"; duration_limit=$2; shift 2 ;;
    --raw-rows) number "$1" "$2"; raw_rows=$2; shift 2 ;;
    --perf) number "$1" "$2"; perf_seconds=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "measure-pg-collectors: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
for program in "$collectord" "$swarm"; do
  if [ ! -x "$program" ]; then echo "measure-pg-collectors: $program is missing" >&2; exit 2; fi
done
bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "measure-pg-collectors: no PostgreSQL server found under /usr/lib/postgresql" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pgcollectors.XXXXXX")
chmod 755 "$work"
as_server=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$work"
  as_server=(runuser -u postgres --)
fi
measure_cleanup_more() {
  "${as_server[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
}
measure_trap_cleanup

"${as_server[@]}" "$bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C \
  >"$work/initdb.log" 2>&1
"${as_server[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
  -o "-k $work -p 5432 -c listen_addresses=''" start >/dev/null
url="host=$work port=5432 user=postgres dbname=postgres"
sql() { psql -X -q -At "$url" "$@"; }

ports=()
for c in a b; do
  mkdir -p "$work/$c"
  printf '[listen]\nplaintext = true\nmax_sessions = 10000\n[store]\nbackend = "postgresql"\nurl = "%s"\n' \
    "$url" >"$work/$c/collector.toml"
  "$collectord" --config "$work/$c/collector.toml" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    --ready-file "$work/$c/ready.json" --log-level warn >"$work/$c/log" 2>&1 &
  started+=($!)
  wait_for 30 test -s "$work/$c/ready.json"
  ports+=("$(ready_port "$work/$c/ready.json" agent_port)")
done
collector_a=${started[0]}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); sync write: $(sync_write_ms "$work") ms"
flags=(--agents "$agents" --events-per-agent "$events_per_agent" --batch "$batch"
       --window "$window" --duration-limit "$duration_limit")
echo "swarm flags, per collector: ${flags[*]}"
ticks_before=$(cpu_ticks "$collector_a")
if [ "$perf_seconds" -gt 0 ]; then
  perf record -F 499 -g -o perf-collector.data -p "$collector_a" -- sleep "$perf_seconds" \
    >"$work/perf.log" 2>&1 &
  perf_pid=$!
fi
status=0
"$swarm" --collector "127.0.0.1:${ports[0]}" --device-prefix a "${flags[@]}" >"$work/a/swarm" 2>&1 &
swarm_a=$!
"$swarm" --collector "127.0.0.1:${ports[1]}" --device-prefix b "${flags[@]}" >"$work/b/swarm" 2>&1 &
swarm_b=$!
wait "$swarm_a" || status=1
wait "$swarm_b" || status=1
ticks_after=$(cpu_ticks "$collector_a")
if [ -n "${perf_pid:-}" ]; then wait "$perf_pid" || true; fi
for c in a b; do echo "--- swarm on collector $c"; cat "$work/$c/swarm"; done
rate() { awk '/events\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^events\/s/) { print $i; exit } }' "$1"; }
rate_a=$(rate "$work/a/swarm"); rate_b=$(rate "$work/b/swarm")
echo "both collectors: $(awk -v a="${rate_a:-0}" -v b="${rate_b:-0}" 'BEGIN { printf "%.0f", a + b }') events/s ($rate_a + $rate_b)"
events=$(sql -c 'SELECT count(*) FROM events')
echo "collector a CPU: $(( (ticks_after - ticks_before) * 1000 / $(getconf CLK_TCK) )) ms"

expected=$(( 2 * agents * events_per_agent ))
distinct=$(sql -c 'SELECT count(*) FROM (SELECT DISTINCT device_id, buffer_id, seq FROM events) AS d')
echo "stored: $events rows, $distinct distinct (device, buffer, seq), $expected sent"
if [ "$events" != "$expected" ] || [ "$distinct" != "$expected" ]; then
  echo "measure-pg-collectors: NOT exactly once" >&2
  status=1
fi

# The raw ceiling, on the rows just stored.
sql -c "CREATE TABLE raw_source AS SELECT * FROM events LIMIT $raw_rows"
rows=$(sql -c 'SELECT count(*) FROM raw_source')
sql -c '\copy raw_source TO '"'$work/raw.csv'"' csv'
sql -c 'CREATE TABLE raw_copy (LIKE events INCLUDING ALL)' \
    -c 'CREATE TABLE raw_insert (LIKE events INCLUDING ALL)'
pg_dump -h "$work" -p 5432 -U postgres --data-only --rows-per-insert=1000 \
  --on-conflict-do-nothing -t raw_source postgres |
  sed 's/INSERT INTO public\.raw_source /INSERT INTO public.raw_insert /' >"$work/raw.sql"
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
start=$(date +%s%N); sql -c '\copy raw_copy FROM '"'$work/raw.csv'"' csv'; end=$(date +%s%N)
copy_s=$(seconds "$start" "$end")
start=$(date +%s%N); psql -X -q "$url" -f "$work/raw.sql" >/dev/null; end=$(date +%s%N)
insert_s=$(seconds "$start" "$end")
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
echo "raw COPY: $rows rows in $copy_s s: $(per_s "$rows" "$copy_s") rows/s"
echo "raw INSERT of 1,000 rows per statement: $(sql -c 'SELECT count(*) FROM raw_insert') rows in $insert_s s: $(per_s "$rows" "$insert_s") rows/s"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
