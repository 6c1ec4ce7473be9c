// The cluster watcher: keepalived VRRP instances and a pacemaker cluster
// behind the one redundancy state model — the standby that took over, the
// node that left its partner without a spare, both sides active.
#ifndef ATMHEALTH_AGENT_WATCH_CLUSTER_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_CLUSTER_WATCHER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/watch/cluster_config.h"
#include "agent/watch/command_poller.h"
#include "agent/watch/redundancy_rule.h"
#include "agent/watch/vrrp_fifo_reader.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"
#include "platform/keepalived.h"
#include "platform/pacemaker.h"

namespace atmhealth::agent {

// Each Sample() appends:
//   per [[cluster.vrrp]] instance, when its file was read:
//   ALERT_KIND_CLUSTER <instance>  1 while the instance is MASTER or BACKUP
//     (taking part in the pair), else 0; expected 1; state:
//     redundant    MASTER on a node whose role is master, BACKUP on one
//                  whose role is backup (either role: both);
//     failed_over  MASTER on a backup node (this node took over), BACKUP on
//                  a master node (the peer holds the address);
//     recovering   INIT: keepalived is starting the instance;
//     degraded     FAULT, STOP or DELETED: this node can neither hold nor
//                  take over the address, the pair runs without a spare;
//     down         the data file has no such instance.
//     Context: source, vrrp_state, role, priority, reason, file (and from a
//     data file: wanted_state, interface, effective_priority).
//     From the notify FIFO (read on a thread of its own: VrrpFifoReader) an
//     instance has its latest state keepalived wrote since the agent
//     started, none before its first line.
//   ALERT_KIND_AGENT_HEALTH probe:<file>  1 while the file cannot be read or
//     parsed, or the FIFO cannot be opened (the error names file and line);
//     the instance keeps its state. A FIFO's probe counts its lines and
//     malformed lines (malformed_lines, last_malformed naming FIFO and line).
//
//   for [cluster.pacemaker], when a crm_mon run finished since the last
//   sample (crm_mon runs on a thread of its own: CommandPoller):
//   ALERT_KIND_CLUSTER <name>  member nodes online, expected = members; state
//     (the first that holds):
//     down         crm_mon cannot reach the cluster ("Not connected"), or no
//                  resource runs at all (fence devices aside);
//     split_brain  a resource active on more than one node, or this
//                  partition has no quorum;
//     failed_over  a resource runs elsewhere than preferred_node;
//     degraded     a member node offline, unclean, in standby or
//                  maintenance, or a resource failed, blocked or stopped
//                  against its target role, or a failed action recorded;
//     redundant    otherwise.
//     Context: source, reason, dc, quorum, nodes online / offline / standby
//     / unclean, resources stopped / failed / multi_active /
//     running_elsewhere, failed_actions.
//   ALERT_KIND_AGENT_HEALTH probe:crm_mon  1 while crm_mon cannot be run,
//     is killed at its time limit, or its output is not crm_mon XML (the
//     error says which, with "timeouts": runs killed so far); the cluster
//     keeps its state.
// Sampled by one thread; the crm_mon poller has its own.
class ClusterWatcher final : public Watcher {
 public:
  explicit ClusterWatcher(const ClusterConfig& config);

  // The registry entry: [cluster], off unless the section is present.
  static WatcherKind Kind();

  std::string_view name() const override { return "cluster"; }
  void Sample(std::vector<Measurement>& out) override;
  std::vector<RuleDefinition> Rules() const override;
  std::vector<WatcherThread> Threads() const override;

  // The state of one VRRP instance on a node of `role`.
  static Measurement MeasureVrrp(const VrrpInstanceConfig& config, platform::VrrpState state,
                                 std::optional<int> priority);
  // The state of a pacemaker cluster as crm_mon shows it.
  static Measurement MeasureCluster(const std::string& subject,
                                    const platform::ClusterStatus& status,
                                    std::string_view preferred_node);

 private:
  void SampleVrrp(std::vector<Measurement>& out);
  // Reads each FIFO's latest view once, with its probe measurement.
  std::map<std::string, VrrpFifoReader::View> SampleFifos(std::vector<Measurement>& out);
  SourceHealth& Source(const std::string& file);
  void SamplePacemaker(std::vector<Measurement>& out);

  ClusterConfig config_;
  std::map<std::string, SourceHealth> sources_;  // keepalived's files, by path
  // keepalived's notify FIFOs, by path, and the malformed lines logged so far.
  std::map<std::string, std::unique_ptr<VrrpFifoReader>> fifos_;
  std::map<std::string, std::uint64_t> malformed_logged_;
  std::unique_ptr<SourceHealth> crm_mon_source_;
  std::unique_ptr<CommandPoller> poller_;  // runs crm_mon
  std::uint64_t last_run_ = 0;             // the crm_mon run sampled last
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_CLUSTER_WATCHER_H_
