// The one place that knows every kind of watcher. Config reading and the
// daemon go through it, so adding a watcher means writing it and adding one
// line to WatcherKinds(); nothing in config.cc, the daemon, rules, store or
// uplink changes.
#ifndef ATMHEALTH_AGENT_WATCH_WATCHER_REGISTRY_H_
#define ATMHEALTH_AGENT_WATCH_WATCHER_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/store/throughput_baseline.h"
#include "agent/watch/watcher.h"
#include "platform/clock.h"
#include "platform/status.h"

namespace atmhealth::agent {

// What every watcher is built with besides its own settings.
struct WatcherContext {
  const DeviceConfig& device;
  const platform::Clock& clock;
  // Where the throughput watcher keeps its surge baseline (the buffer file);
  // null: in memory only.
  ThroughputBaselineStore* throughput_baseline = nullptr;
};

struct WatcherKind {
  // The TOML section and the watcher's name, e.g. "storage".
  std::string_view section;
  // Reads the section through the one TOML reader; `section` is an empty
  // table when the file has none. Returns nullptr when the section leaves
  // the watcher off. Every error names file, line and key.
  std::function<Result<std::shared_ptr<const WatcherSettings>>(const ConfigSection& section,
                                                               const DeviceConfig& device)>
      parse;
  // Builds the watcher from what `parse` returned.
  std::function<Result<std::unique_ptr<Watcher>>(const WatcherSettings& settings,
                                                 const WatcherContext& context)>
      create;
};

// Every kind of watcher, in the order they are configured and sampled.
const std::vector<WatcherKind>& WatcherKinds();

// The section names of every kind, for the config's top-level key check.
std::vector<std::string_view> WatcherSections();

// Reads each kind's section of `root`. With `problems`, a section with a
// problem is noted there and left out, and the next one is read.
Result<std::vector<WatcherConfig>> ParseWatchers(const ConfigSection& root,
                                                 const DeviceConfig& device,
                                                 std::vector<Error>* problems = nullptr);

// Builds one configured watcher.
Result<std::unique_ptr<Watcher>> CreateWatcher(const WatcherConfig& config,
                                               const WatcherContext& context);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_WATCHER_REGISTRY_H_
