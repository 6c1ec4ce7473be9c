// The md RAID watcher: the state of every Linux software RAID array in
// /proc/mdstat behind the one redundancy state model — the FSA's "redundancy
// did not work" found while the array still serves, before the second disk
// fails.
#ifndef ATMHEALTH_AGENT_WATCH_RAID_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_RAID_WATCHER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/watch/raid_config.h"
#include "agent/watch/redundancy_rule.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"
#include "platform/md_raid.h"

namespace atmhealth::agent {

// Each Sample() reads <proc_root>/mdstat and appends, per array with
// redundancy (raid1/4/5/6/10; raid0 and linear have none, and an inactive
// array of spares only is an IMSM/DDF container: both skipped unless listed)
// and per listed array:
//   ALERT_KIND_RAID <array>  working members (UNIT_COUNT), expected = the
//                            members the array should have, state:
//     redundant   every member works (a check or scrub may be running);
//     degraded    fewer working members than it should have: running
//                 without redundancy ("failed" names the failed members);
//     recovering  a recovery, resync or reshape is rebuilding redundancy
//                 ("sync_progress", "sync_eta", "sync_speed");
//     down        inactive, or listed and not in mdstat (or no mdstat at
//                 all: the md driver is not loaded).
//   Context: level, slots ("[U_]"), members, failed, spares, missing slots,
//   the sync action and its progress, and the array's mdstat text.
//   ALERT_KIND_AGENT_HEALTH probe:<proc_root>/mdstat  1 while mdstat cannot
//   be read or parsed (the error names file and line), else 0; the arrays
//   keep their last state meanwhile.
// Not thread-safe: sampled by one thread.
class RaidWatcher final : public Watcher {
 public:
  explicit RaidWatcher(const RaidConfig& config);

  // The registry entry: [raid], off unless the section is present.
  static WatcherKind Kind();

  std::string_view name() const override { return "raid"; }
  void Sample(std::vector<Measurement>& out) override;
  // A state rule per array seen or listed, and the mdstat probe rule.
  std::vector<RuleDefinition> Rules() const override;

  // The state of one array as mdstat shows it.
  static RedundancyState StateOf(const platform::MdArray& array);
  // The measurement of one array; `block` is its text in mdstat.
  static Measurement Measure(const platform::MdArray& array, std::string_view block);

 private:
  RaidConfig config_;
  SourceHealth source_;
  std::vector<std::string> subjects_;  // arrays seen at the last sample, and the listed ones
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_RAID_WATCHER_H_
