#include "agent/rules/threshold_rule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

#include "platform/config_values.h"
#include "proto/names.h"

namespace atmhealth::agent {
namespace {

int Rank(v1::Severity severity) {
  switch (severity) {
    case v1::SEVERITY_WARNING:
      return 1;
    case v1::SEVERITY_CRITICAL:
      return 2;
    default:
      return 0;
  }
}

std::string FormatValue(double value, v1::Unit unit, bool precise) {
  switch (unit) {
    case v1::UNIT_PERCENT:
      return precise ? fmt::format("{:.1f}%", value) : fmt::format("{:g}%", value);
    case v1::UNIT_BYTES:
      return fmt::format("{:.0f} bytes", value);
    case v1::UNIT_HOURS:
      return fmt::format("{:.1f} h", value);
    case v1::UNIT_SECONDS:
      return fmt::format("{:g} s", value);
    case v1::UNIT_MILLISECONDS:
      return fmt::format("{:g} ms", value);
    case v1::UNIT_PER_SECOND:
      return fmt::format("{:.1f}/s", value);
    default:
      return fmt::format("{:g}", value);
  }
}

std::string_view ContextValue(const Measurement& measurement, std::string_view key) {
  for (const auto& [name, value] : measurement.context) {
    if (name == key) return value;
  }
  return {};
}

// What the measurement says, in words: "/var is 93.2% full".
std::string Observation(v1::AlertKind kind, const std::string& subject,
                        const Measurement& measurement) {
  const std::string value = FormatValue(measurement.value, measurement.unit, true);
  switch (kind) {
    case v1::ALERT_KIND_STORAGE:
      return fmt::format("{} is {} full", subject, value);
    case v1::ALERT_KIND_INODES:
      return fmt::format("{} has {} of its inodes in use", subject, value);
    case v1::ALERT_KIND_STORAGE_FORECAST: {
      if (ContextValue(measurement, "filling") == "no") {
        return fmt::format("{} is not filling up", subject);
      }
      const std::string_view growth = ContextValue(measurement, "growth");
      return growth.empty() ? fmt::format("{} will be full in {}", subject, value)
                            : fmt::format("{} will be full in {} at {}", subject, value, growth);
    }
    default:
      return fmt::format("{} {} is {}", wire::ShortName(kind), subject, value);
  }
}

std::string Summary(v1::AlertKind kind, const std::string& subject, const Measurement& measurement,
                    const ThresholdSpec& spec, v1::AlertState state, v1::Severity severity,
                    double threshold) {
  const std::string level = wire::ShortName(severity);
  const std::string limit = FormatValue(threshold, measurement.unit, false);
  // Agent health measurements are 1 while a probe fails and 0 once it works:
  // the numbers say nothing a reader needs, the probe's error does.
  if (kind == v1::ALERT_KIND_AGENT_HEALTH) {
    if (state == v1::ALERT_STATE_RESOLVED) {
      return fmt::format("agent health: {} works again (was {})", subject, level);
    }
    const std::string_view error = ContextValue(measurement, "error");
    return error.empty() ? fmt::format("agent health: {} failing ({})", subject, level)
                         : fmt::format("agent health: {} failing ({}): {}", subject, level, error);
  }
  // A condition (1 while it holds, 0 once it does not) is said in words:
  // "/var is read-only"; the numbers say nothing.
  if (const std::string_view condition = ContextValue(measurement, "condition");
      !condition.empty()) {
    const std::string_view path = ContextValue(measurement, "path");
    return state == v1::ALERT_STATE_RESOLVED
               ? fmt::format("{} is {}, resolved (was {})", path, condition, level)
               : fmt::format("{} is {} ({})", path, condition, level);
  }
  const std::string observed = Observation(kind, subject, measurement);
  if (state == v1::ALERT_STATE_RESOLVED) {
    return fmt::format("{}, resolved (was {}; warning at {}{})", observed, level,
                       spec.higher_is_worse ? "" : "or below ", limit);
  }
  return fmt::format("{} ({} at {}{})", observed, level, spec.higher_is_worse ? "" : "or below ",
                     limit);
}

}  // namespace

ThresholdRule::ThresholdRule(v1::AlertKind kind, std::string subject, ThresholdSpec spec)
    : Rule(kind, std::move(subject)), spec_(std::move(spec)) {}

void ThresholdRule::Restore(const v1::Event& firing) {
  firing_ = firing.severity();
  pending_ = v1::SEVERITY_UNSPECIFIED;
}

Impact ThresholdRule::CurrentImpact() const {
  if (firing_ == v1::SEVERITY_CRITICAL)
    return Impact{spec_.impact_unavailable, spec_.impact_degraded};
  if (firing_ != v1::SEVERITY_WARNING) return Impact{};
  // A warning has not taken anything away yet: what critical would lose is
  // reported degraded, once each.
  Impact impact;
  impact.degraded = spec_.impact_unavailable;
  for (v1::CustomerService service : spec_.impact_degraded) {
    if (std::find(impact.degraded.begin(), impact.degraded.end(), service) ==
        impact.degraded.end()) {
      impact.degraded.push_back(service);
    }
  }
  return impact;
}

std::optional<v1::Event> ThresholdRule::OnMeasurement(
    const Measurement& measurement, std::chrono::system_clock::time_point wall_now,
    std::chrono::steady_clock::time_point monotonic_now) {
  const double value = measurement.value;
  // A value that is not a number says nothing about the level; it must not
  // resolve a firing alert either.
  if (!std::isfinite(value)) return std::nullopt;

  const double h = spec_.hysteresis;
  const auto reached = [&](double threshold) {
    return spec_.higher_is_worse ? value >= threshold : value <= threshold;
  };
  // Still within a level's hysteresis band: leaving needs threshold - h.
  const auto held = [&](double threshold) {
    return spec_.higher_is_worse ? value >= threshold - h : value <= threshold + h;
  };

  v1::Severity level = v1::SEVERITY_UNSPECIFIED;
  if (reached(spec_.critical) || (firing_ == v1::SEVERITY_CRITICAL && held(spec_.critical))) {
    level = v1::SEVERITY_CRITICAL;
  } else if (reached(spec_.warning) ||
             (firing_ != v1::SEVERITY_UNSPECIFIED && held(spec_.warning))) {
    level = v1::SEVERITY_WARNING;
  }

  v1::Severity next = firing_;
  if (Rank(level) > Rank(firing_)) {
    // Worse than what fires: each level waits for_duration on its own clock,
    // which restarts whenever the value falls short of that level.
    if (pending_ == v1::SEVERITY_UNSPECIFIED) pending_since_ = monotonic_now;
    if (level == v1::SEVERITY_CRITICAL && pending_ != v1::SEVERITY_CRITICAL) {
      critical_since_ = monotonic_now;
    }
    pending_ = level;
    if (level == v1::SEVERITY_CRITICAL && monotonic_now - critical_since_ >= spec_.for_duration) {
      next = v1::SEVERITY_CRITICAL;
    } else if (firing_ == v1::SEVERITY_UNSPECIFIED &&
               monotonic_now - pending_since_ >= spec_.for_duration) {
      next = v1::SEVERITY_WARNING;
    }
    if (next == firing_) return std::nullopt;
    if (next == v1::SEVERITY_CRITICAL || level != v1::SEVERITY_CRITICAL) {
      pending_ = v1::SEVERITY_UNSPECIFIED;
    } else {
      // Warning fired while critical is still waiting for its own window.
      pending_since_ = critical_since_;
    }
  } else {
    // Going down and resolving are immediate once past the hysteresis.
    pending_ = v1::SEVERITY_UNSPECIFIED;
    if (level == firing_) return std::nullopt;
    next = level;
  }

  const bool resolved = next == v1::SEVERITY_UNSPECIFIED;
  const v1::Severity severity = resolved ? firing_ : next;
  firing_ = next;
  const double threshold =
      !resolved && severity == v1::SEVERITY_CRITICAL ? spec_.critical : spec_.warning;
  const Impact impact = CurrentImpact();
  return MakeEvent(
      resolved ? v1::ALERT_STATE_RESOLVED : v1::ALERT_STATE_FIRING, severity, value, threshold,
      measurement.unit, resolved ? nullptr : &impact,
      Summary(kind_, subject_, measurement, spec_,
              resolved ? v1::ALERT_STATE_RESOLVED : v1::ALERT_STATE_FIRING, severity, threshold),
      measurement.context, wall_now, monotonic_now);
}

std::optional<v1::Event> ThresholdRule::OnSilence(
    std::chrono::milliseconds silent_for, std::chrono::system_clock::time_point wall_now,
    std::chrono::steady_clock::time_point monotonic_now) {
  pending_ = v1::SEVERITY_UNSPECIFIED;
  switch (spec_.staleness.outcome) {
    case Staleness::Outcome::kKeep:
      return std::nullopt;
    case Staleness::Outcome::kResolve:
      return ResolveSilent(silent_for, spec_.warning, wall_now, monotonic_now);
    case Staleness::Outcome::kFire:
      break;
  }
  const v1::Severity severity = spec_.staleness.severity;
  if (firing_ == severity) return std::nullopt;
  firing_ = severity;
  const double threshold = severity == v1::SEVERITY_CRITICAL ? spec_.critical : spec_.warning;
  const Impact impact = CurrentImpact();
  const std::string summary =
      fmt::format("{} {}: nothing measured for {} ({})", wire::ShortName(kind_), subject_,
                  platform::FormatDuration(silent_for), wire::ShortName(severity));
  return MakeEvent(v1::ALERT_STATE_FIRING, severity, last_ ? last_->value : 0, threshold,
                   last_ ? last_->unit : v1::UNIT_UNSPECIFIED, &impact, summary,
                   {{"silent_for", platform::FormatDuration(silent_for)}}, wall_now, monotonic_now);
}

}  // namespace atmhealth::agent
