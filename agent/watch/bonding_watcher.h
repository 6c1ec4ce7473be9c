// The bonding watcher: Linux NIC bonds (/proc/net/bonding/<bond>) behind the
// one redundancy state model: a slave down while the bond still carries
// traffic is redundancy lost while the service is still up.
#ifndef ATMHEALTH_AGENT_WATCH_BONDING_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_BONDING_WATCHER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/watch/bonding_config.h"
#include "agent/watch/redundancy_rule.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"
#include "platform/bonding.h"

namespace atmhealth::agent {

// Each Sample() appends per bond found or listed:
//   ALERT_KIND_LINK_GROUP <bond>  slaves up (UNIT_COUNT), expected = slaves,
//   state:
//     redundant    every slave up (active-backup: on its primary, if any);
//     degraded     a slave down, or (802.3ad) a slave up but outside the
//                  active aggregator: the bond runs without a spare link;
//     failed_over  active-backup running on another slave than its primary;
//     down         the bond's own link is down, no slave is up, (802.3ad)
//                  no active aggregator, or a listed bond is gone.
//   Context: mode, active slave, primary, slaves down, each slave's link
//   failure count and how many failures were new since the last sample.
//   ALERT_KIND_AGENT_HEALTH probe:<file>  1 while a bond's file cannot be
//   read or parsed (the error names file and line); the bond keeps its
//   state meanwhile.
// Not thread-safe: sampled by one thread.
class BondingWatcher final : public Watcher {
 public:
  explicit BondingWatcher(const BondingConfig& config) : config_(config) {}

  // The registry entry: [bonding], off unless the section is present.
  static WatcherKind Kind();

  std::string_view name() const override { return "bonding"; }
  void Sample(std::vector<Measurement>& out) override;
  std::vector<RuleDefinition> Rules() const override;

  // The state of one bond as the driver shows it.
  static RedundancyState StateOf(const platform::BondStatus& bond);

 private:
  SourceHealth& Source(const std::string& bond);

  BondingConfig config_;
  std::vector<std::string> subjects_;  // bonds seen at the last sample, and the listed ones
  std::map<std::string, SourceHealth> sources_;                           // by bond
  std::map<std::string, std::map<std::string, std::uint64_t>> failures_;  // bond -> slave -> count
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_BONDING_WATCHER_H_
