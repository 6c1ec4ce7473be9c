// State rules: the alert of something redundant, from the RedundancyState
// its watcher reports. Each state's severity and customer impact come from
// the config (StateSpec); redundant is never an alert.
#ifndef ATMHEALTH_AGENT_RULES_STATE_RULE_H_
#define ATMHEALTH_AGENT_RULES_STATE_RULE_H_

#include <chrono>
#include <optional>
#include <string>

#include "agent/rules/rule.h"

namespace atmhealth::agent {

// Events:
//   a state whose outcome has a severity, held for for_duration: FIRING at
//     that severity with that impact, context "state" = the state's name;
//   a change to another alerting state: FIRING again (failed over after
//     degraded is news even at the same severity);
//   a state without severity (redundant): RESOLVED at once.
// Measurements without a state are ignored. Not thread-safe.
class StateRule final : public Rule {
 public:
  StateRule(v1::AlertKind kind, std::string subject, StateSpec spec);

  const StateSpec& spec() const { return spec_; }
  void set_spec(StateSpec spec) { spec_ = std::move(spec); }
  // The state of the firing alert; nullopt when not firing (or restored
  // from an event that did not say).
  std::optional<RedundancyState> firing_state() const { return state_; }

  void Restore(const v1::Event& firing) override;
  v1::FailureCategory category() const override { return spec_.category; }
  Impact CurrentImpact() const override;

 protected:
  std::optional<v1::Event> OnMeasurement(
      const Measurement& measurement, std::chrono::system_clock::time_point wall_now,
      std::chrono::steady_clock::time_point monotonic_now) override;
  std::optional<v1::Event> OnSilence(std::chrono::milliseconds silent_for,
                                     std::chrono::system_clock::time_point wall_now,
                                     std::chrono::steady_clock::time_point monotonic_now) override;
  bool pending() const override { return pending_.has_value(); }
  const Staleness& staleness() const override { return spec_.staleness; }

 private:
  v1::Event Fire(RedundancyState state, const Measurement& measurement, std::string_view note,
                 std::chrono::system_clock::time_point wall_now,
                 std::chrono::steady_clock::time_point monotonic_now);

  StateSpec spec_;
  std::optional<RedundancyState> state_;    // of the firing alert
  std::optional<RedundancyState> pending_;  // an alerting state waiting for for_duration
  std::chrono::steady_clock::time_point pending_since_{};
};

// Whether a state's outcome is an alert.
bool IsAlert(const StateOutcome& outcome);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_RULES_STATE_RULE_H_
