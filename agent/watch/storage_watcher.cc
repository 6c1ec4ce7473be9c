#include "agent/watch/storage_watcher.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace atmhealth::agent {
namespace {

// The mount that holds `path`: the longest mount point that is `path` or one
// of its parent directories.
std::optional<platform::MountPoint> MountHolding(const std::string& path,
                                                 const std::vector<platform::MountPoint>& mounts) {
  const platform::MountPoint* best = nullptr;
  for (const platform::MountPoint& mount : mounts) {
    const bool holds =
        path == mount.path || mount.path == "/" ||
        (path.size() > mount.path.size() && path.compare(0, mount.path.size(), mount.path) == 0 &&
         path[mount.path.size()] == '/');
    if (holds && (best == nullptr || mount.path.size() > best->path.size())) best = &mount;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace

WatcherKind StorageWatcher::Kind() {
  WatcherKind kind;
  kind.section = "storage";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig& device) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadStorageConfig(section, device.services);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext&) -> Result<std::unique_ptr<Watcher>> {
    const auto& config = dynamic_cast<const StorageConfig&>(settings);
    auto probe = platform::FilesystemProbe::Create(config.probe_timeout);
    auto watcher = Create(config, *probe);
    if (!watcher.ok()) return watcher.error();
    (*watcher)->owned_probe_ = std::move(probe);
    for (const auto& path : (*watcher)->WatchedPaths()) spdlog::info("watching storage {}", path);
    return std::unique_ptr<Watcher>(std::move(watcher).value());
  };
  return kind;
}

Result<std::unique_ptr<StorageWatcher>> StorageWatcher::Create(const StorageConfig& config,
                                                               platform::FilesystemProbe& probe,
                                                               const std::string& proc_root) {
  auto mounts = platform::ListDataMounts(proc_root);
  if (!mounts.ok() && config.all_mounts) {
    return Error(mounts.error().code(),
                 "storage: all_mounts needs the mount table: " + mounts.error().message());
  }
  if (!mounts.ok()) {
    spdlog::warn("storage: mount devices and types unknown: {}", mounts.error().message());
  }
  if (mounts.ok()) {
    for (const std::string& problem : mounts->problems) spdlog::warn("storage: {}", problem);
  }
  const std::vector<platform::MountPoint> known =
      mounts.ok() ? mounts->mounts : std::vector<platform::MountPoint>{};

  std::vector<WatchedFilesystem> watched;
  for (const FilesystemRule& rule : config.filesystems) {
    watched.push_back(WatchedFilesystem{rule, MountHolding(rule.path, known)});
  }
  if (config.all_mounts) {
    for (const platform::MountPoint& mount : known) {
      bool listed = false;
      for (const WatchedFilesystem& filesystem : watched)
        listed |= filesystem.rule.path == mount.path;
      if (listed) continue;
      FilesystemRule rule = config.defaults;
      rule.path = mount.path;
      watched.push_back(WatchedFilesystem{std::move(rule), mount});
    }
  }
  return std::unique_ptr<StorageWatcher>(new StorageWatcher(probe, std::move(watched)));
}

void StorageWatcher::Sample(std::vector<Measurement>& out) {
  for (WatchedFilesystem& filesystem : watched_) {
    const std::string& path = filesystem.rule.path;
    Measurement probe_health{
        v1::ALERT_KIND_AGENT_HEALTH, ProbeSubject(path), 0, v1::UNIT_COUNT, {}};
    auto stats = probe_.Probe(path);
    if (!stats.ok()) {
      if (!filesystem.probe_failing) {
        spdlog::warn("storage: cannot probe {}: {}", path, stats.error().message());
      }
      filesystem.probe_failing = true;
      probe_health.value = 1;
      probe_health.context = {{"error", stats.error().message()},
                              {"error_code", ErrorCodeName(stats.error().code())}};
      out.push_back(std::move(probe_health));
      continue;
    }
    if (filesystem.probe_failing) spdlog::info("storage: probing {} works again", path);
    filesystem.probe_failing = false;

    std::vector<std::pair<std::string, std::string>> context;
    if (filesystem.mount) {
      context.emplace_back("mount_point", filesystem.mount->path);
      context.emplace_back("mount_device", filesystem.mount->device);
      context.emplace_back("fs_type", filesystem.mount->type);
    }
    context.emplace_back("total_bytes", std::to_string(stats->total_bytes));
    context.emplace_back("used_bytes", std::to_string(stats->total_bytes - stats->free_bytes));
    context.emplace_back("available_bytes", std::to_string(stats->available_bytes));
    context.emplace_back("total_inodes", std::to_string(stats->total_inodes));
    context.emplace_back("free_inodes", std::to_string(stats->free_inodes));
    context.emplace_back("read_only", stats->read_only ? "true" : "false");

    out.push_back(
        Measurement{v1::ALERT_KIND_STORAGE, path, stats->UsedPercent(), v1::UNIT_PERCENT, context});
    if (stats->total_inodes > 0) {
      out.push_back(Measurement{v1::ALERT_KIND_INODES, path, stats->InodesUsedPercent(),
                                v1::UNIT_PERCENT, std::move(context)});
    }
    out.push_back(std::move(probe_health));
  }
}

std::vector<RuleDefinition> StorageWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  rules.reserve(watched_.size() * 3);
  for (const WatchedFilesystem& filesystem : watched_) {
    const FilesystemRule& rule = filesystem.rule;
    ThresholdSpec space(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
    space.warning = rule.warning_percent;
    space.critical = rule.critical_percent;
    space.hysteresis = rule.hysteresis_percent;
    space.for_duration = rule.for_duration;
    space.impact_unavailable = rule.impact_unavailable;
    space.impact_degraded = rule.impact_degraded;

    ThresholdSpec inodes = space;
    inodes.warning = rule.inodes_warning_percent;
    inodes.critical = rule.inodes_critical_percent;

    // A probe that fails blinds the agent to this filesystem: alert at once,
    // as the recovery category (the cause would be found late).
    ThresholdSpec probe_failure(v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY);
    probe_failure.warning = 1;
    probe_failure.critical = 1;

    rules.push_back({v1::ALERT_KIND_STORAGE, rule.path, std::move(space)});
    rules.push_back({v1::ALERT_KIND_INODES, rule.path, std::move(inodes)});
    rules.push_back(
        {v1::ALERT_KIND_AGENT_HEALTH, ProbeSubject(rule.path), std::move(probe_failure)});
  }
  return rules;
}

std::vector<std::string> StorageWatcher::WatchedPaths() const {
  std::vector<std::string> paths;
  paths.reserve(watched_.size());
  for (const WatchedFilesystem& filesystem : watched_) paths.push_back(filesystem.rule.path);
  return paths;
}

}  // namespace atmhealth::agent
