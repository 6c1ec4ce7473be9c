// The file-change watcher: files whose content is part of what the ATM runs
// (the application's configuration, a program) are hashed; a change is a
// notice with the old and the new SHA-256, FSA category "program update", so
// that an unplanned change is on record next to the failure it may explain.
// A file is hashed again only when its size, times, inode or owner moved.
#ifndef ATMHEALTH_AGENT_WATCH_FILE_CHANGE_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_FILE_CHANGE_WATCHER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/watch/file_change_config.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"
#include "platform/file_digest.h"

namespace atmhealth::agent {

// Each Sample() appends per file:
//   ALERT_KIND_CONFIG_CHANGE <path>  size (UNIT_BYTES), fingerprint
//     "sha256:<hex>" or "missing"; context size, modified time, mode, owner;
//   ALERT_KIND_AGENT_HEALTH file:<path>  1 while it cannot be read or is too
//     large to hash (context: why), 0 once it can.
// Not thread-safe: sampled by one thread.
class FileChangeWatcher final : public Watcher {
 public:
  explicit FileChangeWatcher(const FileChangeConfig& config) : config_(config) {}

  // The registry entry: [file_changes], off unless the section is present.
  static WatcherKind Kind();

  std::string_view name() const override { return "file_changes"; }
  void Sample(std::vector<Measurement>& out) override;
  std::vector<RuleDefinition> Rules() const override;

 private:
  struct Known {
    platform::FileIdentity identity;
    std::string fingerprint;
  };

  FileChangeConfig config_;
  std::map<std::string, Known> known_;  // by path: the last hash and what it was of
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_FILE_CHANGE_WATCHER_H_
