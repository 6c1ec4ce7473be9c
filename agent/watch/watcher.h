// A watcher turns OS facts into measurements. It has one narrow lifecycle:
// it is configured when created, sampled on the agent's schedule, and reports
// what it measured. Thresholds, buffering, retry and delivery live elsewhere
// (rules/, store/, uplink/), never inside a watcher.
#ifndef ATMHEALTH_AGENT_WATCH_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_WATCHER_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atmhealth/v1/event.pb.h"

namespace atmhealth::agent {

// One measured value of one subject, e.g. "percent used of /var".
struct Measurement {
  v1::AlertKind kind = v1::ALERT_KIND_UNSPECIFIED;
  std::string subject;  // mount path, array name, link group, ...
  double value = 0;     // in `unit`
  v1::Unit unit = v1::UNIT_UNSPECIFIED;
  // Diagnostic snapshot attached to the event if this measurement makes an
  // alert fire: (key, value) pairs, a handful at most.
  std::vector<std::pair<std::string, std::string>> context;
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  // Short name for logs and metrics, e.g. "storage".
  virtual std::string_view name() const = 0;
  // Takes one sample and appends what it measured to `out`. A probe that
  // fails is reported as a measurement too (ALERT_KIND_AGENT_HEALTH, value 1
  // while failing, 0 once it works again), so that it alerts like anything
  // else. Must not block longer than the watcher's configured probe limit.
  virtual void Sample(std::vector<Measurement>& out) = 0;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_WATCHER_H_
