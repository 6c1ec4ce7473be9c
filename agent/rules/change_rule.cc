#include "agent/rules/change_rule.h"

#include <fmt/format.h>

#include "proto/names.h"

namespace atmhealth::agent {
namespace {

constexpr std::string_view kFingerprint = "fingerprint";
constexpr std::string_view kPrevious = "previous_fingerprint";

}  // namespace

ChangeRule::ChangeRule(v1::AlertKind kind, std::string subject, ChangeSpec spec)
    : Rule(kind, std::move(subject)), spec_(std::move(spec)) {}

void ChangeRule::Restore(const v1::Event& latest) {
  for (const v1::ContextEntry& entry : latest.context()) {
    if (entry.key() == kFingerprint) fingerprint_ = entry.value();
  }
}

std::optional<v1::Event> ChangeRule::OnMeasurement(
    const Measurement& measurement, std::chrono::system_clock::time_point wall_now,
    std::chrono::steady_clock::time_point monotonic_now) {
  if (measurement.fingerprint.empty() || measurement.fingerprint == fingerprint_) {
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> context = {
      {std::string(kFingerprint), measurement.fingerprint}};
  std::string summary;
  v1::Severity severity = spec_.severity;
  if (!fingerprint_) {
    severity = v1::SEVERITY_INFO;
    summary = fmt::format("{} {}: watching, {}", wire::ShortName(kind()), subject(),
                          measurement.fingerprint);
  } else {
    context.emplace_back(kPrevious, *fingerprint_);
    summary = fmt::format("{} {}: changed, {} -> {}", wire::ShortName(kind()), subject(),
                          *fingerprint_, measurement.fingerprint);
  }
  context.insert(context.end(), measurement.context.begin(), measurement.context.end());
  fingerprint_ = measurement.fingerprint;
  return MakeEvent(v1::ALERT_STATE_NOTICE, severity, measurement.value, 0, measurement.unit,
                   nullptr, summary, context, wall_now, monotonic_now);
}

}  // namespace atmhealth::agent
