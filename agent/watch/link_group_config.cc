#include "agent/watch/link_group_config.h"

#include <fmt/format.h>

#include "agent/watch/redundancy_rule.h"

namespace atmhealth::agent {

std::vector<std::string> LinkGroupConfig::Describe() const {
  std::vector<std::string> lines;
  for (const LinkGroup& group : groups) {
    lines.push_back(fmt::format("links {}: {} of {} up ({})", group.name, group.min_up,
                                group.interfaces.size(), fmt::join(group.interfaces, ", ")));
  }
  lines.push_back(fmt::format("links: {}/class/net every {}; {}", sys_root,
                              platform::FormatDuration(interval), DescribeStates(states)));
  return lines;
}

Result<std::shared_ptr<const LinkGroupConfig>> ReadLinkGroupConfig(
    const ConfigSection& section, const std::vector<v1::CustomerService>& offered) {
  if (!section.present()) return std::shared_ptr<const LinkGroupConfig>();
  ATMHEALTH_RETURN_IF_ERROR(
      section.CheckKeys({"interval", "sys_root", "for", "states", "group"}, false));
  auto config = std::make_shared<LinkGroupConfig>();
  ATMHEALTH_RETURN_IF_ERROR(section.ReadSamplingTime("interval", config->interval));
  ATMHEALTH_RETURN_IF_ERROR(ReadRoot(section, "sys_root", config->sys_root));
  ATMHEALTH_RETURN_IF_ERROR(ReadRedundancyRule(section, offered, config->states));

  const toml::node* groups = section.Get("group");
  if (groups == nullptr || !groups->is_array_of_tables() || groups->as_array()->empty()) {
    return section.Fail("group",
                        "needs at least one [[links.group]] with a name and its interfaces");
  }
  const toml::array& array = *groups->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const ConfigSection table(section.source(), *array.get(i)->as_table(),
                              fmt::format("{}[{}]", section.PathOf("group"), i), section.line());
    ATMHEALTH_RETURN_IF_ERROR(table.CheckKeys({"name", "interfaces", "min_up"}, false));
    LinkGroup group;
    if (!table.Has("name")) return table.Fail("name", "required: the name of the group");
    ATMHEALTH_RETURN_IF_ERROR(table.ReadString("name", group.name));
    if (group.name.empty()) return table.Fail("name", "must not be empty");
    for (const LinkGroup& other : config->groups) {
      if (other.name == group.name) {
        return table.Fail("name", fmt::format("\"{}\" names another group too", group.name));
      }
    }
    ATMHEALTH_RETURN_IF_ERROR(table.ReadStrings("interfaces", group.interfaces));
    if (group.interfaces.size() < 2) {
      return table.Fail("interfaces",
                        "needs at least two interfaces: one alone has nothing to fail over to");
    }
    ATMHEALTH_RETURN_IF_ERROR(table.ReadCount("min_up", group.min_up, 1,
                                              static_cast<std::int64_t>(group.interfaces.size())));
    config->named_subjects.push_back({v1::ALERT_KIND_LINK_GROUP, group.name,
                                      table.WhereAt(*table.Get("name"), table.PathOf("name"))});
    config->groups.push_back(std::move(group));
  }
  return std::shared_ptr<const LinkGroupConfig>(std::move(config));
}

}  // namespace atmhealth::agent
