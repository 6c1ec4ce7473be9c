#include "agent/rules/state_rule.h"

#include <fmt/format.h>

#include <utility>

#include "platform/config_values.h"
#include "proto/names.h"

namespace atmhealth::agent {
namespace {

// What a state means for the people who run the device.
std::string_view Meaning(RedundancyState state) {
  switch (state) {
    case RedundancyState::kRedundant:
      return "redundant";
    case RedundancyState::kDegraded:
      return "redundancy lost while the service is still up";
    case RedundancyState::kRecovering:
      return "redundancy being rebuilt, not yet safe";
    case RedundancyState::kFailedOver:
      return "failed over, running without a standby";
    case RedundancyState::kSplitBrain:
      return "split brain, both sides active";
    case RedundancyState::kDown:
      return "down";
  }
  return "unknown";
}

std::string Counts(const Measurement& measurement) {
  if (measurement.expected <= 0) return "";
  return fmt::format(" ({:g} of {:g})", measurement.value, measurement.expected);
}

// ": <detail>" when the measurement has one.
std::string Detail(const Measurement& measurement) {
  return measurement.detail.empty() ? "" : ": " + measurement.detail;
}

std::string_view ContextValue(const v1::Event& event, std::string_view key) {
  for (const v1::ContextEntry& entry : event.context()) {
    if (entry.key() == key) return entry.value();
  }
  return {};
}

}  // namespace

bool IsAlert(const StateOutcome& outcome) {
  return outcome.severity == v1::SEVERITY_WARNING || outcome.severity == v1::SEVERITY_CRITICAL;
}

StateRule::StateRule(v1::AlertKind kind, std::string subject, StateSpec spec)
    : Rule(kind, std::move(subject)), spec_(std::move(spec)) {}

void StateRule::Restore(const v1::Event& firing) {
  firing_ = firing.severity();
  state_ = ParseRedundancyState(ContextValue(firing, "state"));
  pending_.reset();
}

Impact StateRule::CurrentImpact() const {
  if (firing_ == v1::SEVERITY_UNSPECIFIED || !state_) return Impact{};
  return spec_.outcome(*state_).impact;
}

v1::Event StateRule::Fire(RedundancyState state, const Measurement& measurement,
                          std::string_view note, std::chrono::system_clock::time_point wall_now,
                          std::chrono::steady_clock::time_point monotonic_now) {
  const StateOutcome& outcome = spec_.outcome(state);
  firing_ = outcome.severity;
  state_ = state;
  pending_.reset();
  std::vector<std::pair<std::string, std::string>> context;
  context.emplace_back("state", std::string(RedundancyStateName(state)));
  context.insert(context.end(), measurement.context.begin(), measurement.context.end());
  const std::string summary =
      fmt::format("{} {}: {}{}{}{}", wire::ShortName(kind_), subject_, Meaning(state),
                  Counts(measurement), Detail(measurement), note);
  return MakeEvent(v1::ALERT_STATE_FIRING, outcome.severity, measurement.value,
                   measurement.expected, measurement.unit, &outcome.impact, summary, context,
                   wall_now, monotonic_now);
}

std::optional<v1::Event> StateRule::OnMeasurement(
    const Measurement& measurement, std::chrono::system_clock::time_point wall_now,
    std::chrono::steady_clock::time_point monotonic_now) {
  if (!measurement.state) return std::nullopt;
  const RedundancyState state = *measurement.state;
  if (!IsAlert(spec_.outcome(state))) {
    pending_.reset();
    if (firing_ == v1::SEVERITY_UNSPECIFIED) return std::nullopt;
    const v1::Severity was = firing_;
    const std::string was_state = state_ ? std::string(RedundancyStateName(*state_)) : "firing";
    firing_ = v1::SEVERITY_UNSPECIFIED;
    state_.reset();
    std::vector<std::pair<std::string, std::string>> context;
    context.emplace_back("state", std::string(RedundancyStateName(state)));
    context.insert(context.end(), measurement.context.begin(), measurement.context.end());
    const std::string summary =
        fmt::format("{} {}: {}{}, resolved (was {}, {}){}", wire::ShortName(kind_), subject_,
                    RedundancyStateName(state), Counts(measurement), was_state,
                    wire::ShortName(was), Detail(measurement));
    return MakeEvent(v1::ALERT_STATE_RESOLVED, was, measurement.value, measurement.expected,
                     measurement.unit, nullptr, summary, context, wall_now, monotonic_now);
  }
  if (firing_ != v1::SEVERITY_UNSPECIFIED && state_ == state) {
    pending_.reset();
    return std::nullopt;
  }
  // A new alerting state waits for_duration, restarting when the state changes.
  if (pending_ != state) {
    pending_ = state;
    pending_since_ = monotonic_now;
  }
  if (monotonic_now - pending_since_ < spec_.for_duration) return std::nullopt;
  return Fire(state, measurement, "", wall_now, monotonic_now);
}

std::optional<v1::Event> StateRule::OnSilence(std::chrono::milliseconds silent_for,
                                              std::chrono::system_clock::time_point wall_now,
                                              std::chrono::steady_clock::time_point monotonic_now) {
  pending_.reset();
  const Staleness& limit = spec_.staleness;
  const bool fire =
      limit.outcome == Staleness::Outcome::kFire && IsAlert(spec_.outcome(limit.state));
  if (limit.outcome == Staleness::Outcome::kKeep) return std::nullopt;
  if (!fire) {
    state_.reset();
    return ResolveSilent(silent_for, last_ ? last_->expected : 0, wall_now, monotonic_now);
  }
  if (firing_ != v1::SEVERITY_UNSPECIFIED && state_ == limit.state) return std::nullopt;
  // The silence is the failure: fire at once, it has waited `after` already.
  Measurement silent{kind_, subject_, 0, v1::UNIT_COUNT, {}};
  if (last_) {
    silent.unit = last_->unit;
    silent.expected = last_->expected;
  }
  silent.state = limit.state;
  silent.context = {{"silent_for", platform::FormatDuration(silent_for)}};
  return Fire(limit.state, silent,
              fmt::format(": no report for {}", platform::FormatDuration(silent_for)), wall_now,
              monotonic_now);
}

}  // namespace atmhealth::agent
