#include "agent/rules/rule.h"

#include <fmt/format.h>

#include <utility>

#include "platform/clock.h"
#include "platform/config_values.h"
#include "proto/names.h"

namespace atmhealth::agent {
namespace {

// Limits of the Event schema (event.proto), bytes.
constexpr std::size_t kMaxSubjectBytes = 256;
constexpr std::size_t kMaxSummaryBytes = 512;
constexpr std::size_t kMaxContextKeyBytes = 64;
constexpr std::size_t kMaxContextValueBytes = 1024;
constexpr int kMaxContextEntries = 32;
constexpr std::size_t kUnbounded = std::string_view::npos;

// Length of the valid UTF-8 sequence at the start of `text`, 0 if invalid
// (overlong forms and surrogates included, as protobuf checks them).
std::size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](std::size_t i, unsigned char low = 0x80,
                                unsigned char high = 0xBF) {
    return i < text.size() && byte(i) >= low && byte(i) <= high;
  };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string SchemaText(std::string_view text, std::size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = Utf8SequenceLength(text.substr(i));
    const std::string_view piece = length == 0 ? kReplacement : text.substr(i, length);
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += length == 0 ? 1 : length;
  }
  return out;
}

std::string AlertKey(v1::AlertKind kind, const std::string& subject) {
  // The key travels in events and heartbeats, so it is valid UTF-8 too.
  return SchemaText(wire::ShortName(kind) + ":" + subject, kUnbounded);
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
