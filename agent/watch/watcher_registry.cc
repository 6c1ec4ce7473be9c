#include "agent/watch/watcher_registry.h"

#include <fmt/format.h>

#include <map>

#include "agent/watch/bonding_watcher.h"
#include "agent/watch/cluster_watcher.h"
#include "agent/watch/command_watcher.h"
#include "agent/watch/file_change_watcher.h"
#include "agent/watch/link_group_watcher.h"
#include "agent/watch/peer_watcher.h"
#include "agent/watch/raid_watcher.h"
#include "agent/watch/storage_watcher.h"
#include "agent/watch/throughput_watcher.h"

namespace atmhealth::agent {

const std::vector<WatcherKind>& WatcherKinds() {
  static const std::vector<WatcherKind> kinds = {
      StorageWatcher::Kind(), ThroughputWatcher::Kind(), RaidWatcher::Kind(),
      BondingWatcher::Kind(), LinkGroupWatcher::Kind(),  PeerWatcher::Kind(),
      ClusterWatcher::Kind(), CommandWatcher::Kind(),    FileChangeWatcher::Kind(),
  };
  return kinds;
}

std::vector<std::string_view> WatcherSections() {
  std::vector<std::string_view> sections;
  for (const WatcherKind& kind : WatcherKinds()) sections.push_back(kind.section);
  return sections;
}

Result<std::vector<WatcherConfig>> ParseWatchers(const ConfigSection& root,
                                                 const DeviceConfig& device,
                                                 std::vector<Error>* problems) {
  std::vector<WatcherConfig> watchers;
  for (const WatcherKind& kind : WatcherKinds()) {
    auto section = root.Child(kind.section);
    if (!section.ok()) {
      if (problems == nullptr) return section.error();
      problems->push_back(section.error());
      continue;
    }
    auto settings = kind.parse(*section, device);
    if (!settings.ok()) {
      if (problems == nullptr) return settings.error();
      problems->push_back(settings.error());
      continue;
    }
    if (*settings == nullptr) continue;
    watchers.push_back(WatcherConfig{std::string(kind.section), std::move(settings).value()});
  }
  // One alert, one watcher: a link group named like a listed bond would
  // mix the group's and the bond's states in the alert link_group:<name>.
  std::map<std::string, const WatcherSettings::NamedSubject*> named;
  for (const WatcherConfig& watcher : watchers) {
    for (const WatcherSettings::NamedSubject& subject : watcher.settings->named_subjects) {
      const std::string key = AlertKey(subject.kind, subject.subject);
      const auto [first, added] = named.emplace(key, &subject);
      if (added) continue;
      Error error(ErrorCode::kInvalidArgument,
                  fmt::format("{}: \"{}\" is named at {} too: both would raise the alert {}; "
                              "give them different names",
                              subject.where, subject.subject, first->second->where, key));
      if (problems == nullptr) return error;
      problems->push_back(std::move(error));
    }
  }
  return watchers;
}

Result<std::unique_ptr<Watcher>> CreateWatcher(const WatcherConfig& config,
                                               const WatcherContext& context) {
  for (const WatcherKind& kind : WatcherKinds()) {
    if (kind.section == config.name) return kind.create(*config.settings, context);
  }
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("no watcher called \"{}\" in this build", config.name));
}

}  // namespace atmhealth::agent
