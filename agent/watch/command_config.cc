#include "agent/watch/command_config.h"

#include <fmt/format.h>

#include <array>
#include <charconv>

#include "agent/watch/redundancy_rule.h"
#include "proto/names.h"

namespace atmhealth::agent {
namespace {

// The alerts a check may stand for: those of redundant things.
constexpr std::array<v1::AlertKind, 4> kCheckKinds = {
    v1::ALERT_KIND_RAID, v1::ALERT_KIND_LINK_GROUP, v1::ALERT_KIND_PEER, v1::ALERT_KIND_CLUSTER};

std::string CheckKindNames() {
  std::vector<std::string> names;
  for (v1::AlertKind kind : kCheckKinds) names.push_back("\"" + wire::ShortName(kind) + "\"");
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string DescribeExitStates(const std::map<int, RedundancyState>& states) {
  std::vector<std::string> parts;
  for (const auto& [status, state] : states) {
    parts.push_back(fmt::format("{} {}", status, RedundancyStateName(state)));
  }
  return fmt::format("exit {}, any other a failed check", fmt::join(parts, ", "));
}

Status ReadExitStates(const ConfigSection& table, std::map<int, RedundancyState>& out) {
  const toml::node* node = table.Get("exit_states");
  if (node == nullptr) return OkStatus();
  constexpr std::string_view kExample =
      "a table of exit statuses and states like { 0 = \"redundant\", 1 = \"degraded\", "
      "2 = \"down\" }";
  if (!node->is_table() || node->as_table()->empty()) {
    return table.Fail("exit_states", fmt::format("must be {}, not {}", kExample,
                                                 node->is_table() ? "{}" : TypeName(node->type())));
  }
  std::map<int, RedundancyState> states;
  bool any_redundant = false;
  for (const auto& [key, value] : *node->as_table()) {
    const std::string path = fmt::format("{}.{}", table.PathOf("exit_states"), key.str());
    int status = -1;
    const std::string_view text = key.str();
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), status);
    if (error != std::errc() || end != text.data() + text.size() || status < 0 || status > 255) {
      return table.FailAt(value, path,
                          fmt::format("\"{}\" is not an exit status 0..255", key.str()));
    }
    const std::optional<RedundancyState> state =
        value.is_string() ? ParseRedundancyState(value.as_string()->get()) : std::nullopt;
    if (!state) {
      return table.FailAt(
          value, path,
          fmt::format("must be a state: \"redundant\", \"degraded\", \"recovering\", "
                      "\"failed_over\", \"split_brain\" or \"down\", not {}",
                      value.is_string() ? "\"" + value.as_string()->get() + "\""
                                        : std::string(TypeName(value.type()))));
    }
    any_redundant = any_redundant || *state == RedundancyState::kRedundant;
    states.emplace(status, *state);
  }
  if (!any_redundant) {
    return table.Fail("exit_states",
                      "gives no status for \"redundant\": the check could never resolve");
  }
  out = std::move(states);
  return OkStatus();
}

Status ReadCheck(const ConfigSection& table, const std::vector<v1::CustomerService>& offered,
                 CommandConfig& config) {
  ATMHEALTH_RETURN_IF_ERROR(table.CheckKeys(
      {"name", "kind", "command", "time_limit", "output_limit", "exit_states", "for", "states"},
      false));
  CommandCheckConfig check;
  check.states = config.states;
  if (!table.Has("name")) {
    return table.Fail("name", "required: the check's name, the alert's subject, like \"megaraid\"");
  }
  ATMHEALTH_RETURN_IF_ERROR(table.ReadString("name", check.name));
  if (check.name.empty() || check.name.size() > 128 ||
      check.name.find_first_of(" \t\r\n") != std::string::npos) {
    return table.Fail(
        "name", fmt::format("must be 1..128 characters without spaces, not \"{}\"", check.name));
  }
  for (const CommandCheckConfig& other : config.checks) {
    if (other.name == check.name) {
      return table.Fail("name",
                        fmt::format("\"{}\" names another [[command.check]] too", check.name));
    }
  }
  if (!table.Has("kind")) {
    return table.Fail("kind", fmt::format("required: the alert the check stands for, one of {}",
                                          CheckKindNames()));
  }
  std::string kind;
  ATMHEALTH_RETURN_IF_ERROR(table.ReadString("kind", kind));
  for (v1::AlertKind candidate : kCheckKinds) {
    if (wire::ShortName(candidate) == kind) check.kind = candidate;
  }
  if (check.kind == v1::ALERT_KIND_UNSPECIFIED) {
    return table.Fail("kind", fmt::format("must be one of {}, not \"{}\"", CheckKindNames(), kind));
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadCommand(table, check.command));
  ATMHEALTH_RETURN_IF_ERROR(ReadExitStates(table, check.exit_states));
  ATMHEALTH_RETURN_IF_ERROR(ReadRedundancyRule(table, offered, check.states));
  config.named_subjects.push_back(
      {check.kind, check.name, table.WhereAt(*table.Get("name"), table.PathOf("name"))});
  config.checks.push_back(std::move(check));
  return OkStatus();
}

}  // namespace

const std::map<int, RedundancyState>& PluginExitStates() {
  static const std::map<int, RedundancyState> states = {{0, RedundancyState::kRedundant},
                                                        {1, RedundancyState::kDegraded},
                                                        {2, RedundancyState::kDown}};
  return states;
}

std::vector<std::string> CommandConfig::Describe() const {
  std::vector<std::string> lines;
  for (const CommandCheckConfig& check : checks) {
    lines.push_back(fmt::format(
        "command check {} ({}): {} on its own thread every {}, time limit {}, output limit {} "
        "bytes; {}; {}",
        check.name, wire::ShortName(check.kind), fmt::join(check.command.argv, " "),
        platform::FormatDuration(interval), platform::FormatDuration(check.command.time_limit),
        check.command.output_limit, DescribeExitStates(check.exit_states),
        DescribeStates(check.states)));
  }
  return lines;
}

Result<std::shared_ptr<const CommandConfig>> ReadCommandConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered) {
  if (!section.present()) return std::shared_ptr<const CommandConfig>();
  ATMHEALTH_RETURN_IF_ERROR(section.CheckKeys({"interval", "for", "states", "check"}, false));
  auto config = std::make_shared<CommandConfig>();
  ATMHEALTH_RETURN_IF_ERROR(section.ReadSamplingTime("interval", config->interval));
  ATMHEALTH_RETURN_IF_ERROR(ReadRedundancyRule(section, offered, config->states));
  const toml::node* checks = section.Get("check");
  if (checks == nullptr || !checks->is_array_of_tables() || checks->as_array()->empty()) {
    return section.Fail("check",
                        "needs at least one [[command.check]] with a name, a kind and a command");
  }
  const toml::array& array = *checks->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const ConfigSection table(section.source(), *array.get(i)->as_table(),
                              fmt::format("{}[{}]", section.PathOf("check"), i), section.line());
    ATMHEALTH_RETURN_IF_ERROR(ReadCheck(table, offered, *config));
  }
  return std::shared_ptr<const CommandConfig>(std::move(config));
}

}  // namespace atmhealth::agent
