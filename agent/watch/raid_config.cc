#include "agent/watch/raid_config.h"

#include <fmt/format.h>

#include "agent/watch/redundancy_rule.h"

namespace atmhealth::agent {

std::vector<std::string> RaidConfig::Describe() const {
  std::vector<std::string> lines;
  lines.push_back(fmt::format(
      "raid: {}/mdstat every {}, arrays {}", proc_root, platform::FormatDuration(interval),
      arrays.empty() ? "as found" : fmt::format("{}", fmt::join(arrays, ", "))));
  lines.push_back("raid: " + DescribeStates(states));
  return lines;
}

Result<std::shared_ptr<const RaidConfig>> ReadRaidConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered) {
  if (!section.present()) return std::shared_ptr<const RaidConfig>();
  ATMHEALTH_RETURN_IF_ERROR(
      section.CheckKeys({"interval", "proc_root", "arrays", "for", "states"}, false));
  auto config = std::make_shared<RaidConfig>();
  ATMHEALTH_RETURN_IF_ERROR(section.ReadSamplingTime("interval", config->interval));
  ATMHEALTH_RETURN_IF_ERROR(ReadRoot(section, "proc_root", config->proc_root));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadStrings("arrays", config->arrays));
  for (std::size_t i = 0; i < config->arrays.size(); ++i) {
    if (config->arrays[i].find_first_of("/ \t") != std::string::npos) {
      return section.FailAt(
          *section.Get("arrays")->as_array()->get(i),
          fmt::format("{}[{}]", section.PathOf("arrays"), i),
          fmt::format("must be an array name like \"md0\", not \"{}\"", config->arrays[i]));
    }
    const toml::node& name = *section.Get("arrays")->as_array()->get(i);
    config->named_subjects.push_back(
        {v1::ALERT_KIND_RAID, config->arrays[i],
         section.WhereAt(name, fmt::format("{}[{}]", section.PathOf("arrays"), i))});
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadRedundancyRule(section, offered, config->states));
  return std::shared_ptr<const RaidConfig>(std::move(config));
}

}  // namespace atmhealth::agent
