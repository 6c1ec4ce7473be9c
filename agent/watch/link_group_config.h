// The [links] section: groups of network interfaces of which at least k must
// be up, from /sys/class/net.
#ifndef ATMHEALTH_AGENT_WATCH_LINK_GROUP_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_LINK_GROUP_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/rules/rule.h"

namespace atmhealth::agent {

// [[links.group]]: interfaces that back each other up (two uplinks to two
// switches, the members of a team).
struct LinkGroup {
  std::string name;                     // name: the alert's subject
  std::vector<std::string> interfaces;  // interfaces: at least two
  std::size_t min_up = 1;               // min_up: fewer up is down; fewer than all, degraded
};

struct LinkGroupConfig final : WatcherSettings {
  LinkGroupConfig() { interval = std::chrono::seconds(5); }

  // [links] sys_root: interfaces are read under "<sys_root>/class/net".
  std::string sys_root = "/sys";
  std::vector<LinkGroup> groups;
  // [links] for and [links.states], category daily operation redundancy.
  StateSpec states{v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY};

  std::vector<std::string> Describe() const override;
};

// Reads [links]; nullptr when the file has none (the watcher is off).
Result<std::shared_ptr<const LinkGroupConfig>> ReadLinkGroupConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_LINK_GROUP_CONFIG_H_
