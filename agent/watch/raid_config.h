// The [raid] section: Linux md RAID arrays from /proc/mdstat.
#ifndef ATMHEALTH_AGENT_WATCH_RAID_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_RAID_CONFIG_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/rules/rule.h"

namespace atmhealth::agent {

struct RaidConfig final : WatcherSettings {
  RaidConfig() { interval = std::chrono::seconds(10); }

  // [raid] proc_root: where mdstat is read, "<proc_root>/mdstat".
  std::string proc_root = "/proc";
  // [raid] arrays: arrays that must exist ("md0"); one missing from mdstat
  // is down. Arrays not listed are watched too while they exist.
  std::vector<std::string> arrays;
  // [raid] for and [raid.states]: the severity and customer impact of each
  // state, category daily operation redundancy.
  StateSpec states{v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY};

  std::vector<std::string> Describe() const override;
};

// Reads [raid]; nullptr when the file has no [raid] section (the watcher is
// off). Services named in impacts must be among `offered`.
Result<std::shared_ptr<const RaidConfig>> ReadRaidConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_RAID_CONFIG_H_
