// What `atmhealthctl status` shows, gathered from the components that own
// it, each part on the thread that owns it (agent/daemon.cc):
//   sampler thread  watchers, their rules' states, active alerts, services
//   store thread    buffer use, backlog, oldest undelivered event, degraded
//   main thread     the collector link, the control socket's counters
// Each part is a JSON object; the field names are the status answer's
// contract with atmhealthctl (docs in tools/ctl/status_command.h).
#ifndef ATMHEALTH_AGENT_CONTROL_AGENT_STATUS_H_
#define ATMHEALTH_AGENT_CONTROL_AGENT_STATUS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/control/control_server.h"
#include "agent/diagnostics/snapshotter.h"
#include "agent/rules/rule_set.h"
#include "agent/store/event_store.h"
#include "agent/uplink/uplink.h"
#include "atmhealth/v1/event.pb.h"
#include "atmhealth/v1/session.pb.h"

namespace atmhealth::agent::control {

// The alerts firing now and since when: fed every event the rules emit.
// Sampler thread only.
class ActiveAlerts {
 public:
  struct Alert {
    v1::Event latest;            // the alert's latest firing event
    std::int64_t since_unix_ns;  // when it started firing (first firing event)
  };
  // A firing event starts or updates its alert, a resolved one ends it;
  // notices are not alerts.
  void Observe(const v1::Event& event);
  const std::map<std::string, Alert>& alerts() const { return alerts_; }

 private:
  std::map<std::string, Alert> alerts_;  // by alert key
};

// One watcher's sampling as the daemon schedules it. Sampler thread only.
struct WatcherActivity {
  std::string name;
  std::chrono::milliseconds interval{0};
  std::uint64_t samples = 0;             // since start
  std::int64_t last_sample_unix_ns = 0;  // 0: not sampled yet
  std::size_t last_measurements = 0;     // measurements of the last sample
};

// SIGHUP reloads of the configuration since start. Main thread only.
struct ReloadCounters {
  std::uint64_t applied = 0;
  std::uint64_t refused = 0;      // the file had a problem; the running configuration stayed
  std::string last_refusal;       // its reason, with file:line
  std::int64_t last_unix_ns = 0;  // the last reload, applied or refused
};

// {"watchers": [...], "alerts": [...], "services": [...]}
nlohmann::json SamplerStatus(const std::vector<WatcherActivity>& watchers, const RuleSet& rules,
                             const ActiveAlerts& alerts,
                             const std::vector<v1::ServiceStatus>& services);
// The "buffer" object.
nlohmann::json BufferStatus(const std::string& path, const EventStoreStats& stats);
// The "uplink" object: the link, and the backlog from the buffer's stats.
nlohmann::json LinkStatus(const UplinkLink& link, const UplinkCounters& counters,
                          const EventStoreStats& stats);
// The "config_reload" object.
nlohmann::json ReloadStatus(const ReloadCounters& counters);
// The "diagnostics" object: snapshots taken, skipped, pending.
nlohmann::json DiagnosticsStatus(const Snapshotter::Counters& counters);
// The "control" object.
nlohmann::json ControlStatus(const ControlCounters& counters);
// Why the agent is degraded, one phrase each; empty when it is not.
std::vector<std::string> DegradedReasons(const UplinkLink& link, const EventStoreStats& stats);

}  // namespace atmhealth::agent::control

#endif  // ATMHEALTH_AGENT_CONTROL_AGENT_STATUS_H_
