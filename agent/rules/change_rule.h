// Change rules: a watched thing whose content matters, not its level (the
// ATM application's configuration, a program file). Its watcher reports a
// fingerprint (a SHA-256); a different fingerprint is a notice with the old
// and the new one, FSA category "program update". Nothing fires or resolves:
// each change is a record in itself.
#ifndef ATMHEALTH_AGENT_RULES_CHANGE_RULE_H_
#define ATMHEALTH_AGENT_RULES_CHANGE_RULE_H_

#include <optional>
#include <string>

#include "agent/rules/rule.h"

namespace atmhealth::agent {

// Events (all ALERT_STATE_NOTICE, context "fingerprint" = the new one):
//   the first fingerprint of a run with none restored: at INFO, "watching";
//   a fingerprint different from the last one: at the spec's severity, with
//     context "previous_fingerprint" (and the watcher's own context).
// Measurements without a fingerprint are ignored. Not thread-safe.
class ChangeRule final : public Rule {
 public:
  ChangeRule(v1::AlertKind kind, std::string subject, ChangeSpec spec);

  const ChangeSpec& spec() const { return spec_; }
  void set_spec(ChangeSpec spec) { spec_ = std::move(spec); }
  // The last fingerprint seen; nullopt before the first (or a restore).
  const std::optional<std::string>& fingerprint() const { return fingerprint_; }

  // Carries on from the latest notice of a previous run (EventStore keeps
  // it with the firing alerts), so that a change made while the agent was
  // stopped is still reported.
  void Restore(const v1::Event& latest) override;
  v1::FailureCategory category() const override { return spec_.category; }
  Impact CurrentImpact() const override { return {}; }

 protected:
  std::optional<v1::Event> OnMeasurement(
      const Measurement& measurement, std::chrono::system_clock::time_point wall_now,
      std::chrono::steady_clock::time_point monotonic_now) override;
  std::optional<v1::Event> OnSilence(std::chrono::milliseconds,
                                     std::chrono::system_clock::time_point,
                                     std::chrono::steady_clock::time_point) override {
    return std::nullopt;
  }
  bool pending() const override { return false; }
  const Staleness& staleness() const override { return spec_.staleness; }

 private:
  ChangeSpec spec_;
  std::optional<std::string> fingerprint_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_RULES_CHANGE_RULE_H_
