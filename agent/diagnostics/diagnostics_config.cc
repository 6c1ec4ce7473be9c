#include "agent/diagnostics/diagnostics_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "agent/config_section.h"
#include "agent/watch/redundancy_rule.h"
#include "proto/names.h"

namespace atmhealth::agent {
namespace {

// A snapshot is a handful of context entries: more sources than fit in
// the event's 32 would be cut anyway.
constexpr std::int64_t kMaxSources = 16;
constexpr std::chrono::milliseconds kDefaultCommandTimeLimit{5000};

Status ReadKinds(const ConfigSection& table, std::vector<v1::AlertKind>& out) {
  std::vector<std::string> names;
  ATMHEALTH_RETURN_IF_ERROR(table.ReadStrings("kinds", names));
  for (const std::string& name : names) {
    const auto kind = wire::ParseAlertKind(name);
    if (!kind) {
      return table.Fail("kinds", fmt::format("unknown alert kind \"{}\" (valid: {})", name,
                                             wire::ShortNames<v1::AlertKind>()));
    }
    out.push_back(*kind);
  }
  return OkStatus();
}

// [[diagnostics.<key>]]: each a table read by `read`, names unique.
template <typename Read>
Status ReadSources(const ConfigSection& section, std::string_view key,
                   std::vector<DiagnosticSource>& out, Read read) {
  const toml::node* node = section.Get(key);
  if (node == nullptr) return OkStatus();
  if (!node->is_array_of_tables()) {
    return section.Fail(key, fmt::format("must be tables: [[diagnostics.{}]] with a name", key));
  }
  const toml::array& array = *node->as_array();
  if (static_cast<std::int64_t>(array.size()) > kMaxSources) {
    return section.Fail(key, fmt::format("at most {} of them, not {}", kMaxSources, array.size()));
  }
  for (std::size_t i = 0; i < array.size(); ++i) {
    const ConfigSection table(section.source(), *array.get(i)->as_table(),
                              fmt::format("{}[{}]", section.PathOf(key), i), section.line());
    DiagnosticSource source;
    ATMHEALTH_RETURN_IF_ERROR(table.ReadString("name", source.name));
    if (source.name.empty()) {
      return table.Fail("name", "required: a short name, the snapshot's key for it");
    }
    for (const DiagnosticSource& other : out) {
      if (other.name == source.name) {
        return table.Fail("name", fmt::format("\"{}\" is the name of another [[diagnostics.{}]]",
                                              source.name, key));
      }
    }
    ATMHEALTH_RETURN_IF_ERROR(ReadKinds(table, source.kinds));
    ATMHEALTH_RETURN_IF_ERROR(read(table, source));
    out.push_back(std::move(source));
  }
  return OkStatus();
}

Status ReadCommandSource(const ConfigSection& table, DiagnosticSource& source) {
  ATMHEALTH_RETURN_IF_ERROR(
      table.CheckKeys({"name", "kinds", "command", "time_limit", "output_limit"}, false));
  source.command.time_limit = kDefaultCommandTimeLimit;
  return ReadCommand(table, source.command);
}

Status ReadFileSource(const ConfigSection& table, DiagnosticSource& source) {
  ATMHEALTH_RETURN_IF_ERROR(table.CheckKeys({"name", "kinds", "path"}, false));
  if (!table.Has("path")) return table.Fail("path", "required: the file's absolute path");
  return ReadRoot(table, "path", source.path);
}

std::string KindNames(const std::vector<v1::AlertKind>& kinds) {
  if (kinds.empty()) return "every alert";
  std::vector<std::string> names;
  for (v1::AlertKind kind : kinds) names.push_back(wire::ShortName(kind));
  return fmt::format("{} alerts", fmt::join(names, ", "));
}

}  // namespace

bool DiagnosticSource::AppliesTo(v1::AlertKind kind) const {
  return kinds.empty() || std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

std::chrono::milliseconds DiagnosticsConfig::LongestSnapshot() const {
  std::chrono::milliseconds longest =
      top_directories > 0 ? walk_time_limit : std::chrono::milliseconds(0);
  for (const DiagnosticSource& command : commands) longest += command.command.time_limit;
  return longest;
}

std::vector<std::string> DiagnosticsConfig::Describe() const {
  std::vector<std::string> lines;
  if (!enabled) return {"diagnostics: off"};
  lines.push_back(fmt::format(
      "diagnostics: at most {} snapshots pending; {}", max_pending,
      top_directories > 0
          ? fmt::format("the {} largest directories of a filesystem (at most {} entries, {})",
                        top_directories, walk_entries, platform::FormatDuration(walk_time_limit))
          : std::string("no directory walk")));
  for (const DiagnosticSource& command : commands) {
    lines.push_back(fmt::format("diagnostics: command {}: {} (time limit {}) for {}", command.name,
                                fmt::join(command.command.argv, " "),
                                platform::FormatDuration(command.command.time_limit),
                                KindNames(command.kinds)));
  }
  for (const DiagnosticSource& file : files) {
    lines.push_back(fmt::format("diagnostics: file {}: the end of {} for {}", file.name, file.path,
                                KindNames(file.kinds)));
  }
  return lines;
}

Status ReadDiagnostics(const ConfigSection& section, DiagnosticsConfig& out) {
  ATMHEALTH_RETURN_IF_ERROR(
      section.CheckKeys({"enabled", "max_pending", "top_directories", "walk_entries",
                         "walk_time_limit", "command", "file"},
                        false));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadBool("enabled", out.enabled));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadCount("max_pending", out.max_pending, 1, 64));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadCount("top_directories", out.top_directories, 0, 20));
  std::size_t walk_entries = out.walk_entries;
  ATMHEALTH_RETURN_IF_ERROR(section.ReadCount("walk_entries", walk_entries, 1000, 100000000));
  out.walk_entries = walk_entries;
  ATMHEALTH_RETURN_IF_ERROR(
      section.ReadDuration("walk_time_limit", out.walk_time_limit, ConfigSection::Zero::kRefused));
  if (out.walk_time_limit > std::chrono::minutes(1)) {
    return section.Fail(
        "walk_time_limit",
        fmt::format("must be at most 1m, not {}", platform::FormatDuration(out.walk_time_limit)));
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadSources(section, "command", out.commands, ReadCommandSource));
  ATMHEALTH_RETURN_IF_ERROR(ReadSources(section, "file", out.files, ReadFileSource));
  return OkStatus();
}

}  // namespace atmhealth::agent
