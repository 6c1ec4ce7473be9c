#include "agent/config_section.h"

#include <utility>

#include "platform/local_socket.h"

namespace atmhealth::agent {

std::vector<v1::CustomerService> AllServices() { return wire::ValuesOf<v1::CustomerService>(); }

std::string ValidServiceNames() { return wire::ShortNames<v1::CustomerService>(); }

std::string ServiceNames(const std::vector<v1::CustomerService>& services) {
  std::string out;
  for (v1::CustomerService service : services) {
    if (!out.empty()) out += ", ";
    out += wire::ShortName(service);
  }
  return out;
}

const char* TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string FormatNumber(double value) { return fmt::format("{:g}", value); }

const toml::table& EmptyTable() {
  static const toml::table empty;
  return empty;
}

Status ConfigSection::CheckKeys(const std::vector<std::string_view>& allowed, bool sections) const {
  for (auto&& [key, node] : table_) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    std::string valid;
    for (std::string_view name : allowed) {
      if (!valid.empty()) valid += ", ";
      valid += name;
    }
    const std::uint32_t line =
        key.source().begin.line != 0 ? key.source().begin.line : node.source().begin.line;
    const char* what = !sections         ? "unknown key (valid keys: {})"
                       : node.is_table() ? "unknown section (valid sections: {})"
                                         : "key outside any section (valid sections: {})";
    return FailAtLine(line, PathOf(key.str()), fmt::format(fmt::runtime(what), valid));
  }
  return OkStatus();
}

Result<ConfigSection> ConfigSection::Child(std::string_view key) const {
  auto table = Table(key);
  if (!table.ok()) return table.error();
  return ConfigSection(source_, *table != nullptr ? **table : EmptyTable(), PathOf(key), line_);
}

Status ConfigSection::ReadSocketAccess(std::string_view path_key, std::string_view mode_key,
                                       std::string_view group_key, std::string_view users,
                                       SocketAccess& out) const {
  ATMHEALTH_RETURN_IF_ERROR(ReadString(path_key, out.path));
  if (Has(path_key) && (out.path.empty() || out.path.front() != '/')) {
    return Fail(path_key, fmt::format("must be an absolute path, not \"{}\"", out.path));
  }
  if (Has(path_key) && out.path.size() > 100) {
    return Fail(path_key, "a Unix socket path must be at most 100 bytes");
  }
  std::string mode = fmt::format("{:04o}", out.mode);
  ATMHEALTH_RETURN_IF_ERROR(ReadString(mode_key, mode));
  const bool octal =
      !mode.empty() && mode.size() <= 4 && mode.find_first_not_of("01234567") == std::string::npos;
  if (!octal) {
    return Fail(mode_key,
                fmt::format("must be octal permission bits like \"0660\", not \"{}\"", mode));
  }
  out.mode = static_cast<std::uint32_t>(std::stoul(mode, nullptr, 8));
  if ((out.mode & 0002) != 0) {
    return Fail(mode_key, fmt::format("\"{}\" lets every account on the device in; give {} "
                                      "access through a group instead (e.g. \"0660\")",
                                      mode, users));
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadString(group_key, out.group));
  if (Has(group_key) && !platform::GroupExists(out.group)) {
    return Fail(group_key, fmt::format("no such group \"{}\"", out.group));
  }
  return OkStatus();
}

Status ConfigSection::ReadStrings(std::string_view key, std::vector<std::string>& out) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return OkStatus();
  if (!node->is_array()) {
    return Fail(key, fmt::format("must be a list of strings like [\"a\", \"b\"], not {}",
                                 TypeName(node->type())));
  }
  std::vector<std::string> strings;
  const toml::array& array = *node->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = *array.get(i);
    const std::string element_path = fmt::format("{}[{}]", PathOf(key), i);
    if (!element.is_string() || element.as_string()->get().empty()) {
      return FailAt(element, element_path,
                    fmt::format("must be a non-empty string, not {}",
                                element.is_string() ? "\"\"" : TypeName(element.type())));
    }
    const std::string& text = element.as_string()->get();
    if (std::find(strings.begin(), strings.end(), text) != strings.end()) {
      return FailAt(element, element_path, fmt::format("\"{}\" is listed twice", text));
    }
    strings.push_back(text);
  }
  out = std::move(strings);
  return OkStatus();
}

Status ConfigSection::ReadSeverity(std::string_view key, v1::Severity& out, bool allow_none) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return OkStatus();
  const char* valid = allow_none ? "none, info, warning, critical" : "warning, critical";
  if (!node->is_string()) {
    return Fail(key, fmt::format("must be a severity ({}), not {}", valid, TypeName(node->type())));
  }
  const std::string& name = node->as_string()->get();
  if (allow_none && name == "none") {
    out = v1::SEVERITY_UNSPECIFIED;
    return OkStatus();
  }
  auto severity = wire::ParseSeverity(name);
  if (!severity || (!allow_none && *severity == v1::SEVERITY_INFO)) {
    return Fail(key, fmt::format("unknown severity \"{}\" (valid: {})", name, valid));
  }
  out = *severity;
  return OkStatus();
}

Status ConfigSection::ReadCategory(std::string_view key, v1::FailureCategory& out) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return OkStatus();
  const std::string valid = wire::ShortNames<v1::FailureCategory>();
  if (!node->is_string()) {
    return Fail(key, fmt::format("must be an FSA failure category ({}), not {}", valid,
                                 TypeName(node->type())));
  }
  const std::string& name = node->as_string()->get();
  auto category = wire::ParseFailureCategory(name);
  if (!category) return Fail(key, fmt::format("unknown category \"{}\" (valid: {})", name, valid));
  out = *category;
  return OkStatus();
}

Status ConfigSection::ReadStates(std::string_view key,
                                 const std::vector<v1::CustomerService>& offered,
                                 StateSpec& out) const {
  auto states = Child(key);
  if (!states.ok()) return states.error();
  std::vector<std::string_view> names;
  for (RedundancyState state : kRedundancyStates) {
    if (state != RedundancyState::kRedundant) names.push_back(RedundancyStateName(state));
  }
  ATMHEALTH_RETURN_IF_ERROR(states->CheckKeys(names, false));
  for (RedundancyState state : kRedundancyStates) {
    if (state == RedundancyState::kRedundant) continue;
    const std::string_view name = RedundancyStateName(state);
    auto outcome_section = states->Child(name);
    if (!outcome_section.ok()) return outcome_section.error();
    if (!states->Has(name)) continue;
    const ConfigSection& outcome = *outcome_section;
    ATMHEALTH_RETURN_IF_ERROR(outcome.CheckKeys({"severity", "unavailable", "degraded"}, false));
    StateOutcome& target = out.outcome(state);
    ATMHEALTH_RETURN_IF_ERROR(outcome.ReadSeverity("severity", target.severity, true));
    if (target.severity == v1::SEVERITY_INFO) target.severity = v1::SEVERITY_UNSPECIFIED;
    ATMHEALTH_RETURN_IF_ERROR(outcome.ReadServices("unavailable", target.impact.unavailable));
    ATMHEALTH_RETURN_IF_ERROR(outcome.ReadServices("degraded", target.impact.degraded));
    for (std::string_view list : {"unavailable", "degraded"}) {
      const auto& services =
          list == "unavailable" ? target.impact.unavailable : target.impact.degraded;
      for (v1::CustomerService service : services) {
        if (std::find(offered.begin(), offered.end(), service) == offered.end()) {
          return outcome.Fail(list, fmt::format("\"{}\" is not among device.services ({})",
                                                wire::ShortName(service), ServiceNames(offered)));
        }
        if (list == "unavailable" &&
            std::find(target.impact.degraded.begin(), target.impact.degraded.end(), service) !=
                target.impact.degraded.end()) {
          return outcome.Fail("degraded",
                              fmt::format("\"{}\" is listed both as unavailable and as degraded",
                                          wire::ShortName(service)));
        }
      }
    }
  }
  return OkStatus();
}

Status ConfigSection::ReadStaleness(std::string_view after_key, std::string_view outcome_key,
                                    bool state_rule, Staleness& out) const {
  ATMHEALTH_RETURN_IF_ERROR(ReadDuration(after_key, out.after, Zero::kAllowed));
  const toml::node* node = table_.get(outcome_key);
  if (node == nullptr) return OkStatus();
  const std::string valid =
      state_rule ? "keep, resolve, degraded, recovering, failed_over, split_brain, down"
                 : "keep, resolve, warning, critical";
  if (!node->is_string()) {
    return Fail(outcome_key,
                fmt::format("must be one of {}, not {}", valid, TypeName(node->type())));
  }
  const std::string& name = node->as_string()->get();
  if (name == "keep") {
    out.outcome = Staleness::Outcome::kKeep;
  } else if (name == "resolve") {
    out.outcome = Staleness::Outcome::kResolve;
  } else if (auto state = ParseRedundancyState(name);
             state_rule && state && *state != RedundancyState::kRedundant) {
    out.outcome = Staleness::Outcome::kFire;
    out.state = *state;
  } else if (auto severity = wire::ParseSeverity(name);
             !state_rule && severity &&
             (*severity == v1::SEVERITY_WARNING || *severity == v1::SEVERITY_CRITICAL)) {
    out.outcome = Staleness::Outcome::kFire;
    out.severity = *severity;
  } else {
    return Fail(outcome_key, fmt::format("unknown outcome \"{}\" (valid: {})", name, valid));
  }
  if (out.outcome != Staleness::Outcome::kKeep && out.after.count() == 0) {
    return Fail(Has(after_key) ? after_key : outcome_key,
                fmt::format("{} = \"{}\" needs {} longer than zero", PathOf(outcome_key), name,
                            PathOf(after_key)));
  }
  return OkStatus();
}

}  // namespace atmhealth::agent
