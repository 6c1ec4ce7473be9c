#include "agent/watch/bonding_config.h"

#include <fmt/format.h>

#include "agent/watch/redundancy_rule.h"

namespace atmhealth::agent {

std::vector<std::string> BondingConfig::Describe() const {
  return {fmt::format("bonding: {}/net/bonding every {}, bonds {}; {}", proc_root,
                      platform::FormatDuration(interval),
                      bonds.empty() ? "as found" : fmt::format("{}", fmt::join(bonds, ", ")),
                      DescribeStates(states))};
}

Result<std::shared_ptr<const BondingConfig>> ReadBondingConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered) {
  if (!section.present()) return std::shared_ptr<const BondingConfig>();
  ATMHEALTH_RETURN_IF_ERROR(
      section.CheckKeys({"interval", "proc_root", "bonds", "for", "states"}, false));
  auto config = std::make_shared<BondingConfig>();
  ATMHEALTH_RETURN_IF_ERROR(section.ReadSamplingTime("interval", config->interval));
  ATMHEALTH_RETURN_IF_ERROR(ReadRoot(section, "proc_root", config->proc_root));
  ATMHEALTH_RETURN_IF_ERROR(section.ReadStrings("bonds", config->bonds));
  for (std::size_t i = 0; i < config->bonds.size(); ++i) {
    if (config->bonds[i].find_first_of("/ \t") != std::string::npos) {
      return section.FailAt(
          *section.Get("bonds")->as_array()->get(i),
          fmt::format("{}[{}]", section.PathOf("bonds"), i),
          fmt::format("must be an interface name like \"bond0\", not \"{}\"", config->bonds[i]));
    }
  }
  for (std::size_t i = 0; i < config->bonds.size(); ++i) {
    config->named_subjects.push_back(
        {v1::ALERT_KIND_LINK_GROUP, config->bonds[i],
         section.WhereAt(*section.Get("bonds")->as_array()->get(i),
                         fmt::format("{}[{}]", section.PathOf("bonds"), i))});
  }
  ATMHEALTH_RETURN_IF_ERROR(ReadRedundancyRule(section, offered, config->states));
  return std::shared_ptr<const BondingConfig>(std::move(config));
}

}  // namespace atmhealth::agent
