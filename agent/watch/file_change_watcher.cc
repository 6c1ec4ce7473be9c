#include "agent/watch/file_change_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace atmhealth::agent {
namespace {

std::string ProbeSubject(const std::string& path) { return "file:" + path; }

}  // namespace

WatcherKind FileChangeWatcher::Kind() {
  WatcherKind kind;
  kind.section = "file_changes";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig&) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadFileChangeConfig(section);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext&) -> Result<std::unique_ptr<Watcher>> {
    const auto& config = dynamic_cast<const FileChangeConfig&>(settings);
    spdlog::info("watching {} file(s) for changes", config.paths.size());
    return std::unique_ptr<Watcher>(new FileChangeWatcher(config));
  };
  return kind;
}

void FileChangeWatcher::Sample(std::vector<Measurement>& out) {
  for (const std::string& path : config_.paths) {
    Measurement probe(v1::ALERT_KIND_AGENT_HEALTH, ProbeSubject(path), 0, v1::UNIT_COUNT);
    auto identity = platform::IdentifyFile(path);
    if (!identity.ok() && identity.error().code() == ErrorCode::kNotFound) {
      // Gone is a content of its own: the notice says so, and says it again
      // when the file comes back.
      known_.erase(path);
      Measurement gone(v1::ALERT_KIND_CONFIG_CHANGE, path, 0, v1::UNIT_BYTES, {{"path", path}});
      gone.fingerprint = "missing";
      out.push_back(std::move(gone));
      out.push_back(std::move(probe));
      continue;
    }
    std::string fingerprint;
    Status failure = OkStatus();
    if (!identity.ok()) {
      failure = identity.error();
    } else if (!identity->regular) {
      failure = Error(ErrorCode::kInvalidArgument, "\"" + path + "\": not a regular file");
    } else if (auto known = known_.find(path);
               known != known_.end() && known->second.identity == *identity) {
      fingerprint = known->second.fingerprint;  // nothing moved: no need to read it again
    } else {
      auto digest = platform::Sha256OfFile(path, config_.max_file_bytes);
      if (digest.ok()) {
        fingerprint = "sha256:" + *digest;
        known_[path] = Known{*identity, fingerprint};
      } else {
        failure = digest.error();
      }
    }
    if (!failure.ok()) {
      probe.value = 1;
      probe.context = {{"error", failure.error().message()},
                       {"error_code", ErrorCodeName(failure.error().code())}};
      out.push_back(std::move(probe));
      continue;
    }
    Measurement m(v1::ALERT_KIND_CONFIG_CHANGE, path, static_cast<double>(identity->size),
                  v1::UNIT_BYTES,
                  {{"path", path},
                   {"size_bytes", std::to_string(identity->size)},
                   {"modified_unix_ns", std::to_string(identity->modified_unix_ns)},
                   {"mode", fmt::format("{:04o}", identity->mode)},
                   {"owner", fmt::format("{}:{}", identity->uid, identity->gid)}});
    m.fingerprint = std::move(fingerprint);
    out.push_back(std::move(m));
    out.push_back(std::move(probe));
  }
}

std::vector<RuleDefinition> FileChangeWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  for (const std::string& path : config_.paths) {
    rules.push_back({v1::ALERT_KIND_CONFIG_CHANGE, path, config_.change});
    // A file that cannot be read is not watched: the agent's own health,
    // recorded as the recovery category (a change would be found late).
    ThresholdSpec unreadable(v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY);
    unreadable.warning = 1;
    unreadable.critical = 1;
    rules.push_back({v1::ALERT_KIND_AGENT_HEALTH, ProbeSubject(path), std::move(unreadable)});
  }
  return rules;
}

}  // namespace atmhealth::agent
