#include "agent/watch/cluster_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "platform/text_input.h"

namespace atmhealth::agent {
namespace {

// bytes; keepalived's dump is a few KiB per instance
constexpr std::size_t kMaxDataFileBytes = 1 << 20;

std::string Joined(const std::vector<std::string>& items, std::string_view separator = ",") {
  return fmt::format("{}", fmt::join(items, separator));
}

void AddIfAny(Measurement& m, const char* key, const std::vector<std::string>& items,
              std::string_view separator = ",") {
  if (!items.empty()) m.context.emplace_back(key, Joined(items, separator));
}

bool IsFenceDevice(const platform::ClusterResource& resource) {
  return resource.agent.rfind("stonith:", 0) == 0;
}

bool Equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool Promoted(const platform::ClusterResource& resource) {
  return resource.role == "Promoted" || resource.role == "Master";
}

}  // namespace

WatcherKind ClusterWatcher::Kind() {
  WatcherKind kind;
  kind.section = "cluster";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig& device) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadClusterConfig(section, device.services);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext&) -> Result<std::unique_ptr<Watcher>> {
    const auto& config = dynamic_cast<const ClusterConfig&>(settings);
    spdlog::info("watching {} keepalived instances{}", config.vrrp.size(),
                 config.pacemaker ? " and the pacemaker cluster" : "");
    return std::unique_ptr<Watcher>(new ClusterWatcher(config));
  };
  return kind;
}

ClusterWatcher::ClusterWatcher(const ClusterConfig& config) : config_(config) {
  for (const VrrpInstanceConfig& vrrp : config_.vrrp) {
    Source(vrrp.source());
    if (!vrrp.fifo.empty() && fifos_.count(vrrp.fifo) == 0) {
      fifos_.emplace(vrrp.fifo, std::make_unique<VrrpFifoReader>(vrrp.fifo, config_.interval));
    }
  }
  if (config_.pacemaker) {
    crm_mon_source_ = std::make_unique<SourceHealth>("cluster", "crm_mon");
    platform::CommandSpec command = config_.pacemaker->command;
    command.stderr_handling = platform::CommandSpec::Stderr::kDiscarded;  // keeps the XML whole
    poller_ = std::make_unique<CommandPoller>(std::move(command), config_.interval);
  }
}

Measurement ClusterWatcher::MeasureVrrp(const VrrpInstanceConfig& config, platform::VrrpState state,
                                        std::optional<int> priority) {
  using platform::VrrpState;
  const bool taking_part = state == VrrpState::kMaster || state == VrrpState::kBackup;
  Measurement m(v1::ALERT_KIND_CLUSTER, config.instance, taking_part ? 1 : 0, v1::UNIT_COUNT,
                {{"source", "keepalived"},
                 {"vrrp_state", platform::VrrpStateName(state)},
                 {"role", VrrpRoleName(config.role)}});
  m.expected = 1;
  std::string reason;
  switch (state) {
    case VrrpState::kMaster:
    case VrrpState::kBackup: {
      // MASTER on a backup node or BACKUP on a master node: a failover.
      const VrrpRole other = state == VrrpState::kMaster ? VrrpRole::kBackup : VrrpRole::kMaster;
      const bool took_over = config.role == other;
      m.state = took_over ? RedundancyState::kFailedOver : RedundancyState::kRedundant;
      reason = !took_over                    ? "this node is in its usual role"
               : state == VrrpState::kMaster ? "this backup node took over the virtual address"
                                             : "the peer took over the virtual address";
      break;
    }
    case VrrpState::kInit:
      m.state = RedundancyState::kRecovering;
      reason = "keepalived is starting the instance";
      break;
    case VrrpState::kFault:
    case VrrpState::kStop:
    case VrrpState::kDeleted:
      m.state = RedundancyState::kDegraded;
      reason = "this node can neither hold nor take over the virtual address";
      break;
  }
  m.context.emplace_back("reason", reason);
  if (priority) m.context.emplace_back("priority", std::to_string(*priority));
  return m;
}

SourceHealth& ClusterWatcher::Source(const std::string& file) {
  auto it = sources_.find(file);
  if (it == sources_.end()) it = sources_.emplace(file, SourceHealth("cluster", file)).first;
  return it->second;
}

std::map<std::string, VrrpFifoReader::View> ClusterWatcher::SampleFifos(
    std::vector<Measurement>& out) {
  std::map<std::string, VrrpFifoReader::View> views;
  for (const auto& [path, reader] : fifos_) {
    VrrpFifoReader::View view = reader->Latest();
    SourceHealth& source = Source(path);
    if (view.open_error) {
      out.push_back(source.Failed(*view.open_error));
    } else {
      Measurement worked = source.Worked();
      worked.context.emplace_back("lines", std::to_string(view.lines));
      worked.context.emplace_back("malformed_lines", std::to_string(view.malformed));
      if (view.last_malformed) {
        worked.context.emplace_back("last_malformed", view.last_malformed->message());
      }
      out.push_back(std::move(worked));
    }
    // Logged when more arrived, not at every sample: the count says how many.
    std::uint64_t& logged = malformed_logged_[path];
    if (view.malformed > logged && view.last_malformed) {
      spdlog::warn("cluster: {} malformed lines from keepalived so far, the latest: {}",
                   view.malformed, view.last_malformed->message());
      logged = view.malformed;
    }
    views.emplace(path, std::move(view));
  }
  return views;
}

void ClusterWatcher::SampleVrrp(std::vector<Measurement>& out) {
  const std::map<std::string, VrrpFifoReader::View> fifos = SampleFifos(out);
  // A data file lists every instance: read once per sample, whichever
  // instances it serves.
  std::map<std::string, Result<std::vector<platform::VrrpInstanceData>>> dumps;
  for (const VrrpInstanceConfig& vrrp : config_.vrrp) {
    if (!vrrp.data_file.empty() && dumps.count(vrrp.data_file) == 0) {
      auto text = platform::ReadTextFile(vrrp.data_file, kMaxDataFileBytes);
      auto instances = text.ok() ? platform::ParseKeepalivedData(*text, vrrp.data_file)
                                 : Result<std::vector<platform::VrrpInstanceData>>(text.error());
      SourceHealth& source = Source(vrrp.data_file);
      out.push_back(instances.ok() ? source.Worked() : source.Failed(instances.error()));
      dumps.emplace(vrrp.data_file, std::move(instances));
    }
  }
  for (const VrrpInstanceConfig& vrrp : config_.vrrp) {
    if (!vrrp.fifo.empty()) {
      const VrrpFifoReader::View& view = fifos.at(vrrp.fifo);
      const auto latest = view.instances.find(vrrp.instance);
      if (latest == view.instances.end()) continue;  // keepalived said nothing of it yet
      Measurement m = MeasureVrrp(vrrp, latest->second.state, latest->second.priority);
      m.context.emplace_back("fifo", vrrp.fifo);
      out.push_back(std::move(m));
      continue;
    }
    if (!vrrp.state_file.empty()) {
      auto notice = platform::ReadVrrpStateFile(vrrp.state_file, vrrp.instance);
      if (notice.ok() && notice->name != vrrp.instance) {
        notice = Error(ErrorCode::kInvalidArgument,
                       fmt::format("{}: names instance \"{}\", not \"{}\"", vrrp.state_file,
                                   notice->name, vrrp.instance));
      }
      SourceHealth& source = Source(vrrp.state_file);
      if (!notice.ok()) {
        out.push_back(source.Failed(notice.error()));
        continue;
      }
      out.push_back(source.Worked());
      Measurement m = MeasureVrrp(vrrp, notice->state, notice->priority);
      m.context.emplace_back("file", vrrp.state_file);
      out.push_back(std::move(m));
      continue;
    }
    const auto& instances = dumps.at(vrrp.data_file);
    if (!instances.ok()) continue;  // its probe alert says why; the state holds
    const auto found = std::find_if(
        instances->begin(), instances->end(),
        [&](const platform::VrrpInstanceData& data) { return data.name == vrrp.instance; });
    if (found == instances->end()) {
      Measurement gone(v1::ALERT_KIND_CLUSTER, vrrp.instance, 0, v1::UNIT_COUNT,
                       {{"source", "keepalived"},
                        {"role", VrrpRoleName(vrrp.role)},
                        {"reason", "keepalived runs no such instance"},
                        {"file", vrrp.data_file}});
      gone.expected = 1;
      gone.state = RedundancyState::kDown;
      out.push_back(std::move(gone));
      continue;
    }
    Measurement m = MeasureVrrp(vrrp, found->state, found->priority);
    if (found->wanted_state) {
      m.context.emplace_back("wanted_state", platform::VrrpStateName(*found->wanted_state));
    }
    if (found->effective_priority) {
      m.context.emplace_back("effective_priority", std::to_string(*found->effective_priority));
    }
    if (!found->interface.empty()) m.context.emplace_back("interface", found->interface);
    m.context.emplace_back("file", vrrp.data_file);
    out.push_back(std::move(m));
  }
}

Measurement ClusterWatcher::MeasureCluster(const std::string& subject,
                                           const platform::ClusterStatus& status,
                                           std::string_view preferred_node) {
  std::vector<std::string> online, offline, standby, unclean;
  double members = 0;
  for (const platform::ClusterNode& node : status.nodes) {
    if (!node.type.empty() && node.type != "member") continue;
    ++members;
    if (node.unclean) unclean.push_back(node.name);
    if (!node.online) {
      offline.push_back(node.name);
    } else if (node.standby || node.standby_onfail || node.maintenance || node.pending) {
      standby.push_back(node.name);
    } else {
      online.push_back(node.name);
    }
  }

  std::map<std::string, int> instances;  // clone instances share their id
  for (const platform::ClusterResource& resource : status.resources) ++instances[resource.id];
  std::vector<std::string> stopped, failed, multi_active, elsewhere;
  std::set<std::string> seen_stopped, seen_failed, seen_elsewhere;
  bool any_service = false, any_service_active = false;
  for (const platform::ClusterResource& resource : status.resources) {
    const bool service = !IsFenceDevice(resource);
    const bool wanted_stopped = Equals(resource.target_role, "Stopped");
    if (service && !wanted_stopped) {
      any_service = true;
      any_service_active = any_service_active || resource.active;
    }
    if (resource.nodes.size() > 1) {
      multi_active.push_back(fmt::format("{} on {}", resource.id, Joined(resource.nodes)));
    }
    if ((resource.failed || resource.blocked) && seen_failed.insert(resource.id).second) {
      failed.push_back(resource.id);
    }
    if (!resource.active && !wanted_stopped && seen_stopped.insert(resource.id).second) {
      stopped.push_back(resource.id);
    }
    // Where a resource runs matters for a primitive and for the promoted
    // instance of a clone, not for the other instances nor fence devices.
    if (!preferred_node.empty() && service && resource.active &&
        (instances[resource.id] == 1 || Promoted(resource)) &&
        std::find(resource.nodes.begin(), resource.nodes.end(), preferred_node) ==
            resource.nodes.end() &&
        seen_elsewhere.insert(resource.id).second) {
      elsewhere.push_back(fmt::format("{} on {}", resource.id, Joined(resource.nodes)));
    }
  }
  std::vector<std::string> failed_actions;
  for (const platform::ClusterFailure& failure : status.failures) {
    std::string action =
        fmt::format("{} on {}: {}", failure.op_key, failure.node.empty() ? "?" : failure.node,
                    failure.exit_status.empty() ? failure.status : failure.exit_status);
    if (!failure.exit_reason.empty()) action += " (" + failure.exit_reason + ")";
    failed_actions.push_back(std::move(action));
  }

  Measurement m(v1::ALERT_KIND_CLUSTER, subject, static_cast<double>(online.size()), v1::UNIT_COUNT,
                {{"source", "pacemaker"}});
  m.expected = members;
  const bool not_connected = status.nodes.empty() && status.result_code.value_or(0) != 0;
  std::string reason;
  if (not_connected || status.nodes.empty()) {
    m.state = RedundancyState::kDown;
    reason = not_connected ? fmt::format("crm_mon cannot reach the cluster: {} (code {})",
                                         status.result_message, *status.result_code)
                           : "crm_mon shows no cluster nodes";
  } else if (any_service && !any_service_active) {
    m.state = RedundancyState::kDown;
    reason = "no resource runs anywhere";
  } else if (!multi_active.empty()) {
    m.state = RedundancyState::kSplitBrain;
    reason = "a resource is active on more than one node";
  } else if (status.with_quorum == false) {
    m.state = RedundancyState::kSplitBrain;
    reason = "this partition has no quorum: the cluster is split";
  } else if (!elsewhere.empty()) {
    m.state = RedundancyState::kFailedOver;
    reason = fmt::format("resources run elsewhere than their preferred node {}", preferred_node);
  } else if (!offline.empty() || !unclean.empty() || !standby.empty() || !failed.empty() ||
             !stopped.empty() || !failed_actions.empty()) {
    m.state = RedundancyState::kDegraded;
    reason = !offline.empty() || !unclean.empty() || !standby.empty()
                 ? "a node is not available: the cluster runs without a spare"
                 : "a resource failed or is stopped";
  } else {
    m.state = RedundancyState::kRedundant;
    reason = "every node online and every resource running";
  }
  m.context.emplace_back("reason", reason);
  m.context.emplace_back("dc", status.dc.empty() ? "none" : status.dc);
  m.context.emplace_back("quorum", !status.with_quorum   ? "unknown"
                                   : *status.with_quorum ? "yes"
                                                         : "no");
  if (status.maintenance_mode) m.context.emplace_back("maintenance_mode", "true");
  AddIfAny(m, "nodes_online", online);
  AddIfAny(m, "nodes_offline", offline);
  AddIfAny(m, "nodes_standby", standby);
  AddIfAny(m, "nodes_unclean", unclean);
  AddIfAny(m, "resources_stopped", stopped);
  AddIfAny(m, "resources_failed", failed);
  AddIfAny(m, "multi_active", multi_active, "; ");
  AddIfAny(m, "running_elsewhere", elsewhere, "; ");
  AddIfAny(m, "failed_actions", failed_actions, "; ");
  if (!preferred_node.empty()) m.context.emplace_back("preferred_node", preferred_node);
  if (status.result_code.value_or(0) != 0) {
    m.context.emplace_back("crm_mon",
                           fmt::format("code {}: {}", *status.result_code, status.result_message));
  }
  return m;
}

void ClusterWatcher::SamplePacemaker(std::vector<Measurement>& out) {
  std::optional<CommandPoller::Run> run = poller_->Latest();
  // Nothing new: the cluster keeps its state until the next run ends (a
  // run that hangs ends at its time limit).
  if (!run || run->number == last_run_) return;
  last_run_ = run->number;
  const Result<platform::ClusterStatus> status =
      platform::ReadCrmMonRun(poller_->command(), run->outcome);
  if (!status.ok()) {
    Measurement failed = crm_mon_source_->Failed(status.error());
    failed.context.emplace_back("timeouts", std::to_string(run->timeouts));
    out.push_back(std::move(failed));
    return;
  }
  Measurement worked = crm_mon_source_->Worked();
  worked.context.emplace_back("timeouts", std::to_string(run->timeouts));
  out.push_back(std::move(worked));
  out.push_back(
      MeasureCluster(config_.pacemaker->name, *status, config_.pacemaker->preferred_node));
}

void ClusterWatcher::Sample(std::vector<Measurement>& out) {
  SampleVrrp(out);
  if (poller_) SamplePacemaker(out);
}

std::vector<RuleDefinition> ClusterWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  for (const VrrpInstanceConfig& vrrp : config_.vrrp) {
    rules.push_back(RedundancyRule(v1::ALERT_KIND_CLUSTER, vrrp.instance, config_.states));
  }
  for (const auto& [file, source] : sources_) rules.push_back(source.Rule());
  if (config_.pacemaker) {
    rules.push_back(
        RedundancyRule(v1::ALERT_KIND_CLUSTER, config_.pacemaker->name, config_.states));
    rules.push_back(crm_mon_source_->Rule());
  }
  return rules;
}

std::vector<WatcherThread> ClusterWatcher::Threads() const {
  std::vector<WatcherThread> threads;
  if (poller_) {
    threads.push_back(
        WatcherThread{"crm_mon", poller_->executor(), config_.pacemaker->command.time_limit});
  }
  for (const auto& [path, reader] : fifos_) {
    threads.push_back(WatcherThread{"keepalived fifo " + path, reader->executor()});
  }
  return threads;
}

}  // namespace atmhealth::agent
