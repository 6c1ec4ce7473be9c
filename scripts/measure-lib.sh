# shellcheck shell=bash disable=SC2154  # work and http_port are the caller's
# Shell helpers shared by the measuring scripts (measure-footprint.sh,
# measure-drain.sh, measure-tls-idle.sh); sourced, never run. Bash only.
#
# The caller sets `work` (a scratch directory) and appends the pid of every
# process it starts to `started`; measure_cleanup, installed as the EXIT
# trap by measure_trap_cleanup, stops them (TERM, then KILL after 10 s) and
# removes `work`.

started=()
measure_cleanup() {
  local pid
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if declare -F measure_cleanup_more >/dev/null; then measure_cleanup_more; fi
  rm -rf "$work"
}
measure_trap_cleanup() {
  trap measure_cleanup EXIT
  trap 'exit 130' INT TERM
}

# status_field PID FIELD: the number of a "FIELD: N" line of /proc/PID/status (kB or a count).
status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# CPU time (user + system) of PID, in clock ticks. Fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }
wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local limit=$(( $1 * 10 )); shift
  for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.1; done
  return 1
}
# metric NAME: one sample of the collector's /metrics on $http_port, over
# bash's /dev/tcp; the values of all its label sets summed (0: absent).
metric() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$http_port"
  printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  line=$(timeout 5 cat <&3 | tr -d '\r' |
    awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2; n++ } END { if (n) print s }')
  exec 3<&-
  echo "${line:-0}"
}
# ready_port FILE KEY: the port KEY ("agent_port", "http_port") of a
# collector's --ready-file.
ready_port() { sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" "$1"; }
# sync_write_ms DIR: milliseconds per synchronous 4 KiB write in DIR (dd
# oflag=dsync, 200 writes): what every commit of a store there waits for.
sync_write_ms() {
  local s
  s=$( { dd if=/dev/zero of="$1/sync-probe" bs=4k count=200 oflag=dsync 2>&1 >/dev/null; } |
    awk '/copied/ { print $(NF-3) }')
  rm -f "$1/sync-probe"
  awk -v s="$s" 'BEGIN { printf "%.2f", s * 1000 / 200 }'
}

# make_pki DIR DEVICE_ID...: a CA in DIR (scripts/pki.sh), a collector
# certificate for 127.0.0.1 and a device certificate for each DEVICE_ID.
make_pki() {
  local dir=$1 device
  shift
  bash scripts/pki.sh init "$dir" "atmhealth measuring CA" >/dev/null
  bash scripts/pki.sh collector "$dir" collector 127.0.0.1 >/dev/null
  for device in "$@"; do bash scripts/pki.sh device "$dir" "$device" >/dev/null; done
}
# collector_tls DIR: the collector's [tls] section for make_pki's DIR.
collector_tls() {
  printf '[tls]\ncertificate = "%s"\nprivate_key = "%s"\nca = "%s"\ncrl = "%s"\n' \
    "$1/issued/collector.crt" "$1/issued/collector.key" "$1/ca.crt" "$1/crl.pem"
}
# agent_tls DIR DEVICE_ID: the agent's [uplink] TLS lines for make_pki's DIR.
agent_tls() {
  printf 'ca = "%s"\ncertificate = "%s"\nprivate_key = "%s"' \
    "$1/ca.crt" "$1/issued/$2.crt" "$1/issued/$2.key"
}
# start_collector NAME TOML [COMMAND...]: $collectord with config TOML on
# ports of its own, its database, ready file and log $work/NAME.db,
# .ready.json and .log, started through COMMAND if given (nice -n 5, say);
# waits until it listens, then sets collector (its pid), agent_port and
# http_port.
start_collector() {
  local name=$1 toml=$2
  shift 2
  "$@" "$collectord" --config "$toml" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    --db "$work/$name.db" --ready-file "$work/$name.ready.json" --log-level warn \
    >"$work/$name.log" 2>&1 &
  collector=$!
  started+=("$collector")
  if ! wait_for 20 test -s "$work/$name.ready.json"; then
    echo "$(basename "$0"): the collector did not come up:" >&2; cat "$work/$name.log" >&2; exit 1
  fi
  # shellcheck disable=SC2034  # for the caller
  agent_port=$(ready_port "$work/$name.ready.json" agent_port)
  http_port=$(ready_port "$work/$name.ready.json" http_port)
}

# agent_config ID DB PORT SECURITY INTERVAL WATCHED [ALL_MOUNTS]: on stdout,
# the config of an agent with device id ID and buffer DB, streaming to a
# collector on 127.0.0.1:PORT with the [uplink] lines SECURITY ("plaintext =
# true", or its TLS files), a heartbeat and a storage probe every INTERVAL,
# watching WATCHED (warning at 70 %, critical at 90 %) and, with ALL_MOUNTS
# true, every data filesystem too.
agent_config() {
  cat <<TOML
[device]
id = "$1"
site = "measure"
kind = "atm"
services = ["withdrawal", "deposit", "inquiry"]

[store]
path = "$2"
commit_interval = "200ms"

[uplink]
collectors = ["127.0.0.1:$3"]
$4
heartbeat_interval = "$5"

[storage]
interval = "$5"
all_mounts = ${7:-false}

[[storage.filesystem]]
path = "$6"
warning = 70
critical = 90
unavailable = ["withdrawal", "deposit"]
TOML
}
