// The [bonding] section: Linux NIC bonds from /proc/net/bonding.
#ifndef ATMHEALTH_AGENT_WATCH_BONDING_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_BONDING_CONFIG_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/rules/rule.h"

namespace atmhealth::agent {

struct BondingConfig final : WatcherSettings {
  BondingConfig() { interval = std::chrono::seconds(5); }

  // [bonding] proc_root: bonds are read from "<proc_root>/net/bonding/<bond>".
  std::string proc_root = "/proc";
  // [bonding] bonds: bonds that must exist ("bond0"); one missing is down.
  // Bonds not listed are watched too while they exist.
  std::vector<std::string> bonds;
  // [bonding] for and [bonding.states], category daily operation redundancy.
  StateSpec states{v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY};

  std::vector<std::string> Describe() const override;
};

// Reads [bonding]; nullptr when the file has none (the watcher is off).
Result<std::shared_ptr<const BondingConfig>> ReadBondingConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_BONDING_CONFIG_H_
