#include "agent/watch/file_change_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/watch/redundancy_rule.h"
#include "proto/names.h"

namespace atmhealth::agent {
namespace {

// Files are hashed on the sampler thread, one after the other: a bound on
// how many keeps a sample short.
constexpr std::int64_t kMaxPaths = 64;
constexpr std::uint64_t kMaxFileBytes = 1024ull * 1024 * 1024;

}  // namespace

std::vector<std::string> FileChangeConfig::Describe() const {
  return {
      fmt::format("file_changes: {} file(s) every {}, a change is a {} notice (program "
                  "update), files up to {} bytes: {}",
                  paths.size(), platform::FormatDuration(interval),
                  wire::ShortName(change.severity), max_file_bytes, fmt::join(paths, ", "))};
}

Result<std::shared_ptr<const FileChangeConfig>> ReadFileChangeConfig(const ConfigSection& section) {
  if (!section.present()) return std::shared_ptr<const FileChangeConfig>();
  ATMHEALTH_RETURN_IF_ERROR(
      section.CheckKeys({"interval", "paths", "max_file_bytes", "severity"}, false));
  auto config = std::make_shared<FileChangeConfig>();
  ATMHEALTH_RETURN_IF_ERROR(section.ReadSamplingTime("interval", config->interval));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadStrings("paths", config->paths));
  if (config->paths.empty()) {
    return section.Fail("paths", "needs at least one file, like [\"/etc/atm/app.conf\"]");
  }
  if (static_cast<std::int64_t>(config->paths.size()) > kMaxPaths) {
    return section.Fail("paths",
                        fmt::format("at most {} files, not {}", kMaxPaths, config->paths.size()));
  }
  for (const std::string& path : config->paths) {
    if (path.front() != '/') {
      return section.Fail("paths", fmt::format("must be absolute paths, not \"{}\"", path));
    }
    config->named_subjects.push_back(
        {v1::ALERT_KIND_CONFIG_CHANGE, path,
         section.WhereAt(*section.Get("paths"), section.PathOf("paths"))});
  }
  ATMHEALTH_RETURN_IF_ERROR(
      section.ReadByteSize("max_file_bytes", config->max_file_bytes, 1, kMaxFileBytes));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadSeverity("severity", config->change.severity, true));
  if (config->change.severity == v1::SEVERITY_UNSPECIFIED) {
    return section.Fail("severity",
                        "a change is always recorded: info, warning or critical, not none");
  }
  return std::shared_ptr<const FileChangeConfig>(std::move(config));
}

}  // namespace atmhealth::agent
