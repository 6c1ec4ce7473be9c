// The rule model: a watcher reports measurements, a rule turns those of one
// subject into alert events. There are three kinds of rule and one lifecycle:
//
//   ThresholdRule  a number against warning and critical levels, with
//                  hysteresis and a "for" duration (percent used, hours
//                  until full, transactions per second, ...)
//   StateRule      a RedundancyState (redundant, degraded, failed over,
//                  split brain, down), each state with its own severity and
//                  customer impact from the config
//   ChangeRule     a fingerprint of content (a file's SHA-256): each change
//                  is a notice, nothing fires or resolves
//
// All are evaluated when a measurement arrives (Evaluate) and on time (Tick):
// a level that has held for its "for" duration fires without waiting for the
// next measurement, and a subject that stopped reporting goes stale after
// Staleness::after and then keeps, resolves or fires its alert as configured.
//
// An event is emitted only when an alert fires, changes severity (or state),
// or resolves, or a change rule's content changes. Every event carries kind, subject, value,
// threshold, unit, the FSA category and the customer impact.
#ifndef ATMHEALTH_AGENT_RULES_RULE_H_
#define ATMHEALTH_AGENT_RULES_RULE_H_

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/watch/measurement.h"
#include "atmhealth/v1/device.pb.h"
#include "atmhealth/v1/event.pb.h"

namespace atmhealth::agent {

// What a rule concludes about a subject that has not been measured for
// `after`. The silence is judged once; the next measurement takes over again.
struct Staleness {
  enum class Outcome {
    kKeep,     // the alert stays as it is (another rule reports the silence)
    kResolve,  // a firing alert resolves: the subject is gone, so is its problem
    kFire,     // the silence itself is the failure (a peer gone, a feed silent)
  };
  std::chrono::milliseconds after{0};  // 0: never stale
  Outcome outcome = Outcome::kKeep;
  // kFire of a threshold rule: the severity it fires at.
  v1::Severity severity = v1::SEVERITY_CRITICAL;
  // kFire of a state rule: the state the silent subject is taken to be in.
  RedundancyState state = RedundancyState::kDown;
};

// The customer services an alert takes away or slows down.
struct Impact {
  std::vector<v1::CustomerService> unavailable;
  std::vector<v1::CustomerService> degraded;
};

struct ThresholdSpec {
  // The FSA category is required: a spec without one does not compile, and
  // RuleSet refuses FAILURE_CATEGORY_UNSPECIFIED.
  explicit ThresholdSpec(v1::FailureCategory category_) : category(category_) {}

  double warning =
      0;  // level at or above which (below, if !higher_is_worse) the alert is a warning
  double critical = 0;    // level for critical; must be at least as bad as `warning`
  double hysteresis = 0;  // how far back past a threshold the value must go to leave a level
  std::chrono::milliseconds for_duration{0};  // how long a worse level must hold before it fires
  bool higher_is_worse = true;
  v1::FailureCategory category;
  // Services lost while the alert is critical; while it is a warning they are
  // reported degraded.
  std::vector<v1::CustomerService> impact_unavailable;
  // Services slowed while the alert fires at any level.
  std::vector<v1::CustomerService> impact_degraded;
  Staleness staleness;
};

// What being in one state means.
struct StateOutcome {
  // SEVERITY_UNSPECIFIED (or INFO): the state is no alert; reaching it
  // resolves one that fires.
  v1::Severity severity = v1::SEVERITY_UNSPECIFIED;
  Impact impact;  // services lost or slowed while in this state
};

struct StateSpec {
  // The FSA category is required, as for ThresholdSpec.
  explicit StateSpec(v1::FailureCategory category_);

  v1::FailureCategory category;
  // Indexed by RedundancyState. kRedundant is never an alert. Defaults:
  // degraded, recovering and failed over are warnings, split brain and down critical,
  // with no customer impact until the config names one.
  std::array<StateOutcome, kRedundancyStateCount> outcomes;
  // How long a state must hold before it fires (a link that flaps for a
  // second is not a lost spare). Resolving is immediate.
  std::chrono::milliseconds for_duration{0};
  Staleness staleness;

  StateOutcome& outcome(RedundancyState state) { return outcomes[static_cast<int>(state)]; }
  const StateOutcome& outcome(RedundancyState state) const {
    return outcomes[static_cast<int>(state)];
  }
};

// What a change of a watched thing's content means (ChangeRule).
struct ChangeSpec {
  // The FSA category is required, as for ThresholdSpec.
  explicit ChangeSpec(v1::FailureCategory category_) : category(category_) {}

  v1::FailureCategory category;
  v1::Severity severity = v1::SEVERITY_WARNING;  // of the notice of a change
  Staleness staleness;                           // never stale: nothing to resolve
};

// One rule a watcher declares: the alert of one kind and subject.
struct RuleDefinition {
  v1::AlertKind kind = v1::ALERT_KIND_UNSPECIFIED;
  std::string subject;
  std::variant<ThresholdSpec, StateSpec, ChangeSpec> spec;
};

// The state of one alert (one kind and subject). Not thread-safe.
class Rule {
 public:
  Rule(v1::AlertKind kind, std::string subject);
  virtual ~Rule() = default;
  Rule(const Rule&) = delete;
  Rule& operator=(const Rule&) = delete;

  // Feeds one measurement taken at `now`. Returns the event to record when
  // the alert fires, changes, or resolves; nullopt otherwise. The event has
  // no seq yet (the store assigns it) and carries `now`'s timestamps.
  std::optional<v1::Event> Evaluate(const Measurement& measurement,
                                    std::chrono::system_clock::time_point wall_now,
                                    std::chrono::steady_clock::time_point monotonic_now);
  // Evaluates on time: a pending level whose "for" duration has passed
  // fires; a subject silent for its staleness limit gets its outcome.
  std::optional<v1::Event> Tick(std::chrono::system_clock::time_point wall_now,
                                std::chrono::steady_clock::time_point monotonic_now);
  // Carries on an alert that fired when the agent last ran.
  virtual void Restore(const v1::Event& firing) = 0;

  v1::AlertKind kind() const { return kind_; }
  const std::string& subject() const { return subject_; }
  const std::string& alert_key() const { return alert_key_; }
  v1::Severity firing_severity() const { return firing_; }  // UNSPECIFIED when not firing
  virtual v1::FailureCategory category() const = 0;
  // The services taken away or slowed right now (nothing when not firing).
  virtual Impact CurrentImpact() const = 0;
  // True once the subject has been silent for its staleness limit, until
  // it is measured again.
  bool stale() const { return stale_; }
  // The last measurement of the subject; nullopt before the first.
  const std::optional<Measurement>& last_measurement() const { return last_; }
  // The watcher that declared the rule; empty for one set directly.
  const std::string& owner() const { return owner_; }

 protected:
  // The kind-specific halves of Evaluate and Tick.
  virtual std::optional<v1::Event> OnMeasurement(
      const Measurement& measurement, std::chrono::system_clock::time_point wall_now,
      std::chrono::steady_clock::time_point monotonic_now) = 0;
  virtual std::optional<v1::Event> OnSilence(
      std::chrono::milliseconds silent_for, std::chrono::system_clock::time_point wall_now,
      std::chrono::steady_clock::time_point monotonic_now) = 0;
  virtual bool pending() const = 0;
  virtual const Staleness& staleness() const = 0;

  // An event of this alert with every field set from the arguments; the
  // subject, summary and context are made valid UTF-8 within the schema's
  // limits.
  v1::Event MakeEvent(v1::AlertState state, v1::Severity severity, double value, double threshold,
                      v1::Unit unit, const Impact* impact, std::string_view summary,
                      const std::vector<std::pair<std::string, std::string>>& context,
                      std::chrono::system_clock::time_point wall_now,
                      std::chrono::steady_clock::time_point monotonic_now) const;
  // The resolved event of a silent subject whose staleness outcome is kResolve.
  std::optional<v1::Event> ResolveSilent(std::chrono::milliseconds silent_for, double threshold,
                                         std::chrono::system_clock::time_point wall_now,
                                         std::chrono::steady_clock::time_point monotonic_now);

  v1::AlertKind kind_;
  std::string subject_;
  std::string alert_key_;
  v1::Severity firing_ = v1::SEVERITY_UNSPECIFIED;
  // The last measurement, for evaluation on time and for silent subjects.
  std::optional<Measurement> last_;
  // When the subject was last measured (or the rule first ticked).
  std::optional<std::chrono::steady_clock::time_point> last_seen_;
  bool stale_ = false;
  // The watcher that declared the rule (RuleSet::Declare); empty for Set.
  std::string owner_;

  friend class RuleSet;
};

// "<kind short name>:<subject>", e.g. "storage:/var".
std::string AlertKey(v1::AlertKind kind, const std::string& subject);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_RULES_RULE_H_
