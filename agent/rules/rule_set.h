// All rules of an agent, keyed by alert key, fed by every watcher.
#ifndef ATMHEALTH_AGENT_RULES_RULE_SET_H_
#define ATMHEALTH_AGENT_RULES_RULE_SET_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/rules/change_rule.h"
#include "agent/rules/rule.h"
#include "agent/rules/state_rule.h"
#include "agent/rules/threshold_rule.h"
#include "platform/clock.h"
#include "platform/status.h"

namespace atmhealth::agent {

// Not thread-safe: the sampler thread owns it.
class RuleSet {
 public:
  // Adds the rule of one kind and subject, or gives an existing one its new
  // spec (a firing alert stays firing, so that the next measurement resolves
  // or re-grades it instead of leaving it open forever). Fails when the spec
  // has no FSA category or the key already holds the other kind of rule.
  Status Set(RuleDefinition definition);
  Status Set(v1::AlertKind kind, const std::string& subject, ThresholdSpec spec);
  Status Set(v1::AlertKind kind, const std::string& subject, StateSpec spec);

  // Makes the rules declared by `owner` (a watcher's name) exactly
  // `definitions`: new ones are added, existing ones keep their state under
  // their new spec, and those `owner` no longer declares are removed — a
  // firing one resolves ("no longer watched"), the event appended to `out`.
  // A definition that Set refuses is skipped and the first such error
  // returned; the others still apply.
  Status Declare(std::string_view owner, std::vector<RuleDefinition> definitions,
                 const platform::Clock& clock, std::vector<v1::Event>& out);

  // Evaluates each measurement against its rule; measurements with no rule are
  // ignored. Appends the resulting events to `out`.
  void Evaluate(const std::vector<Measurement>& measurements, const platform::Clock& clock,
                std::vector<v1::Event>& out);

  // Evaluates every rule on time (see Rule::Tick): "for" windows that have
  // passed fire, silent subjects get their staleness outcome.
  void Tick(const platform::Clock& clock, std::vector<v1::Event>& out);

  // Carries on from a previous run: each event (the latest firing event of an
  // alert, from EventStore::FiringAlerts) puts its rule back in that firing
  // state, so the next measurement re-grades or resolves it. Alerts whose rule
  // is gone (the config no longer watches them) are resolved at once: the
  // returned events say so.
  std::vector<v1::Event> Restore(const std::vector<v1::Event>& firing,
                                 const platform::Clock& clock);

  // The rule of an alert key; nullptr when there is none.
  const Rule* Find(std::string_view alert_key) const;
  // The threshold spec of an alert key; nullptr when there is none or the
  // rule is a state rule.
  const ThresholdSpec* FindThreshold(std::string_view alert_key) const;

  // Every rule, for the service status in heartbeats.
  const std::map<std::string, std::unique_ptr<Rule>, std::less<>>& rules() const { return rules_; }

 private:
  Status Set(RuleDefinition definition, std::string_view owner);

  std::map<std::string, std::unique_ptr<Rule>, std::less<>> rules_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_RULES_RULE_SET_H_
