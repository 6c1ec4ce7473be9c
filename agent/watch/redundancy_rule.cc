#include "agent/watch/redundancy_rule.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "proto/names.h"

namespace atmhealth::agent {

Status ReadRedundancyRule(const ConfigSection& section,
                          const std::vector<v1::CustomerService>& offered, StateSpec& spec) {
  ATMHEALTH_RETURN_IF_ERROR(
      section.ReadDuration("for", spec.for_duration, ConfigSection::Zero::kAllowed));
  return section.ReadStates("states", offered, spec);
}

Status ReadRoot(const ConfigSection& section, std::string_view key, std::string& out) {
  ATMHEALTH_RETURN_IF_ERROR(section.ReadString(key, out));
  if (out.empty() || out.front() != '/') {
    return section.Fail(key, fmt::format("must be an absolute path, not \"{}\"", out));
  }
  return OkStatus();
}

std::string DescribeStates(const StateSpec& spec) {
  std::string text;
  for (RedundancyState state : kRedundancyStates) {
    const StateOutcome& outcome = spec.outcome(state);
    if (state == RedundancyState::kRedundant || outcome.severity == v1::SEVERITY_UNSPECIFIED) {
      continue;
    }
    if (!text.empty()) text += ", ";
    text += fmt::format("{} {}", RedundancyStateName(state), wire::ShortName(outcome.severity));
    if (!outcome.impact.unavailable.empty()) {
      text += fmt::format(" (unavailable: {})", ServiceNames(outcome.impact.unavailable));
    }
    if (!outcome.impact.degraded.empty()) {
      text += fmt::format(" (degraded: {})", ServiceNames(outcome.impact.degraded));
    }
  }
  return text.empty() ? "no state alerts" : text;
}

RuleDefinition RedundancyRule(v1::AlertKind kind, std::string subject, const StateSpec& spec) {
  return RuleDefinition{kind, std::move(subject), spec};
}

Measurement SourceHealth::Failed(const Error& error) {
  ++failures_;
  if (!failing_) spdlog::warn("{}: cannot read {}: {}", watcher_, source_, error.message());
  failing_ = true;
  return Measurement(v1::ALERT_KIND_AGENT_HEALTH, subject_, 1, v1::UNIT_COUNT,
                     {{"error", error.message()},
                      {"error_code", ErrorCodeName(error.code())},
                      {"failed_reads", std::to_string(failures_)}});
}

Measurement SourceHealth::Worked() {
  if (failing_) spdlog::info("{}: reading {} works again", watcher_, source_);
  failing_ = false;
  return Measurement(v1::ALERT_KIND_AGENT_HEALTH, subject_, 0, v1::UNIT_COUNT,
                     {{"failed_reads", std::to_string(failures_)}});
}

RuleDefinition SourceHealth::Rule() const {
  ThresholdSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY);
  spec.warning = 1;
  spec.critical = 1;
  return RuleDefinition{v1::ALERT_KIND_AGENT_HEALTH, subject_, std::move(spec)};
}

}  // namespace atmhealth::agent
