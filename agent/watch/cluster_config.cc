#include "agent/watch/cluster_config.h"

#include <fmt/format.h>

#include "agent/watch/redundancy_rule.h"

namespace atmhealth::agent {

const char* VrrpRoleName(VrrpRole role) {
  switch (role) {
    case VrrpRole::kMaster:
      return "master";
    case VrrpRole::kBackup:
      return "backup";
    case VrrpRole::kEither:
      return "either";
  }
  return "either";
}

std::vector<std::string> ClusterConfig::Describe() const {
  std::vector<std::string> lines;
  for (const VrrpInstanceConfig& vrrp_instance : vrrp) {
    lines.push_back(fmt::format(
        "cluster vrrp {}: role {}, {} {}", vrrp_instance.instance, VrrpRoleName(vrrp_instance.role),
        !vrrp_instance.state_file.empty()  ? "state file"
        : !vrrp_instance.data_file.empty() ? "data file"
                                           : "notify FIFO read on its own thread",
        vrrp_instance.source()));
  }
  if (pacemaker) {
    lines.push_back(fmt::format(
        "cluster pacemaker {}: {} on its own thread, time limit {}, output limit {} bytes{}",
        pacemaker->name, fmt::join(pacemaker->command.argv, " "),
        platform::FormatDuration(pacemaker->command.time_limit), pacemaker->command.output_limit,
        pacemaker->preferred_node.empty() ? std::string()
                                          : ", preferred node " + pacemaker->preferred_node));
  }
  lines.push_back(fmt::format("cluster: every {}; {}", platform::FormatDuration(interval),
                              DescribeStates(states)));
  return lines;
}

namespace {

Status ReadVrrp(const ConfigSection& section, ClusterConfig& config) {
  const toml::node* instances = section.Get("vrrp");
  if (instances == nullptr) return OkStatus();
  if (!instances->is_array_of_tables()) {
    return section.Fail("vrrp", "must be tables: [[cluster.vrrp]] with an instance and its file");
  }
  const toml::array& array = *instances->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const ConfigSection table(section.source(), *array.get(i)->as_table(),
                              fmt::format("{}[{}]", section.PathOf("vrrp"), i), section.line());
    ATMHEALTH_RETURN_IF_ERROR(
        table.CheckKeys({"instance", "role", "state_file", "data_file", "fifo"}, false));
    VrrpInstanceConfig vrrp;
    vrrp.line = table.line();
    if (!table.Has("instance")) {
      return table.Fail("instance", "required: the VRRP instance's name, like \"VI_1\"");
    }
    ATMHEALTH_RETURN_IF_ERROR(table.ReadString("instance", vrrp.instance));
    if (vrrp.instance.empty()) return table.Fail("instance", "must not be empty");
    for (const VrrpInstanceConfig& other : config.vrrp) {
      if (other.instance == vrrp.instance) {
        return table.Fail("instance", fmt::format("\"{}\" is watched by another [[cluster.vrrp]]",
                                                  vrrp.instance));
      }
    }
    std::string role = "either";
    ATMHEALTH_RETURN_IF_ERROR(table.ReadString("role", role));
    if (role == "master") {
      vrrp.role = VrrpRole::kMaster;
    } else if (role == "backup") {
      vrrp.role = VrrpRole::kBackup;
    } else if (role == "either") {
      vrrp.role = VrrpRole::kEither;
    } else {
      return table.Fail(
          "role", fmt::format("must be \"master\", \"backup\" or \"either\", not \"{}\"", role));
    }
    const int sources =
        int{table.Has("state_file")} + int{table.Has("data_file")} + int{table.Has("fifo")};
    if (sources != 1) {
      return table.Fail(sources == 0        ? "state_file"
                        : table.Has("fifo") ? "fifo"
                                            : "data_file",
                        "give exactly one of state_file (written by a notify script), data_file "
                        "(keepalived's SIGUSR1 dump) and fifo (keepalived's vrrp_notify_fifo)");
    }
    const std::string_view file_key = table.Has("state_file")  ? "state_file"
                                      : table.Has("data_file") ? "data_file"
                                                               : "fifo";
    std::string& file = table.Has("state_file")  ? vrrp.state_file
                        : table.Has("data_file") ? vrrp.data_file
                                                 : vrrp.fifo;
    ATMHEALTH_RETURN_IF_ERROR(ReadRoot(table, file_key, file));
    config.named_subjects.push_back(
        {v1::ALERT_KIND_CLUSTER, vrrp.instance,
         table.WhereAt(*table.Get("instance"), table.PathOf("instance"))});
    config.vrrp.push_back(std::move(vrrp));
  }
  return OkStatus();
}

Status ReadPacemaker(const ConfigSection& section, ClusterConfig& config) {
  auto pacemaker_section = section.Child("pacemaker");
  if (!pacemaker_section.ok()) return pacemaker_section.error();
  const ConfigSection& table = *pacemaker_section;
  if (!table.present()) return OkStatus();
  ATMHEALTH_RETURN_IF_ERROR(
      table.CheckKeys({"name", "command", "time_limit", "output_limit", "preferred_node"}, false));
  PacemakerConfig pacemaker;
  ATMHEALTH_RETURN_IF_ERROR(table.ReadString("name", pacemaker.name));
  if (pacemaker.name.empty()) return table.Fail("name", "must not be empty");
  for (const VrrpInstanceConfig& vrrp : config.vrrp) {
    if (vrrp.instance == pacemaker.name) {
      return table.Fail("name", fmt::format("\"{}\" is also a [[cluster.vrrp]] instance: both "
                                            "would raise the same alert",
                                            pacemaker.name));
    }
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadCommand(table, pacemaker.command));
  ATMHEALTH_RETURN_IF_ERROR(table.ReadString("preferred_node", pacemaker.preferred_node));
  config.named_subjects.push_back(
      {v1::ALERT_KIND_CLUSTER, pacemaker.name,
       table.Has("name") ? table.WhereAt(*table.Get("name"), table.PathOf("name"))
                         : fmt::format("{}:{}: {}", table.source(), table.line(), table.path())});
  config.pacemaker = std::move(pacemaker);
  return OkStatus();
}

}  // namespace

Result<std::shared_ptr<const ClusterConfig>> ReadClusterConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered) {
  if (!section.present()) return std::shared_ptr<const ClusterConfig>();
  ATMHEALTH_RETURN_IF_ERROR(
      section.CheckKeys({"interval", "for", "states", "vrrp", "pacemaker"}, false));
  auto config = std::make_shared<ClusterConfig>();
  ATMHEALTH_RETURN_IF_ERROR(section.ReadSamplingTime("interval", config->interval));
  ATMHEALTH_RETURN_IF_ERROR(ReadRedundancyRule(section, offered, config->states));
  ATMHEALTH_RETURN_IF_ERROR(ReadVrrp(section, *config));
  ATMHEALTH_RETURN_IF_ERROR(ReadPacemaker(section, *config));
  if (config->vrrp.empty() && !config->pacemaker) {
    return section.FailAtLine(section.line(), section.path(),
                              "needs a source: [[cluster.vrrp]] (keepalived) or "
                              "[cluster.pacemaker] (crm_mon)");
  }
  return std::shared_ptr<const ClusterConfig>(std::move(config));
}

}  // namespace atmhealth::agent
