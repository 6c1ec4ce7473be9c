#include "agent/watch/link_group_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/watch/redundancy_rule.h"
#include "platform/link_state.h"

namespace atmhealth::agent {

WatcherKind LinkGroupWatcher::Kind() {
  WatcherKind kind;
  kind.section = "links";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig& device) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadLinkGroupConfig(section, device.services);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext&) -> Result<std::unique_ptr<Watcher>> {
    const auto& config = dynamic_cast<const LinkGroupConfig&>(settings);
    for (const LinkGroup& group : config.groups) {
      spdlog::info("watching link group {}: {} of {} up", group.name, group.min_up,
                   fmt::join(group.interfaces, ", "));
    }
    return std::unique_ptr<Watcher>(new LinkGroupWatcher(config));
  };
  return kind;
}

void LinkGroupWatcher::Sample(std::vector<Measurement>& out) {
  for (const LinkGroup& group : config_.groups) {
    const std::vector<platform::LinkState> links =
        platform::ReadLinkStates(group.interfaces, config_.sys_root);
    std::vector<std::string> up;
    std::vector<std::string> down;
    for (const platform::LinkState& link : links) {
      if (link.Up()) {
        up.push_back(link.interface);
      } else {
        down.push_back(fmt::format("{}: {}", link.interface, link.reason));
      }
    }
    Measurement m(v1::ALERT_KIND_LINK_GROUP, group.name, static_cast<double>(up.size()),
                  v1::UNIT_COUNT,
                  {{"up", fmt::format("{}", fmt::join(up, ","))},
                   {"down", fmt::format("{}", fmt::join(down, "; "))},
                   {"min_up", std::to_string(group.min_up)}});
    m.expected = static_cast<double>(group.interfaces.size());
    m.state = up.size() == group.interfaces.size() ? RedundancyState::kRedundant
              : up.size() >= group.min_up          ? RedundancyState::kDegraded
                                                   : RedundancyState::kDown;
    out.push_back(std::move(m));
  }
}

std::vector<RuleDefinition> LinkGroupWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  rules.reserve(config_.groups.size());
  for (const LinkGroup& group : config_.groups) {
    rules.push_back(RedundancyRule(v1::ALERT_KIND_LINK_GROUP, group.name, config_.states));
  }
  return rules;
}

}  // namespace atmhealth::agent
