// Threshold rules turn measurements into alert events: warning and critical
// levels, hysteresis so a value hovering at a threshold does not flap, and a
// "for" duration a level must hold before it fires.
#ifndef ATMHEALTH_AGENT_RULES_THRESHOLD_RULE_H_
#define ATMHEALTH_AGENT_RULES_THRESHOLD_RULE_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/watch/watcher.h"
#include "atmhealth/v1/device.pb.h"
#include "atmhealth/v1/event.pb.h"
#include "platform/clock.h"

namespace atmhealth::agent {

struct ThresholdSpec {
  double warning =
      0;  // level at or above which (below, if !higher_is_worse) the alert is a warning
  double critical = 0;  // level for critical; must be at least as bad as `warning`
  double hysteresis =
      0;  // how far back past a threshold the value must go to leave a level, same unit
  std::chrono::milliseconds for_duration{0};  // how long a worse level must hold before it fires
  bool higher_is_worse = true;
  v1::FailureCategory category = v1::FAILURE_CATEGORY_UNSPECIFIED;
  // Services lost while the alert is critical; while it is a warning they are
  // reported degraded.
  std::vector<v1::CustomerService> impact_unavailable;
  // Services slowed while the alert fires at any level.
  std::vector<v1::CustomerService> impact_degraded;
};

// The state of one alert (one kind and subject). Not thread-safe.
class ThresholdRule {
 public:
  ThresholdRule(v1::AlertKind kind, std::string subject, ThresholdSpec spec);

  // Feeds one measurement taken at `now`. Returns the event to record when
  // the alert fires, changes severity, or resolves; nullopt otherwise. The
  // event has no seq yet (the store assigns it) and carries `now`'s
  // timestamps.
  std::optional<v1::Event> Evaluate(const Measurement& measurement,
                                    std::chrono::system_clock::time_point wall_now,
                                    std::chrono::steady_clock::time_point monotonic_now);

  v1::Severity firing_severity() const { return firing_; }  // UNSPECIFIED when not firing
  const std::string& alert_key() const { return alert_key_; }
  const ThresholdSpec& spec() const { return spec_; }

 private:
  v1::AlertKind kind_;
  std::string subject_;
  std::string alert_key_;
  ThresholdSpec spec_;
  v1::Severity firing_ = v1::SEVERITY_UNSPECIFIED;
  // A worse level seen but not yet held for `for_duration`.
  v1::Severity pending_ = v1::SEVERITY_UNSPECIFIED;
  std::chrono::steady_clock::time_point pending_since_{};
  // Since when the value has held the critical level while pending_ is
  // critical: warning and critical each wait `for_duration` on their own clock.
  std::chrono::steady_clock::time_point critical_since_{};

  friend class RuleSet;  // Set() replaces spec_ and keeps the alert's state.
};

// All rules of an agent, keyed by alert key. Not thread-safe.
class RuleSet {
 public:
  // Adds or replaces the spec for one kind and subject.
  void Set(v1::AlertKind kind, const std::string& subject, ThresholdSpec spec);

  // Evaluates each measurement against its rule; measurements with no rule are
  // ignored. Appends the resulting events to `out`.
  void Evaluate(const std::vector<Measurement>& measurements, const platform::Clock& clock,
                std::vector<v1::Event>& out);

  // Carries on from a previous run: each event (the latest firing event of an
  // alert, from EventStore::FiringAlerts) puts its rule back in that firing
  // state, so the next measurement re-grades or resolves it. Alerts whose rule
  // is gone (the config no longer watches them) are resolved at once: the
  // returned events say so.
  std::vector<v1::Event> Restore(const std::vector<v1::Event>& firing,
                                 const platform::Clock& clock);

  // Every rule, for the service status in heartbeats.
  const std::map<std::string, ThresholdRule>& rules() const { return rules_; }

 private:
  std::map<std::string, ThresholdRule> rules_;
};

// "<kind short name>:<subject>", e.g. "storage:/var".
std::string AlertKey(v1::AlertKind kind, const std::string& subject);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_RULES_THRESHOLD_RULE_H_
