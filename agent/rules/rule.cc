#include "agent/rules/rule.h"

#include <fmt/format.h>

#include <utility>

#include "platform/clock.h"
#include "platform/config_values.h"
#include "proto/names.h"
#include "proto/schema_limits.h"

namespace atmhealth::agent {
namespace {

using wire::kMaxContextKeyBytes;
using wire::kMaxContextValueBytes;
using wire::kMaxSubjectBytes;
using wire::kMaxSummaryBytes;
using wire::SchemaText;
constexpr int kMaxContextEntries = static_cast<int>(wire::kMaxContextEntries);

}  // namespace

std::string AlertKey(v1::AlertKind kind, const std::string& subject) {
  // The key travels in events and heartbeats, so it is valid UTF-8 too.
  return SchemaText(wire::ShortName(kind) + ":" + subject, wire::kMaxAlertKeyBytes);
}

StateSpec::StateSpec(v1::FailureCategory category_) : category(category_) {
  outcome(RedundancyState::kDegraded).severity = v1::SEVERITY_WARNING;
  outcome(RedundancyState::kRecovering).severity = v1::SEVERITY_WARNING;
  outcome(RedundancyState::kFailedOver).severity = v1::SEVERITY_WARNING;
  outcome(RedundancyState::kSplitBrain).severity = v1::SEVERITY_CRITICAL;
  outcome(RedundancyState::kDown).severity = v1::SEVERITY_CRITICAL;
}

Rule::Rule(v1::AlertKind kind, std::string subject)
    : kind_(kind), subject_(std::move(subject)), alert_key_(AlertKey(kind_, subject_)) {}

std::optional<v1::Event> Rule::Evaluate(const Measurement& measurement,
                                        std::chrono::system_clock::time_point wall_now,
                                        std::chrono::steady_clock::time_point monotonic_now) {
  last_seen_ = monotonic_now;
  stale_ = false;
  last_ = measurement;
  return OnMeasurement(measurement, wall_now, monotonic_now);
}

std::optional<v1::Event> Rule::Tick(std::chrono::system_clock::time_point wall_now,
                                    std::chrono::steady_clock::time_point monotonic_now) {
  if (!last_seen_) {
    // Never measured: the silence counts from the first tick.
    last_seen_ = monotonic_now;
    return std::nullopt;
  }
  if (stale_) return std::nullopt;
  const auto silent_for =
      std::chrono::duration_cast<std::chrono::milliseconds>(monotonic_now - *last_seen_);
  const Staleness& limit = staleness();
  if (limit.after.count() > 0 && silent_for >= limit.after) {
    stale_ = true;
    return OnSilence(silent_for, wall_now, monotonic_now);
  }
  if (pending() && last_) return OnMeasurement(*last_, wall_now, monotonic_now);
  return std::nullopt;
}

v1::Event Rule::MakeEvent(v1::AlertState state, v1::Severity severity, double value,
                          double threshold, v1::Unit unit, const Impact* impact,
                          std::string_view summary,
                          const std::vector<std::pair<std::string, std::string>>& context,
                          std::chrono::system_clock::time_point wall_now,
                          std::chrono::steady_clock::time_point monotonic_now) const {
  v1::Event event;
  event.set_wall_time_unix_ns(platform::UnixNanos(wall_now));
  event.set_monotonic_ns(platform::MonotonicNanos(monotonic_now));
  event.set_boot_id(platform::BootId());
  event.set_severity(severity);
  event.set_kind(kind_);
  event.set_state(state);
  event.set_subject(SchemaText(subject_, kMaxSubjectBytes));
  event.set_alert_key(alert_key_);
  event.set_value(value);
  event.set_threshold(threshold);
  event.set_unit(unit);
  event.set_category(category());
  if (impact != nullptr) {
    v1::CustomerImpact& out = *event.mutable_impact();
    for (v1::CustomerService service : impact->unavailable) out.add_unavailable(service);
    for (v1::CustomerService service : impact->degraded) out.add_degraded(service);
  }
  event.set_summary(SchemaText(summary, kMaxSummaryBytes));
  for (const auto& [key, context_value] : context) {
    if (event.context_size() == kMaxContextEntries) break;
    v1::ContextEntry& entry = *event.add_context();
    entry.set_key(SchemaText(key, kMaxContextKeyBytes));
    entry.set_value(SchemaText(context_value, kMaxContextValueBytes));
  }
  return event;
}

std::optional<v1::Event> Rule::ResolveSilent(std::chrono::milliseconds silent_for, double threshold,
                                             std::chrono::system_clock::time_point wall_now,
                                             std::chrono::steady_clock::time_point monotonic_now) {
  if (firing_ == v1::SEVERITY_UNSPECIFIED) return std::nullopt;
  const v1::Severity was = firing_;
  firing_ = v1::SEVERITY_UNSPECIFIED;
  const std::string summary =
      fmt::format("{} {}: nothing measured for {}, resolved (was {})", wire::ShortName(kind_),
                  subject_, platform::FormatDuration(silent_for), wire::ShortName(was));
  return MakeEvent(v1::ALERT_STATE_RESOLVED, was, last_ ? last_->value : 0, threshold,
                   last_ ? last_->unit : v1::UNIT_UNSPECIFIED, nullptr, summary,
                   {{"silent_for", platform::FormatDuration(silent_for)}}, wall_now, monotonic_now);
}

}  // namespace atmhealth::agent
