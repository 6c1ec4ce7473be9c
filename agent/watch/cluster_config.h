// The [cluster] section: high-availability clusters the device is a member
// of — keepalived VRRP instances and a pacemaker cluster — behind the one
// redundancy state model.
#ifndef ATMHEALTH_AGENT_WATCH_CLUSTER_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_CLUSTER_CONFIG_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/rules/rule.h"
#include "platform/command_runner.h"

namespace atmhealth::agent {

// The role this node has in a VRRP instance when all is well.
enum class VrrpRole {
  kMaster,  // holds the virtual address: BACKUP here means the peer took over
  kBackup,  // stands by: MASTER here means this node took over
  kEither,  // equal priorities, no preemption: MASTER and BACKUP are both normal
};
const char* VrrpRoleName(VrrpRole role);

// [[cluster.vrrp]]: one keepalived VRRP instance, read from the file a
// notify script writes (state_file), keepalived's data dump (data_file) or
// keepalived's notify FIFO (fifo). Exactly one of the three is set.
struct VrrpInstanceConfig {
  std::string instance;  // instance: "VI_1", the alert's subject
  VrrpRole role = VrrpRole::kEither;
  std::string state_file;  // state_file: a notify script's state file
  std::string data_file;   // data_file: keepalived's SIGUSR1 dump
  std::string fifo;        // fifo: keepalived's vrrp_notify_fifo (or notify_fifo)
  std::uint32_t line = 0;  // where the table starts, for messages

  // The file or FIFO it is read from.
  const std::string& source() const {
    return !state_file.empty() ? state_file : !data_file.empty() ? data_file : fifo;
  }
};

// [cluster.pacemaker]: the pacemaker cluster, from crm_mon's XML.
struct PacemakerConfig {
  std::string name = "pacemaker";  // name: the alert's subject
  // command, time_limit, output_limit: how crm_mon is run (no shell).
  // On pacemaker 1.1, ["crm_mon", "--as-xml"].
  platform::CommandSpec command{{"crm_mon", "--output-as=xml"},
                                std::chrono::seconds(10),
                                1024 * 1024,
                                platform::CommandSpec::Stderr::kDiscarded};
  // preferred_node: the node the resources run on when all is well; a
  // resource running on another node is failed over. Empty: no preference.
  std::string preferred_node;
};

struct ClusterConfig final : WatcherSettings {
  ClusterConfig() { interval = std::chrono::seconds(10); }

  std::vector<VrrpInstanceConfig> vrrp;
  std::optional<PacemakerConfig> pacemaker;
  // [cluster] for and [cluster.states], category daily operation redundancy.
  StateSpec states{v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY};

  std::vector<std::string> Describe() const override;
};

// Reads [cluster]; nullptr when the file has none (the watcher is off). It
// needs at least one source: a [[cluster.vrrp]] or [cluster.pacemaker].
Result<std::shared_ptr<const ClusterConfig>> ReadClusterConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_CLUSTER_CONFIG_H_
