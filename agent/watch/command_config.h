// The [command] section: checks that are programs — a vendor RAID
// controller's CLI, a multipath check, a cluster tool — whose exit status and
// first line of output say the state of something redundant, behind the one
// redundancy state model.
#ifndef ATMHEALTH_AGENT_WATCH_COMMAND_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_COMMAND_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/rules/rule.h"
#include "agent/watch/measurement.h"
#include "platform/command_runner.h"

namespace atmhealth::agent {

// The monitoring-plugin convention (Nagios, Icinga, Sensu): 0 OK is
// redundant, 1 WARNING degraded, 2 CRITICAL down. 3 UNKNOWN and any other
// status mean the check itself failed.
const std::map<int, RedundancyState>& PluginExitStates();

// [[command.check]]: one check.
struct CommandCheckConfig {
  // name: the alert's subject, e.g. "megaraid".
  std::string name;
  // kind: which alert the check stands for: "raid" (a RAID controller),
  // "link_group" (multipath, a bond), "peer" or "cluster".
  v1::AlertKind kind = v1::ALERT_KIND_UNSPECIFIED;
  // command, time_limit, output_limit: how it is run (no shell). Standard
  // error is thrown away: by the plugin convention the status is on
  // standard output.
  platform::CommandSpec command{
      {}, std::chrono::seconds(10), 64 * 1024, platform::CommandSpec::Stderr::kDiscarded};
  // exit_states: the state each exit status means; a status not listed is
  // a failed check. PluginExitStates() unless configured.
  std::map<int, RedundancyState> exit_states = PluginExitStates();
  // for and states: [command]'s unless the check gives its own.
  StateSpec states{v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY};
};

struct CommandConfig final : WatcherSettings {
  CommandConfig() { interval = std::chrono::seconds(30); }

  // [command] for and [command.states]: every check's unless it has its own.
  StateSpec states{v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY};
  std::vector<CommandCheckConfig> checks;

  std::vector<std::string> Describe() const override;
};

// Reads [command]; nullptr when the file has none (the watcher is off). It
// needs at least one [[command.check]]. Every error names file, line and key.
Result<std::shared_ptr<const CommandConfig>> ReadCommandConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_COMMAND_CONFIG_H_
