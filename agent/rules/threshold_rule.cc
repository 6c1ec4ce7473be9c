#include "agent/rules/threshold_rule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

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

// Protobuf strings must be UTF-8 and the schema bounds their length, but
// subjects come from the OS (a mount path may hold any bytes): invalid bytes
// become U+FFFD and the text is cut at a character boundary.
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
  const std::string observed = Observation(kind, subject, measurement);
  if (state == v1::ALERT_STATE_RESOLVED) {
    return fmt::format("{}, resolved (was {}; warning at {})", observed, level, limit);
  }
  return fmt::format("{} ({} at {}{})", observed, level, spec.higher_is_worse ? "" : "or below ",
                     limit);
}

}  // namespace

std::string AlertKey(v1::AlertKind kind, const std::string& subject) {
  // The key travels in events and heartbeats, so it is valid UTF-8 too.
  return SchemaText(wire::ShortName(kind) + ":" + subject, kUnbounded);
}

ThresholdRule::ThresholdRule(v1::AlertKind kind, std::string subject, ThresholdSpec spec)
    : kind_(kind),
      subject_(std::move(subject)),
      alert_key_(AlertKey(kind_, subject_)),
      spec_(std::move(spec)) {}

std::optional<v1::Event> ThresholdRule::Evaluate(
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

  v1::Event event;
  event.set_wall_time_unix_ns(platform::UnixNanos(wall_now));
  event.set_monotonic_ns(platform::MonotonicNanos(monotonic_now));
  event.set_boot_id(platform::BootId());
  event.set_severity(severity);
  event.set_kind(kind_);
  event.set_state(resolved ? v1::ALERT_STATE_RESOLVED : v1::ALERT_STATE_FIRING);
  event.set_subject(SchemaText(subject_, kMaxSubjectBytes));
  event.set_alert_key(alert_key_);
  event.set_value(value);
  const double threshold =
      !resolved && severity == v1::SEVERITY_CRITICAL ? spec_.critical : spec_.warning;
  event.set_threshold(threshold);
  event.set_unit(measurement.unit);
  event.set_category(spec_.category);
  if (!resolved) {
    v1::CustomerImpact& impact = *event.mutable_impact();
    if (severity == v1::SEVERITY_CRITICAL) {
      for (v1::CustomerService service : spec_.impact_unavailable) impact.add_unavailable(service);
      for (v1::CustomerService service : spec_.impact_degraded) impact.add_degraded(service);
    } else {
      // A warning has not taken anything away yet: what critical would lose
      // is reported degraded, once each.
      std::vector<v1::CustomerService> degraded = spec_.impact_unavailable;
      for (v1::CustomerService service : spec_.impact_degraded) {
        if (std::find(degraded.begin(), degraded.end(), service) == degraded.end()) {
          degraded.push_back(service);
        }
      }
      for (v1::CustomerService service : degraded) impact.add_degraded(service);
    }
  }
  event.set_summary(
      SchemaText(Summary(kind_, subject_, measurement, spec_, event.state(), severity, threshold),
                 kMaxSummaryBytes));
  for (const auto& [key, context_value] : measurement.context) {
    if (event.context_size() == kMaxContextEntries) break;
    v1::ContextEntry& entry = *event.add_context();
    entry.set_key(SchemaText(key, kMaxContextKeyBytes));
    entry.set_value(SchemaText(context_value, kMaxContextValueBytes));
  }
  return event;
}

void RuleSet::Set(v1::AlertKind kind, const std::string& subject, ThresholdSpec spec) {
  std::string key = AlertKey(kind, subject);
  if (auto existing = rules_.find(key); existing != rules_.end()) {
    // A firing alert stays firing under its new spec, so that the next
    // measurement resolves or re-grades it instead of leaving it open forever.
    existing->second.spec_ = std::move(spec);
    return;
  }
  rules_.emplace(std::move(key), ThresholdRule(kind, subject, std::move(spec)));
}

std::vector<v1::Event> RuleSet::Restore(const std::vector<v1::Event>& firing,
                                        const platform::Clock& clock) {
  std::vector<v1::Event> closed;
  for (const v1::Event& event : firing) {
    if (auto rule = rules_.find(event.alert_key()); rule != rules_.end()) {
      rule->second.firing_ = event.severity();
      rule->second.pending_ = v1::SEVERITY_UNSPECIFIED;
      continue;
    }
    v1::Event resolved = event;
    resolved.set_seq(0);
    resolved.set_state(v1::ALERT_STATE_RESOLVED);
    resolved.set_wall_time_unix_ns(platform::UnixNanos(clock.WallNow()));
    resolved.set_monotonic_ns(platform::MonotonicNanos(clock.MonotonicNow()));
    resolved.set_boot_id(platform::BootId());
    resolved.clear_impact();
    resolved.clear_context();
    resolved.set_summary(event.subject() + ": no longer watched; alert closed");
    closed.push_back(std::move(resolved));
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
    if (auto event = rule->second.Evaluate(measurement, wall_now, monotonic_now)) {
      out.push_back(std::move(*event));
    }
  }
}

}  // namespace atmhealth::agent
