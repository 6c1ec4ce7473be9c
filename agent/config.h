// atmhealthd's configuration: a TOML file, validated completely at start.
// Every error names the file, the line and the key:
//   atmhealthd.toml:14: storage.filesystem[1].critical: must be above warning (80)
#ifndef ATMHEALTH_AGENT_CONFIG_H_
#define ATMHEALTH_AGENT_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/diagnostics/diagnostics_config.h"
#include "atmhealth/v1/device.pb.h"
#include "atmhealth/v1/event.pb.h"
#include "platform/config_values.h"
#include "platform/status.h"

namespace atmhealth::agent {

struct DeviceConfig {
  std::string id;    // [device] id; defaults to the host name
  std::string site;  // [device] site; defaults to "unassigned"
  v1::DeviceKind kind = v1::DEVICE_KIND_BRANCH_SERVER;
  // [device] services: what customers can do at this device.
  std::vector<v1::CustomerService> services;
  friend bool operator==(const DeviceConfig&, const DeviceConfig&) = default;
};

struct StoreConfig {
  std::string path;                                // [store] path, SQLite file
  std::uint64_t max_bytes = 64ull * 1024 * 1024;   // [store] max_bytes, "64MiB" or bytes
  std::chrono::milliseconds commit_interval{200};  // [store] commit_interval
  std::size_t max_pending_events = 10000;          // [store] max_pending_events
  // [store] max_pending_bytes: memory for events waiting while the disk
  // refuses writes, bytes; whichever of this and max_pending_events is
  // reached first bounds the wait.
  std::uint64_t max_pending_bytes = 8ull * 1024 * 1024;
  friend bool operator==(const StoreConfig&, const StoreConfig&) = default;
};

// A collector's address: a host name or an IP address, and a port 1..65535.
using CollectorEndpoint = platform::HostPort;

struct UplinkConfig {
  // [uplink] collectors = ["host:port", ...]: tried in order, then around.
  std::vector<CollectorEndpoint> collectors;
  // [uplink] plaintext = true: plain TCP. Must be said explicitly; every
  // start then logs a warning.
  bool plaintext = false;
  // Mutual TLS 1.3 (unless plaintext), PEM files (docs/tls.md):
  std::string ca;           // [uplink] ca: CA certificate(s) the collector's chain ends in
  std::string certificate;  // [uplink] certificate: this device's; its CN is the device id
  std::string private_key;  // [uplink] private_key: its key, unencrypted
  // [uplink] server_name: the name the collector's certificate must carry
  // when it is not the host in `collectors` (e.g. collectors are dialled by
  // IP address). Empty: the host of each collector.
  std::string server_name;
  std::chrono::milliseconds connect_timeout{5000};      // [uplink] connect_timeout
  std::chrono::milliseconds io_timeout{15000};          // [uplink] io_timeout: a silent collector
  std::chrono::milliseconds heartbeat_interval{10000};  // [uplink] heartbeat_interval
  std::chrono::milliseconds backoff_initial{500};       // [uplink] backoff_initial
  std::chrono::milliseconds backoff_max{30000};         // [uplink] backoff_max
  std::size_t batch_events = 256;                       // [uplink] batch_events
  std::size_t window_batches = 4;             // [uplink] window_batches: unacked batches in flight
  std::size_t max_frame_bytes = 1024 * 1024;  // [uplink] max_frame_bytes
  friend bool operator==(const UplinkConfig&, const UplinkConfig&) = default;
};

// The settings of one watcher, parsed from its own section by its kind
// (watch/watcher_registry.h); each kind derives its own.
class WatcherSettings {
 public:
  virtual ~WatcherSettings() = default;
  // [<section>] interval: between two samples of this watcher.
  std::chrono::milliseconds interval{10000};
  // What the watcher would watch, one line each, for --check-config.
  virtual std::vector<std::string> Describe() const = 0;

  // An alert the watcher raises whatever it finds, known from its config
  // (a listed bond, a named link group). Two watchers naming the same alert
  // (kind and subject) would mix their states in one alert: ParseWatchers
  // refuses that, naming both places.
  struct NamedSubject {
    v1::AlertKind kind = v1::ALERT_KIND_UNSPECIFIED;
    std::string subject;
    std::string where;  // "<file>:<line>: <key path>"
  };
  std::vector<NamedSubject> named_subjects;
};

// One configured watcher: its section name and its settings.
struct WatcherConfig {
  std::string name;  // the section, e.g. "storage"
  std::shared_ptr<const WatcherSettings> settings;
};

// [control]: the local control socket atmhealthctl talks to (status,
// drill). A Unix stream socket only: the agent never listens on TCP.
struct ControlConfig {
  bool enabled = true;  // [control] enabled
  // [control] socket; empty: "control.sock" beside the event buffer
  // (ControlSocketPath).
  std::string socket;
  std::uint32_t socket_mode = 0660;  // [control] socket_mode: octal permission bits
  std::string socket_group;          // [control] socket_group; empty: the agent's own group
  std::size_t max_clients = 4;       // [control] max_clients: connections served at once
  friend bool operator==(const ControlConfig&, const ControlConfig&) = default;
};

struct LogConfig {
  std::string level = "info";  // [log] level: trace, debug, info, warn, error
  // Where the log goes when not under systemd (under systemd: the journal);
  // empty: stderr. platform/log_output.h.
  std::string file;
  std::uint64_t max_file_bytes = 10 * 1024 * 1024;  // bytes per file before it rotates
  std::size_t max_files = 5;                        // rotated files kept
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct AgentConfig {
  std::string source;  // where the config came from, for messages
  DeviceConfig device;
  StoreConfig store;
  UplinkConfig uplink;
  LogConfig log;
  ControlConfig control;
  DiagnosticsConfig diagnostics;
  // Every watcher whose section turns it on, in registry order.
  std::vector<WatcherConfig> watchers;

  // The settings of the watcher `name`, as its kind's type; nullptr when
  // that watcher is not configured.
  template <typename Settings>
  const Settings* Watcher(std::string_view name) const {
    for (const WatcherConfig& watcher : watchers) {
      if (watcher.name == name) return dynamic_cast<const Settings*>(watcher.settings.get());
    }
    return nullptr;
  }
};

// Where the daemon listens for atmhealthctl: [control] socket, or
// "control.sock" in the event buffer's directory.
std::string ControlSocketPath(const AgentConfig& config);

// Parses and validates `text`; `source` names it in errors (a file name).
// With `problems`, reading goes on past a section with a problem and the
// first problem of every section is appended there (for --check-config);
// the result is then the first of them.
Result<AgentConfig> ParseAgentConfig(std::string_view text, std::string_view source,
                                     std::vector<Error>* problems = nullptr);
// Reads and parses a file.
Result<AgentConfig> LoadAgentConfig(const std::string& path,
                                    std::vector<Error>* problems = nullptr);
// The embedded defaults: every data filesystem of this machine, a collector
// on 127.0.0.1:7411 in plaintext, the buffer in /var/lib/atmhealth.
AgentConfig DefaultAgentConfig();

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_CONFIG_H_
