// The storage watcher: how full each watched filesystem is, in space and in
// inodes, how soon it will be full at its current growth, and whether it is
// still mounted and writable — the first of the FSA's daily-operation failure
// causes (storage area exhausted).
#ifndef ATMHEALTH_AGENT_WATCH_STORAGE_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_STORAGE_WATCHER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/watch/fill_forecast.h"
#include "agent/watch/storage_config.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"
#include "platform/clock.h"
#include "platform/filesystem_stats.h"
#include "platform/status.h"

namespace atmhealth::agent {

// Per watched path, each Sample() appends:
//   ALERT_KIND_STORAGE  <path>        percent of space used (UNIT_PERCENT)
//   ALERT_KIND_INODES   <path>        percent of inodes used, when the
//                                     filesystem has an inode limit
//   ALERT_KIND_STORAGE_FORECAST <path>  hours until full at the growth of a
//                                     least-squares fit over forecast_window
//                                     (UNIT_HOURS), once forecast_min_samples
//                                     are in; kNotFillingHours when it is not
//                                     filling
//   ALERT_KIND_STORAGE  read-only:<path>  1 when a filesystem expected to be
//                                     writable is read-only, else 0
//   ALERT_KIND_STORAGE  unmounted:<path>  1 when the mount that held the
//                                     path is gone, else 0 (the path is then
//                                     not probed: statvfs would describe the
//                                     filesystem underneath)
//   ALERT_KIND_AGENT_HEALTH probe:<path>  1 while the probe fails, else 0
// with the statistics and the mount (device, type) as context. A failing
// probe is logged once when it starts failing and once when it works again.
//
// The mount table is read again at every sample: a filesystem mounted over a
// listed path is watched from then on, and with all_mounts every data
// filesystem mounted later is watched with the [storage] defaults (and no
// longer watched once unmounted: its alerts resolve).
// Not thread-safe: sampled by one thread.
class StorageWatcher final : public Watcher {
 public:
  // Reads `<proc_root>/self/mounts`. Fails only when all_mounts is set and
  // the mount table cannot be read; otherwise a missing mount table only
  // leaves the mount device and type out of the context. `probe` and `clock`
  // are not owned and must outlive the watcher.
  static Result<std::unique_ptr<StorageWatcher>> Create(
      const StorageConfig& config, platform::FilesystemProbe& probe,
      const std::string& proc_root = "/proc",
      const platform::Clock& clock = platform::Clock::Real());

  // The registry entry: [storage], built with a statvfs probe limited to
  // probe_timeout.
  static WatcherKind Kind();

  // The forecast of a filesystem that is not filling up: beyond any horizon.
  static constexpr double kNotFillingHours = 10 * 365 * 24;

  std::string_view name() const override { return "storage"; }
  void Sample(std::vector<Measurement>& out) override;

  // The rules of every watched path: space, inodes and time until full with
  // the path's levels, read-only and unmounted critical at once, all category
  // DAILY_OPERATION_STORAGE with the path's customer impact; probe failure
  // critical at 1, category DAILY_OPERATION_RECOVERY.
  std::vector<RuleDefinition> Rules() const override;

  // The watched paths, in the order they are sampled.
  std::vector<std::string> WatchedPaths() const;

  // The subject of the probe-failure measurement of `path`.
  static std::string ProbeSubject(const std::string& path) { return "probe:" + path; }
  // The subjects of the read-only and unmounted measurements of `path`.
  static std::string ReadOnlySubject(const std::string& path) { return "read-only:" + path; }
  static std::string UnmountedSubject(const std::string& path) { return "unmounted:" + path; }

 private:
  struct WatchedFilesystem {
    FilesystemRule rule;
    std::optional<platform::MountPoint> mount;  // the mount holding rule.path, if known
    bool discovered = false;                    // added by all_mounts, not listed in the config
    bool expect_writable = true;                // listed, or seen writable since discovered
    bool unmounted = false;                     // the mount that held the path is gone
    bool probe_failing = false;
    FillForecast forecast;
  };

  StorageWatcher(const StorageConfig& config, platform::FilesystemProbe& probe,
                 const platform::Clock& clock, std::string proc_root)
      : config_(config), probe_(probe), clock_(clock), proc_root_(std::move(proc_root)) {}

  WatchedFilesystem Watch(FilesystemRule rule, std::optional<platform::MountPoint> mount,
                          bool discovered) const;
  // Reads the mount table again: follows mounts over listed paths, notices
  // mounts that went away, adds and drops all_mounts filesystems.
  void Remount();
  void SampleOne(WatchedFilesystem& filesystem, std::vector<Measurement>& out);

  StorageConfig config_;
  std::unique_ptr<platform::FilesystemProbe> owned_probe_;  // when built by Kind()
  platform::FilesystemProbe& probe_;
  const platform::Clock& clock_;
  std::string proc_root_;
  std::vector<WatchedFilesystem> watched_;
  bool mount_table_failing_ = false;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_STORAGE_WATCHER_H_
