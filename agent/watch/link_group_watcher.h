// The link-group watcher: groups of network interfaces of which at least k
// must be up (/sys/class/net/<if>/operstate and carrier). One link of two
// down still serves every customer — redundancy lost while the service is
// still up — and is what it alerts on first.
#ifndef ATMHEALTH_AGENT_WATCH_LINK_GROUP_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_LINK_GROUP_WATCHER_H_

#include <memory>
#include <string_view>
#include <vector>

#include "agent/watch/link_group_config.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"

namespace atmhealth::agent {

// Each Sample() appends per group:
//   ALERT_KIND_LINK_GROUP <name>  interfaces up (UNIT_COUNT), expected = all
//   of them, state redundant (all up), degraded (at least min_up, not all),
//   down (fewer than min_up); context: the interfaces up, and those down
//   each with its reason ("eth1: no carrier (operstate lowerlayerdown)",
//   "eth2: no such interface", a sysfs text that cannot be parsed, naming
//   its file).
// Not thread-safe: sampled by one thread.
class LinkGroupWatcher final : public Watcher {
 public:
  explicit LinkGroupWatcher(const LinkGroupConfig& config) : config_(config) {}

  // The registry entry: [links], off unless the section is present.
  static WatcherKind Kind();

  std::string_view name() const override { return "links"; }
  void Sample(std::vector<Measurement>& out) override;
  std::vector<RuleDefinition> Rules() const override;

 private:
  LinkGroupConfig config_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_LINK_GROUP_WATCHER_H_
