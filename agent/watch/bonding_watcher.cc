#include "agent/watch/bonding_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace atmhealth::agent {

WatcherKind BondingWatcher::Kind() {
  WatcherKind kind;
  kind.section = "bonding";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig& device) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadBondingConfig(section, device.services);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext&) -> Result<std::unique_ptr<Watcher>> {
    const auto& config = dynamic_cast<const BondingConfig&>(settings);
    spdlog::info("watching bonds in {}/net/bonding", config.proc_root);
    return std::unique_ptr<Watcher>(new BondingWatcher(config));
  };
  return kind;
}

RedundancyState BondingWatcher::StateOf(const platform::BondStatus& bond) {
  const std::vector<std::string> down = bond.SlavesDown();
  const std::size_t up = bond.slaves.size() - down.size();
  if (bond.mii_status != platform::MiiStatus::kUp || up == 0) return RedundancyState::kDown;
  if (bond.lacp && !bond.active_aggregator) return RedundancyState::kDown;
  if (!down.empty()) return RedundancyState::kDegraded;
  if (bond.lacp && bond.active_aggregator->ports < bond.slaves.size()) {
    return RedundancyState::kDegraded;
  }
  if (bond.mode == platform::BondMode::kActiveBackup && !bond.primary_slave.empty() &&
      bond.active_slave != bond.primary_slave) {
    return RedundancyState::kFailedOver;
  }
  return RedundancyState::kRedundant;
}

SourceHealth& BondingWatcher::Source(const std::string& bond) {
  auto it = sources_.find(bond);
  if (it == sources_.end()) {
    it = sources_.emplace(bond, SourceHealth("bonding", config_.proc_root + "/net/bonding/" + bond))
             .first;
  }
  return it->second;
}

void BondingWatcher::Sample(std::vector<Measurement>& out) {
  std::vector<std::string> bonds = config_.bonds;
  for (const std::string& found : platform::ListBonds(config_.proc_root)) {
    if (std::find(bonds.begin(), bonds.end(), found) == bonds.end()) bonds.push_back(found);
  }
  std::vector<std::string> subjects;
  for (const std::string& name : bonds) {
    const bool listed =
        std::find(config_.bonds.begin(), config_.bonds.end(), name) != config_.bonds.end();
    auto bond = platform::ReadBondStatus(name, config_.proc_root);
    if (!bond.ok() && bond.error().code() == ErrorCode::kNotFound) {
      // Gone between the listing and the read, or listed and absent.
      if (!listed) continue;
      subjects.push_back(name);
      Measurement gone(v1::ALERT_KIND_LINK_GROUP, name, 0, v1::UNIT_COUNT,
                       {{"condition", "no such bond"}});
      gone.state = RedundancyState::kDown;
      out.push_back(std::move(gone));
      continue;
    }
    subjects.push_back(name);
    SourceHealth& source = Source(name);
    if (!bond.ok()) {
      out.push_back(source.Failed(bond.error()));
      continue;
    }
    out.push_back(source.Worked());

    const std::vector<std::string> down = bond->SlavesDown();
    std::map<std::string, std::uint64_t>& seen = failures_[name];
    std::vector<std::string> counts;
    std::uint64_t new_failures = 0;
    for (const platform::BondSlave& slave : bond->slaves) {
      counts.push_back(fmt::format("{}={}", slave.name, slave.link_failure_count));
      if (auto before = seen.find(slave.name);
          before != seen.end() && slave.link_failure_count > before->second) {
        new_failures += slave.link_failure_count - before->second;
      }
      seen[slave.name] = slave.link_failure_count;
    }
    Measurement m(v1::ALERT_KIND_LINK_GROUP, name,
                  static_cast<double>(bond->slaves.size() - down.size()), v1::UNIT_COUNT,
                  {{"mode", bond->mode_text},
                   {"mii_status", platform::MiiStatusName(bond->mii_status)},
                   {"active_slave", bond->active_slave.empty() ? "none" : bond->active_slave},
                   {"slaves_down", fmt::format("{}", fmt::join(down, ","))},
                   {"link_failures", fmt::format("{}", fmt::join(counts, ","))},
                   {"new_link_failures", std::to_string(new_failures)}});
    if (!bond->primary_slave.empty()) m.context.emplace_back("primary_slave", bond->primary_slave);
    if (bond->lacp) {
      m.context.emplace_back(
          "aggregator",
          bond->active_aggregator
              ? fmt::format("id {}, {} ports, partner {}", bond->active_aggregator->id,
                            bond->active_aggregator->ports, bond->active_aggregator->partner_mac)
              : "no active aggregator");
    }
    m.expected = static_cast<double>(bond->slaves.size());
    m.state = StateOf(*bond);
    out.push_back(std::move(m));
  }
  subjects_ = std::move(subjects);
}

std::vector<RuleDefinition> BondingWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  for (const std::string& subject : subjects_) {
    rules.push_back(RedundancyRule(v1::ALERT_KIND_LINK_GROUP, subject, config_.states));
    if (auto source = sources_.find(subject); source != sources_.end()) {
      rules.push_back(source->second.Rule());
    }
  }
  for (const std::string& subject : config_.bonds) {
    if (std::find(subjects_.begin(), subjects_.end(), subject) == subjects_.end()) {
      rules.push_back(RedundancyRule(v1::ALERT_KIND_LINK_GROUP, subject, config_.states));
    }
  }
  return rules;
}

}  // namespace atmhealth::agent
