# shellcheck shell=bash disable=SC2154
# Peers of atmhealthd, for scripts/measure-footprint.sh --peers (sourced by
# it, not run on its own). Each peer runs in the foreground with its Debian
# package's default configuration, copied into the scratch directory with
# only its file paths (log, pid, state, data) moved there and its listeners
# bound to 127.0.0.1; collectd a second time with only the df plugin. A peer
# that is not installed is reported as such. Install them (measurement tools,
# not build dependencies) with
#
#   apt-get install --no-install-recommends prometheus-node-exporter zabbix-agent2 collectd monit
#
# and, where systemd runs, keep the services the packages start on install
# from disturbing the machine:
#
#   systemctl disable --now prometheus-node-exporter zabbix-agent2 collectd monit
#
# Uses from measure-footprint.sh (and its scripts/measure-lib.sh): $work, the started array, wait_for.

peer_names=()
peer_pids=()

# peer_start NAME COMMAND...: start COMMAND in the background as peer NAME.
peer_start() {
  local name=$1
  shift
  "$@" >"$work/peer-$name.log" 2>&1 &
  started+=("$!")
  peer_names+=("$name")
  peer_pids+=("$!")
}

# peer_missing NAME PACKAGE: a row saying the peer is not installed.
peer_missing() {
  peer_names+=("$1")
  peer_pids+=("not installed (apt-get install $2)")
}

start_peers() {
  if command -v prometheus-node-exporter >/dev/null; then
    # Its default collectors, scraped as Prometheus does by default: once a
    # minute (scrape_node_exporter; the first scrape 30 s into the window).
    peer_start node_exporter prometheus-node-exporter --web.listen-address=127.0.0.1:0
    node_exporter_pid=$!
  else
    peer_missing node_exporter prometheus-node-exporter
  fi

  if [ -x /usr/sbin/zabbix_agent2 ] && [ -f /etc/zabbix/zabbix_agent2.conf ]; then
    sed -e "s|^LogFile=.*|LogFile=$work/zabbix_agent2.log|" \
      -e "s|^ControlSocket=.*|ControlSocket=$work/zabbix_agent2.sock|" \
      -e "s|^Include=\./|Include=/etc/zabbix/|" \
      /etc/zabbix/zabbix_agent2.conf >"$work/zabbix_agent2.conf"
    printf 'ListenIP=127.0.0.1\nPidFile=%s/zabbix_agent2.pid\n' "$work" >>"$work/zabbix_agent2.conf"
    peer_start zabbix_agent2 /usr/sbin/zabbix_agent2 -c "$work/zabbix_agent2.conf"
  else
    peer_missing zabbix_agent2 zabbix-agent2
  fi

  if [ -x /usr/sbin/collectd ] && [ -f /etc/collectd/collectd.conf ]; then
    mkdir -p "$work/collectd"
    sed -e "s|^#BaseDir .*|BaseDir \"$work/collectd\"|" \
      -e "s|\"/var/lib/collectd/|\"$work/collectd/|" \
      /etc/collectd/collectd.conf >"$work/collectd.conf"
    peer_start collectd /usr/sbin/collectd -f -C "$work/collectd.conf" -P "$work/collectd.pid"
    mkdir -p "$work/collectd-df"
    printf 'BaseDir "%s/collectd-df"\nLoadPlugin df\n' "$work" >"$work/collectd-df.conf"
    peer_start collectd-df-only /usr/sbin/collectd -f -C "$work/collectd-df.conf" -P "$work/collectd-df.pid"
  else
    peer_missing collectd collectd
    peer_missing collectd-df-only collectd
  fi

  if [ -x /usr/bin/monit ] && [ -f /etc/monit/monitrc ]; then
    mkdir -p "$work/monit-events"
    sed -e "s|/var/log/monit.log|$work/monit.log|" \
      -e "s|/var/lib/monit/id|$work/monit.id|" \
      -e "s|/var/lib/monit/state|$work/monit.state|" \
      -e "s|/var/lib/monit/events|$work/monit-events|" \
      /etc/monit/monitrc >"$work/monitrc"
    chmod 600 "$work/monitrc"
    peer_start monit /usr/bin/monit -I -c "$work/monitrc" -p "$work/monit.pid"
  else
    peer_missing monit monit
  fi
  # Give each the time to load its plugins before the window starts.
  sleep 5
  local i
  for i in "${!peer_pids[@]}"; do
    case "${peer_pids[$i]}" in *[!0-9]*) continue ;; esac
    if ! kill -0 "${peer_pids[$i]}" 2>/dev/null; then
      echo "measure-footprint: ${peer_names[$i]} did not stay up:" >&2
      cat "$work/peer-${peer_names[$i]}.log" >&2
      exit 1
    fi
  done
}

# scrape_node_exporter: GET /metrics from node_exporter 30 s from now and
# every 60 s after, in the background (stopped with the rest).
scrape_node_exporter() {
  [ -n "${node_exporter_pid:-}" ] || return 0
  local port
  port=$(ss -Hltnp | awk -v p="pid=$node_exporter_pid," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')
  [ -n "$port" ] || { echo "measure-footprint: node_exporter listens on no port" >&2; exit 1; }
  (
    while :; do
      sleep 30
      exec 4<>"/dev/tcp/127.0.0.1/$port"
      printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&4
      timeout 10 cat <&4 >/dev/null || true
      exec 4<&-
      sleep 30
    done
  ) &
  started+=("$!")
}

# rollup_kb PID FIELD...: the sum of FIELDs of /proc/PID/smaps_rollup, in kB.
rollup_kb() {
  local pid=$1
  shift
  awk -v fields=" $* " 'index(fields, " " substr($1, 1, length($1) - 1) " ") { s += $2 } END { print s + 0 }' \
    "/proc/$pid/smaps_rollup"
}

# footprint_row NAME PID CPU_TICKS_BEFORE: one line of the side-by-side table.
footprint_row() {
  local name=$1 pid=$2 before=$3
  case "$pid" in *[!0-9]*)
    printf '  %-18s %s\n' "$name" "$pid"
    return ;;
  esac
  local ticks=$(($(cpu_ticks "$pid") - before))
  printf '  %-18s %9s %9s %9s %8s %12s\n' "$name" \
    "$(mib "$(rollup_kb "$pid" Rss)")" "$(mib "$(rollup_kb "$pid" Pss)")" \
    "$(mib "$(rollup_kb "$pid" Private_Clean Private_Dirty)")" "$(status_field "$pid" Threads)" \
    "$(awk -v t="$ticks" -v hz="$ticks_per_s" -v s="$idle" 'BEGIN { printf "%.0f ms", t * 1000 / hz * 60 / s }')"
}
