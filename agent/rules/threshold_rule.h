// Threshold rules: warning and critical levels, hysteresis so a value
// hovering at a threshold does not flap, and a "for" duration a level must
// hold before it fires.
#ifndef ATMHEALTH_AGENT_RULES_THRESHOLD_RULE_H_
#define ATMHEALTH_AGENT_RULES_THRESHOLD_RULE_H_

#include <chrono>
#include <optional>
#include <string>

#include "agent/rules/rule.h"

namespace atmhealth::agent {

// The alert of one numeric measurement. Not thread-safe.
class ThresholdRule final : public Rule {
 public:
  ThresholdRule(v1::AlertKind kind, std::string subject, ThresholdSpec spec);

  const ThresholdSpec& spec() const { return spec_; }
  // A new spec; a firing alert keeps firing so that the next measurement
  // re-grades or resolves it.
  void set_spec(ThresholdSpec spec) { spec_ = std::move(spec); }

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
  bool pending() const override { return pending_ != v1::SEVERITY_UNSPECIFIED; }
  const Staleness& staleness() const override { return spec_.staleness; }

 private:
  ThresholdSpec spec_;
  // A worse level seen but not yet held for `for_duration`.
  v1::Severity pending_ = v1::SEVERITY_UNSPECIFIED;
  std::chrono::steady_clock::time_point pending_since_{};
  // Since when the value has held the critical level while pending_ is
  // critical: warning and critical each wait `for_duration` on their own clock.
  std::chrono::steady_clock::time_point critical_since_{};
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_RULES_THRESHOLD_RULE_H_
