#include "agent/watch/storage_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
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

double Hours(std::chrono::milliseconds duration) {
  return std::chrono::duration<double, std::ratio<3600>>(duration).count();
}

// "12.5 MiB/h": growth as an operator reads it.
std::string GrowthText(double bytes_per_second) {
  return fmt::format("{:.1f} MiB/h", bytes_per_second * 3600 / (1024.0 * 1024.0));
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
                   const WatcherContext& context) -> Result<std::unique_ptr<Watcher>> {
    const auto& config = dynamic_cast<const StorageConfig&>(settings);
    auto probe = platform::FilesystemProbe::Create(config.probe_timeout);
    auto watcher = Create(config, *probe, "/proc", context.clock);
    if (!watcher.ok()) return watcher.error();
    (*watcher)->owned_probe_ = std::move(probe);
    for (const auto& path : (*watcher)->WatchedPaths()) spdlog::info("watching storage {}", path);
    return std::unique_ptr<Watcher>(std::move(watcher).value());
  };
  return kind;
}

StorageWatcher::WatchedFilesystem StorageWatcher::Watch(FilesystemRule rule,
                                                        std::optional<platform::MountPoint> mount,
                                                        bool discovered) const {
  return WatchedFilesystem{
      std::move(rule),
      std::move(mount),
      discovered,
      /*expect_writable=*/!discovered,
      /*unmounted=*/false,
      /*probe_failing=*/false,
      FillForecast(config_.forecast_window, config_.forecast_min_samples, kMaxForecastSamples)};
}

Result<std::unique_ptr<StorageWatcher>> StorageWatcher::Create(const StorageConfig& config,
                                                               platform::FilesystemProbe& probe,
                                                               const std::string& proc_root,
                                                               const platform::Clock& clock) {
  auto mounts = platform::ListDataMounts(proc_root);
  if (!mounts.ok() && config.all_mounts) {
    return Error(mounts.error().code(),
                 "storage: all_mounts needs the mount table: " + mounts.error().message());
  }
  std::unique_ptr<StorageWatcher> watcher(new StorageWatcher(config, probe, clock, proc_root));
  if (!mounts.ok()) {
    spdlog::warn("storage: mount devices and types unknown: {}", mounts.error().message());
    watcher->mount_table_failing_ = true;
  }
  if (mounts.ok()) {
    for (const std::string& problem : mounts->problems) spdlog::warn("storage: {}", problem);
  }
  const std::vector<platform::MountPoint> known =
      mounts.ok() ? mounts->mounts : std::vector<platform::MountPoint>{};

  for (const FilesystemRule& rule : config.filesystems) {
    watcher->watched_.push_back(watcher->Watch(rule, MountHolding(rule.path, known), false));
  }
  if (config.all_mounts) {
    for (const platform::MountPoint& mount : known) {
      bool listed = false;
      for (const WatchedFilesystem& filesystem : watcher->watched_)
        listed |= filesystem.rule.path == mount.path;
      if (listed) continue;
      FilesystemRule rule = config.defaults;
      rule.path = mount.path;
      watcher->watched_.push_back(watcher->Watch(std::move(rule), mount, true));
    }
  }
  return watcher;
}

void StorageWatcher::Remount() {
  auto table = platform::ListDataMounts(proc_root_);
  if (!table.ok()) {
    if (!mount_table_failing_) {
      spdlog::warn("storage: cannot read the mount table, mounts are not followed: {}",
                   table.error().message());
    }
    mount_table_failing_ = true;
    return;
  }
  if (mount_table_failing_) spdlog::info("storage: the mount table can be read again");
  mount_table_failing_ = false;
  const std::vector<platform::MountPoint>& mounts = table->mounts;

  for (WatchedFilesystem& filesystem : watched_) {
    if (filesystem.discovered) continue;
    const std::string& path = filesystem.rule.path;
    std::optional<platform::MountPoint> holding = MountHolding(path, mounts);
    if (!holding) continue;
    if (!filesystem.mount) {
      filesystem.mount = std::move(holding);
      continue;
    }
    if (holding->path.size() < filesystem.mount->path.size()) {
      // The mount that held the path went away; what is there now is the
      // filesystem underneath.
      if (!filesystem.unmounted) {
        spdlog::warn("storage: {} is no longer mounted ({} from {} is gone, {} is on {})", path,
                     filesystem.mount->path, filesystem.mount->device, path, holding->path);
        filesystem.forecast.Clear();
      }
      filesystem.unmounted = true;
      continue;
    }
    const bool changed = filesystem.unmounted || holding->path != filesystem.mount->path ||
                         holding->device != filesystem.mount->device ||
                         holding->type != filesystem.mount->type;
    if (changed) {
      spdlog::info("storage: {} is now on {} ({} {})", path, holding->path, holding->device,
                   holding->type);
      filesystem.forecast.Clear();
      filesystem.mount = std::move(holding);
    }
    filesystem.unmounted = false;
  }

  if (!config_.all_mounts) return;
  const auto is_mounted = [&](const std::string& path) {
    return std::any_of(mounts.begin(), mounts.end(),
                       [&](const platform::MountPoint& mount) { return mount.path == path; });
  };
  const auto gone = std::remove_if(watched_.begin(), watched_.end(), [&](const auto& filesystem) {
    return filesystem.discovered && !is_mounted(filesystem.rule.path);
  });
  for (auto it = gone; it != watched_.end(); ++it) {
    spdlog::info("storage: {} was unmounted, no longer watched", it->rule.path);
  }
  watched_.erase(gone, watched_.end());
  for (const platform::MountPoint& mount : mounts) {
    const bool watched = std::any_of(watched_.begin(), watched_.end(), [&](const auto& filesystem) {
      return filesystem.rule.path == mount.path;
    });
    if (watched) continue;
    spdlog::info("storage: {} was mounted ({} {}), now watched", mount.path, mount.device,
                 mount.type);
    FilesystemRule rule = config_.defaults;
    rule.path = mount.path;
    watched_.push_back(Watch(std::move(rule), mount, true));
  }
}

void StorageWatcher::Sample(std::vector<Measurement>& out) {
  Remount();
  for (WatchedFilesystem& filesystem : watched_) SampleOne(filesystem, out);
}

void StorageWatcher::SampleOne(WatchedFilesystem& filesystem, std::vector<Measurement>& out) {
  const std::string& path = filesystem.rule.path;
  std::vector<std::pair<std::string, std::string>> mount_context;
  if (filesystem.mount) {
    mount_context.emplace_back("mount_point", filesystem.mount->path);
    mount_context.emplace_back("mount_device", filesystem.mount->device);
    mount_context.emplace_back("fs_type", filesystem.mount->type);
  }
  std::vector<std::pair<std::string, std::string>> unmounted_context = {
      {"path", path}, {"condition", filesystem.unmounted ? "no longer mounted" : "mounted"}};
  unmounted_context.insert(unmounted_context.end(), mount_context.begin(), mount_context.end());
  out.emplace_back(v1::ALERT_KIND_STORAGE, UnmountedSubject(path), filesystem.unmounted ? 1 : 0,
                   v1::UNIT_COUNT, std::move(unmounted_context));
  // statvfs would measure the filesystem underneath: nothing to report
  // about this one until it is back.
  if (filesystem.unmounted) return;

  Measurement probe_health(v1::ALERT_KIND_AGENT_HEALTH, ProbeSubject(path), 0, v1::UNIT_COUNT);
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
    return;
  }
  if (filesystem.probe_failing) spdlog::info("storage: probing {} works again", path);
  filesystem.probe_failing = false;

  std::vector<std::pair<std::string, std::string>> context = mount_context;
  context.emplace_back("total_bytes", std::to_string(stats->total_bytes));
  context.emplace_back("used_bytes", std::to_string(stats->total_bytes - stats->free_bytes));
  context.emplace_back("available_bytes", std::to_string(stats->available_bytes));
  context.emplace_back("total_inodes", std::to_string(stats->total_inodes));
  context.emplace_back("free_inodes", std::to_string(stats->free_inodes));
  context.emplace_back("read_only", stats->read_only ? "true" : "false");

  out.emplace_back(v1::ALERT_KIND_STORAGE, path, stats->UsedPercent(), v1::UNIT_PERCENT, context);
  if (stats->total_inodes > 0) {
    out.emplace_back(v1::ALERT_KIND_INODES, path, stats->InodesUsedPercent(), v1::UNIT_PERCENT,
                     context);
  }

  // A filesystem mounted read-only on purpose (found that way by all_mounts)
  // is no alert; one seen writable that turns read-only is.
  if (!stats->read_only) filesystem.expect_writable = true;
  const bool lost_writes = stats->read_only && filesystem.expect_writable;
  std::vector<std::pair<std::string, std::string>> read_only_context = {
      {"path", path}, {"condition", stats->read_only ? "read-only" : "writable"}};
  read_only_context.insert(read_only_context.end(), context.begin(), context.end());
  out.emplace_back(v1::ALERT_KIND_STORAGE, ReadOnlySubject(path), lost_writes ? 1 : 0,
                   v1::UNIT_COUNT, std::move(read_only_context));

  if (config_.forecast) {
    filesystem.forecast.Add(clock_.MonotonicNow(), static_cast<double>(stats->available_bytes));
    if (auto fit = filesystem.forecast.Forecast()) {
      double hours = kNotFillingHours;
      if (fit->seconds_until_full) hours = std::min(hours, *fit->seconds_until_full / 3600);
      std::vector<std::pair<std::string, std::string>> forecast_context = mount_context;
      forecast_context.emplace_back("filling", fit->seconds_until_full ? "yes" : "no");
      forecast_context.emplace_back("growth", GrowthText(fit->growth_bytes_per_second));
      forecast_context.emplace_back("available_bytes", std::to_string(stats->available_bytes));
      forecast_context.emplace_back("fitted_available_bytes",
                                    fmt::format("{:.0f}", fit->free_bytes_now));
      forecast_context.emplace_back("samples", std::to_string(filesystem.forecast.size()));
      forecast_context.emplace_back("window", platform::FormatDuration(config_.forecast_window));
      out.emplace_back(v1::ALERT_KIND_STORAGE_FORECAST, path, hours, v1::UNIT_HOURS,
                       std::move(forecast_context));
    }
  }
  out.push_back(std::move(probe_health));
}

std::vector<RuleDefinition> StorageWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  rules.reserve(watched_.size() * 6);
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

    // Writes fail on a read-only or vanished filesystem as on a full one:
    // critical at once, with the same customer impact.
    ThresholdSpec lost = space;
    lost.warning = 1;
    lost.critical = 1;
    lost.hysteresis = 0;
    lost.for_duration = std::chrono::milliseconds(0);

    // A probe that fails blinds the agent to this filesystem: alert at once,
    // as the recovery category (the cause would be found late).
    ThresholdSpec probe_failure(v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY);
    probe_failure.warning = 1;
    probe_failure.critical = 1;

    rules.push_back({v1::ALERT_KIND_STORAGE, rule.path, std::move(space)});
    rules.push_back({v1::ALERT_KIND_INODES, rule.path, std::move(inodes)});
    rules.push_back({v1::ALERT_KIND_STORAGE, ReadOnlySubject(rule.path), lost});
    if (!filesystem.discovered) {
      rules.push_back({v1::ALERT_KIND_STORAGE, UnmountedSubject(rule.path), std::move(lost)});
    }
    if (config_.forecast) {
      // Fewer hours left is worse. Nothing is lost yet when it fires: the
      // forecast says when the space alert will take the services away.
      ThresholdSpec forecast(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
      forecast.higher_is_worse = false;
      forecast.warning = Hours(rule.forecast_warning);
      forecast.critical = Hours(rule.forecast_critical);
      forecast.hysteresis =
          std::min(forecast.critical * 0.1, (forecast.warning - forecast.critical) / 2);
      rules.push_back({v1::ALERT_KIND_STORAGE_FORECAST, rule.path, std::move(forecast)});
    }
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
