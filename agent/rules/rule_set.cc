#include "agent/rules/rule_set.h"

#include <set>
#include <utility>

#include "proto/names.h"
#include "proto/schema_limits.h"

namespace atmhealth::agent {
namespace {

// The event that closes an alert nobody watches any more.
v1::Event Closed(const v1::Event& firing, const platform::Clock& clock) {
  v1::Event resolved = firing;
  resolved.set_seq(0);
  resolved.set_state(v1::ALERT_STATE_RESOLVED);
  resolved.set_wall_time_unix_ns(platform::UnixNanos(clock.WallNow()));
  resolved.set_monotonic_ns(platform::MonotonicNanos(clock.MonotonicNow()));
  resolved.set_boot_id(platform::BootId());
  resolved.clear_impact();
  resolved.clear_context();
  resolved.set_summary(wire::SchemaText(firing.subject() + ": no longer watched; alert closed",
                                        wire::kMaxSummaryBytes));
  return resolved;
}

}  // namespace

Status RuleSet::Set(RuleDefinition definition) { return Set(std::move(definition), ""); }

Status RuleSet::Set(v1::AlertKind kind, const std::string& subject, ThresholdSpec spec) {
  return Set(RuleDefinition{kind, subject, std::move(spec)});
}

Status RuleSet::Set(v1::AlertKind kind, const std::string& subject, StateSpec spec) {
  return Set(RuleDefinition{kind, subject, std::move(spec)});
}

Status RuleSet::Set(RuleDefinition definition, std::string_view owner) {
  std::string key = AlertKey(definition.kind, definition.subject);
  const v1::FailureCategory category =
      std::visit([](const auto& spec) { return spec.category; }, definition.spec);
  if (definition.kind == v1::ALERT_KIND_UNSPECIFIED) {
    return Error(ErrorCode::kInvalidArgument, "rule " + key + ": no alert kind");
  }
  if (category == v1::FAILURE_CATEGORY_UNSPECIFIED || !v1::FailureCategory_IsValid(category)) {
    return Error(ErrorCode::kInvalidArgument,
                 "rule " + key + ": no FSA failure category; every alert must carry one");
  }
  auto existing = rules_.find(key);
  if (auto* threshold = std::get_if<ThresholdSpec>(&definition.spec)) {
    if (existing == rules_.end()) {
      existing = rules_
                     .emplace(key, std::make_unique<ThresholdRule>(
                                       definition.kind, definition.subject, std::move(*threshold)))
                     .first;
    } else if (auto* rule = dynamic_cast<ThresholdRule*>(existing->second.get())) {
      rule->set_spec(std::move(*threshold));
    } else {
      return Error(ErrorCode::kInvalidArgument, "rule " + key + " is not a threshold rule");
    }
  } else if (auto* state = std::get_if<StateSpec>(&definition.spec)) {
    if (existing == rules_.end()) {
      existing = rules_
                     .emplace(key, std::make_unique<StateRule>(definition.kind, definition.subject,
                                                               std::move(*state)))
                     .first;
    } else if (auto* rule = dynamic_cast<StateRule*>(existing->second.get())) {
      rule->set_spec(std::move(*state));
    } else {
      return Error(ErrorCode::kInvalidArgument, "rule " + key + " is not a state rule");
    }
  } else {
    auto& change = std::get<ChangeSpec>(definition.spec);
    if (existing == rules_.end()) {
      existing = rules_
                     .emplace(key, std::make_unique<ChangeRule>(definition.kind, definition.subject,
                                                                std::move(change)))
                     .first;
    } else if (auto* rule = dynamic_cast<ChangeRule*>(existing->second.get())) {
      rule->set_spec(std::move(change));
    } else {
      return Error(ErrorCode::kInvalidArgument, "rule " + key + " is not a change rule");
    }
  }
  existing->second->owner_ = std::string(owner);
  return OkStatus();
}

Status RuleSet::Declare(std::string_view owner, std::vector<RuleDefinition> definitions,
                        const platform::Clock& clock, std::vector<v1::Event>& out) {
  Status first_error = OkStatus();
  std::set<std::string, std::less<>> declared;
  for (RuleDefinition& definition : definitions) {
    declared.insert(AlertKey(definition.kind, definition.subject));
    Status status = Set(std::move(definition), owner);
    if (!status.ok() && first_error.ok()) first_error = std::move(status);
  }
  for (auto it = rules_.begin(); it != rules_.end();) {
    Rule& rule = *it->second;
    if (rule.owner_ != owner || declared.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (rule.firing_severity() != v1::SEVERITY_UNSPECIFIED) {
      v1::Event firing;
      firing.set_severity(rule.firing_severity());
      firing.set_kind(rule.kind());
      firing.set_subject(wire::SchemaText(rule.subject(), wire::kMaxSubjectBytes));
      firing.set_alert_key(rule.alert_key());
      firing.set_category(rule.category());
      if (rule.last_) {
        firing.set_value(rule.last_->value);
        firing.set_unit(rule.last_->unit);
      }
      out.push_back(Closed(firing, clock));
    }
    it = rules_.erase(it);
  }
  return first_error;
}

std::vector<v1::Event> RuleSet::Restore(const std::vector<v1::Event>& firing,
                                        const platform::Clock& clock) {
  std::vector<v1::Event> closed;
  for (const v1::Event& event : firing) {
    if (auto rule = rules_.find(event.alert_key()); rule != rules_.end()) {
      rule->second->Restore(event);
      continue;
    }
    // A change rule's latest notice has nothing to close.
    if (event.state() == v1::ALERT_STATE_FIRING) closed.push_back(Closed(event, clock));
  }
  return closed;
}

void RuleSet::Evaluate(const std::vector<Measurement>& measurements, const platform::Clock& clock,
                       std::vector<v1::Event>& out) {
  const auto wall_now = clock.WallNow();
  const auto monotonic_now = clock.MonotonicNow();
  for (const Measurement& measurement : measurements) {
    auto rule = rules_.find(AlertKey(measurement.kind, measurement.subject));
    if (rule == rules_.end()) continue;
    if (auto event = rule->second->Evaluate(measurement, wall_now, monotonic_now)) {
      out.push_back(std::move(*event));
    }
  }
}

void RuleSet::Tick(const platform::Clock& clock, std::vector<v1::Event>& out) {
  const auto wall_now = clock.WallNow();
  const auto monotonic_now = clock.MonotonicNow();
  for (auto& [key, rule] : rules_) {
    if (auto event = rule->Tick(wall_now, monotonic_now)) out.push_back(std::move(*event));
  }
}

const Rule* RuleSet::Find(std::string_view alert_key) const {
  auto rule = rules_.find(alert_key);
  return rule == rules_.end() ? nullptr : rule->second.get();
}

const ThresholdSpec* RuleSet::FindThreshold(std::string_view alert_key) const {
  const auto* rule = dynamic_cast<const ThresholdRule*>(Find(alert_key));
  return rule == nullptr ? nullptr : &rule->spec();
}

}  // namespace atmhealth::agent
