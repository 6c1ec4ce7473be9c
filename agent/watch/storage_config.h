// The [storage] section: which filesystems the storage watcher watches, at
// which levels, and how it forecasts the time until one is full.
#ifndef ATMHEALTH_AGENT_WATCH_STORAGE_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_STORAGE_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "atmhealth/v1/device.pb.h"

namespace atmhealth::agent {

// One watched filesystem: [[storage.filesystem]], or the [storage] defaults.
struct FilesystemRule {
  std::string path;
  double warning_percent = 80;                          // warning
  double critical_percent = 90;                         // critical
  double hysteresis_percent = 2;                        // hysteresis
  std::chrono::milliseconds for_duration{0};            // for
  double inodes_warning_percent = 80;                   // inodes_warning
  double inodes_critical_percent = 90;                  // inodes_critical
  std::vector<v1::CustomerService> impact_unavailable;  // unavailable: lost when critical
  std::vector<v1::CustomerService> impact_degraded;     // degraded: slowed while firing
  // forecast_warning / forecast_critical: alert when the filesystem will be
  // full within this long at its current growth.
  std::chrono::milliseconds forecast_warning{std::chrono::hours(24)};
  std::chrono::milliseconds forecast_critical{std::chrono::hours(2)};
};

// At most this many samples per filesystem feed the forecast: a long window
// at a short interval keeps a sample every window / kMaxForecastSamples.
inline constexpr std::size_t kMaxForecastSamples = 1024;

struct StorageConfig final : WatcherSettings {
  StorageConfig() { interval = std::chrono::seconds(10); }

  std::chrono::milliseconds probe_timeout{2000};  // [storage] probe_timeout per statvfs
  // [storage] all_mounts = true: also watch every data filesystem mounted,
  // now or later, with the [storage] defaults, besides the listed ones.
  bool all_mounts = false;
  // [storage] forecast = false turns the time-until-full forecast off.
  bool forecast = true;
  // [storage] forecast_window: the least-squares fit of used bytes over time
  // covers this much of the past.
  std::chrono::milliseconds forecast_window{std::chrono::hours(1)};
  // [storage] forecast_min_samples: no forecast from fewer samples.
  std::size_t forecast_min_samples = 10;
  FilesystemRule defaults;                  // [storage] warning, critical, ... for all_mounts
  std::vector<FilesystemRule> filesystems;  // [[storage.filesystem]]

  std::vector<std::string> Describe() const override;
};

// Reads [storage] (`section` is empty when the file has none). Services
// named in impacts must be among `offered`.
Result<std::shared_ptr<const StorageConfig>> ReadStorageConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_STORAGE_CONFIG_H_
