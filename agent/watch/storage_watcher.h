// The storage watcher: how full each watched filesystem is, in space and in
// inodes, the first of the FSA's daily-operation failure causes (storage
// area exhausted).
#ifndef ATMHEALTH_AGENT_WATCH_STORAGE_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_STORAGE_WATCHER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/watch/storage_config.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"
#include "platform/filesystem_stats.h"
#include "platform/status.h"

namespace atmhealth::agent {

// Per watched path, each Sample() appends:
//   ALERT_KIND_STORAGE  <path>        percent of space used (UNIT_PERCENT)
//   ALERT_KIND_INODES   <path>        percent of inodes used, when the
//                                     filesystem has an inode limit
//   ALERT_KIND_AGENT_HEALTH probe:<path>  1 while the probe fails, else 0
// with the statistics and the mount (device, type) as context. A failing
// probe is logged once when it starts failing and once when it works again.
//
// The watched set is fixed at creation: the [[storage.filesystem]] paths, and
// with all_mounts every data filesystem mounted then that is not listed.
// Not thread-safe: sampled by one thread.
class StorageWatcher final : public Watcher {
 public:
  // Reads `<proc_root>/self/mounts` once. Fails only when all_mounts is set
  // and the mount table cannot be read; otherwise a missing mount table only
  // leaves the mount device and type out of the context. `probe` is not
  // owned and must outlive the watcher.
  static Result<std::unique_ptr<StorageWatcher>> Create(const StorageConfig& config,
                                                        platform::FilesystemProbe& probe,
                                                        const std::string& proc_root = "/proc");

  // The registry entry: [storage], built with a statvfs probe limited to
  // probe_timeout.
  static WatcherKind Kind();

  std::string_view name() const override { return "storage"; }
  void Sample(std::vector<Measurement>& out) override;

  // The rules of every watched path: space and inodes with the path's
  // levels, category DAILY_OPERATION_STORAGE and its customer impact; probe
  // failure critical at 1, category DAILY_OPERATION_RECOVERY.
  std::vector<RuleDefinition> Rules() const override;

  // The watched paths, in the order they are sampled.
  std::vector<std::string> WatchedPaths() const;

  // The subject of the probe-failure measurement of `path`.
  static std::string ProbeSubject(const std::string& path) { return "probe:" + path; }

 private:
  struct WatchedFilesystem {
    FilesystemRule rule;
    std::optional<platform::MountPoint> mount;  // the mount holding rule.path, if known
    bool probe_failing = false;
  };

  StorageWatcher(platform::FilesystemProbe& probe, std::vector<WatchedFilesystem> watched)
      : probe_(probe), watched_(std::move(watched)) {}

  std::unique_ptr<platform::FilesystemProbe> owned_probe_;  // when built by Kind()
  platform::FilesystemProbe& probe_;
  std::vector<WatchedFilesystem> watched_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_STORAGE_WATCHER_H_
