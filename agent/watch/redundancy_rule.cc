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

Status ReadCommand(const ConfigSection& section, platform::CommandSpec& spec) {
  // A command runs on a device that must keep serving: a limit of minutes
  // would hide a hang, and output beyond a few MiB is not a status report.
  constexpr std::chrono::milliseconds kMaxTimeLimit = std::chrono::minutes(5);
  constexpr std::uint64_t kMinOutput = 1024;
  constexpr std::uint64_t kMaxOutput = 16 * 1024 * 1024;
  if (const toml::node* node = section.Get("command"); node != nullptr) {
    // Not ReadStrings: an argv may repeat a word ("-v", "-v").
    constexpr std::string_view kExample = "like [\"crm_mon\", \"--output-as=xml\"]";
    if (!node->is_array() || node->as_array()->empty()) {
      return section.Fail("command",
                          fmt::format("must be a program and its arguments, {}, not {}", kExample,
                                      node->is_array() ? "[]" : TypeName(node->type())));
    }
    std::vector<std::string> argv;
    const toml::array& array = *node->as_array();
    for (std::size_t i = 0; i < array.size(); ++i) {
      const toml::node& word = *array.get(i);
      if (!word.is_string() || (i == 0 && word.as_string()->get().empty())) {
        return section.FailAt(word, fmt::format("{}[{}]", section.PathOf("command"), i),
                              fmt::format("must be a {}string, not {}", i == 0 ? "non-empty " : "",
                                          word.is_string() ? "\"\"" : TypeName(word.type())));
      }
      argv.push_back(word.as_string()->get());
    }
    spec.argv = std::move(argv);
  } else if (spec.argv.empty()) {
    return section.Fail("command",
                        "required: the program and its arguments, like [\"/usr/bin/check\"]");
  }
  if (spec.argv.front().find_first_of(" \t") != std::string::npos) {
    return section.Fail(
        "command",
        fmt::format("\"{}\" is one word of argv, not a shell line: write each argument as its "
                    "own string",
                    spec.argv.front()));
  }
  ATMHEALTH_RETURN_IF_ERROR(
      section.ReadDuration("time_limit", spec.time_limit, ConfigSection::Zero::kRefused));
  if (spec.time_limit > kMaxTimeLimit) {
    return section.Fail("time_limit", fmt::format("must be at most {}, not {}",
                                                  platform::FormatDuration(kMaxTimeLimit),
                                                  platform::FormatDuration(spec.time_limit)));
  }
  std::uint64_t output_limit = spec.output_limit;
  ATMHEALTH_RETURN_IF_ERROR(
      section.ReadByteSize("output_limit", output_limit, kMinOutput, kMaxOutput));
  spec.output_limit = static_cast<std::size_t>(output_limit);
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
