#include "agent/diagnostics/snapshot.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/agent_notice.h"
#include "platform/config_values.h"
#include "platform/directory_usage.h"
#include "platform/text_input.h"
#include "proto/names.h"
#include "proto/schema_limits.h"

namespace atmhealth::agent {
namespace {

constexpr std::string_view kFiredAtKey = "fired_at_unix_ns";
// What a file or a command's output keeps: its end, where the latest lines are.
constexpr std::size_t kTailBytes = wire::kMaxContextValueBytes - 16;

// The last `max_bytes` of `text`, starting at a line (or, failing that, a
// character) boundary, marked as cut when something was left out in front.
std::string Tail(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  const std::size_t room = max_bytes - wire::kCutMarker.size();
  std::string_view tail = text.substr(text.size() - room);
  if (const auto newline = tail.find('\n');
      newline != std::string_view::npos && newline + 1 < tail.size() && newline < room / 2) {
    tail.remove_prefix(newline + 1);
  } else {
    while (!tail.empty() && (static_cast<unsigned char>(tail.front()) & 0xC0) == 0x80) {
      tail.remove_prefix(1);  // a UTF-8 continuation byte: not a character's start
    }
  }
  return std::string(wire::kCutMarker) + std::string(tail);
}

bool IsStorageKind(v1::AlertKind kind) {
  return kind == v1::ALERT_KIND_STORAGE || kind == v1::ALERT_KIND_INODES ||
         kind == v1::ALERT_KIND_STORAGE_FORECAST;
}

std::string ContextValue(const v1::Event& event, std::string_view key) {
  for (const v1::ContextEntry& entry : event.context()) {
    if (entry.key() == key) return entry.value();
  }
  return {};
}

// The largest directories of the filesystem a storage alert is about.
std::optional<std::string> TopDirectories(const DiagnosticsConfig& config,
                                          const v1::Event& firing) {
  if (config.top_directories == 0 || !IsStorageKind(firing.kind())) return std::nullopt;
  // The storage watcher names the mount in its context; an unmounted
  // filesystem has nothing left to walk.
  if (ContextValue(firing, "condition") == "no longer mounted") return std::nullopt;
  std::string root = ContextValue(firing, "mount_point");
  if (root.empty()) root = ContextValue(firing, "path");
  if (root.empty() && !firing.subject().empty() && firing.subject().front() == '/') {
    root = firing.subject();
  }
  if (root.empty()) return std::nullopt;
  platform::DirectoryUsageLimits limits;
  limits.top = config.top_directories;
  limits.max_entries = config.walk_entries;
  limits.time_limit = config.walk_time_limit;
  auto usage = platform::LargestDirectories(root, limits);
  if (!usage.ok()) return fmt::format("cannot walk {}: {}", root, usage.error().message());
  std::vector<std::string> lines;
  for (const auto& directory : usage->largest) {
    lines.push_back(fmt::format("{} {}", platform::FormatBytes(directory.bytes), directory.path));
  }
  if (usage->largest.empty()) lines.emplace_back("no directories");
  if (usage->partial) {
    lines.push_back(fmt::format("(walk stopped after {} entries in {}: sizes are lower bounds)",
                                usage->entries, platform::FormatDuration(usage->elapsed)));
  }
  return fmt::format("{}", fmt::join(lines, "\n"));
}

std::string CommandEvidence(const DiagnosticSource& source) {
  auto outcome = platform::RunCommand(source.command);
  if (!outcome.ok()) {
    return fmt::format("cannot run {}: {}", source.command.argv.front(), outcome.error().message());
  }
  if (outcome->Succeeded() && !outcome->output_truncated) return Tail(outcome->output, kTailBytes);
  // How it ended first, so that a cut output never hides it.
  const std::string how = outcome->Describe(source.command);
  return how + "\n" + Tail(outcome->output, kTailBytes - how.size() - 1);
}

std::string FileEvidence(const DiagnosticSource& source) {
  // One byte more than kept: Tail then knows whether it cut.
  auto tail = platform::ReadFileTail(source.path, kTailBytes + 1);
  if (!tail.ok()) return fmt::format("cannot read: {}", tail.error().message());
  return Tail(*tail, kTailBytes);
}

}  // namespace

v1::Event TakeSnapshot(const DiagnosticsConfig& config, const v1::Event& firing,
                       const platform::Clock& clock) {
  const auto started = clock.MonotonicNow();
  std::vector<std::pair<std::string, std::string>> entries;
  entries.emplace_back(kFiredAtKey, std::to_string(firing.wall_time_unix_ns()));
  entries.emplace_back("fired_severity", wire::ShortName(firing.severity()));
  if (auto top = TopDirectories(config, firing)) entries.emplace_back("top_directories", *top);
  for (const DiagnosticSource& command : config.commands) {
    if (command.AppliesTo(firing.kind())) {
      entries.emplace_back("command." + command.name, CommandEvidence(command));
    }
  }
  for (const DiagnosticSource& file : config.files) {
    if (file.AppliesTo(firing.kind())) {
      entries.emplace_back("file." + file.name, FileEvidence(file));
    }
  }

  std::vector<std::string_view> taken;
  for (std::size_t i = 2; i < entries.size(); ++i) taken.push_back(entries[i].first);
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.MonotonicNow() - started);
  v1::Event notice =
      Notice(clock, v1::SEVERITY_INFO, firing.kind(), firing.category(), firing.subject(),
             fmt::format("diagnostic snapshot of {} ({}), taken in {}: {}", firing.alert_key(),
                         wire::ShortName(firing.severity()), platform::FormatDuration(elapsed),
                         taken.empty() ? std::string("nothing configured for this alert")
                                       : fmt::format("{}", fmt::join(taken, ", "))));
  notice.set_alert_key(firing.alert_key());
  notice.set_value(firing.value());
  notice.set_threshold(firing.threshold());
  notice.set_unit(firing.unit());
  for (auto& [key, value] : entries) {
    v1::ContextEntry& entry = *notice.add_context();
    entry.set_key(std::move(key));
    entry.set_value(std::move(value));
  }
  wire::ClampEventToSchema(notice);
  return notice;
}

}  // namespace atmhealth::agent
