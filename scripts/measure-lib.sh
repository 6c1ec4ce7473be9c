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
