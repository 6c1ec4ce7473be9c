#include "platform/bonding.h"

#include "platform/text_input.h"

namespace atmhealth::platform {

const char* MiiStatusName(MiiStatus status) {
  switch (status) {
    case MiiStatus::kUp:
      return "up";
    case MiiStatus::kDown:
      return "down";
    case MiiStatus::kGoingDown:
      return "going down";
    case MiiStatus::kGoingBack:
      return "going back";
  }
  return "unknown";
}

std::vector<std::string> BondStatus::SlavesDown() const {
  std::vector<std::string> down;
  for (const auto& slave : slaves) {
    if (slave.mii_status != MiiStatus::kUp) down.push_back(slave.name);
  }
  return down;
}

namespace {

BondMode ModeFromText(std::string_view text) {
  struct Name {
    std::string_view text;
    BondMode mode;
  };
  // As the kernel's bond_mode_names print them.
  static constexpr Name kNames[] = {
      {"load balancing (round-robin)", BondMode::kRoundRobin},
      {"fault-tolerance (active-backup)", BondMode::kActiveBackup},
      {"load balancing (xor)", BondMode::kXor},
      {"fault-tolerance (broadcast)", BondMode::kBroadcast},
      {"IEEE 802.3ad Dynamic link aggregation", BondMode::k8023ad},
      {"transmit load balancing", BondMode::kTransmitLoadBalancing},
      {"adaptive load balancing", BondMode::kAdaptiveLoadBalancing},
  };
  for (const auto& name : kNames) {
    if (text == name.text) return name.mode;
  }
  return BondMode::kUnknown;
}

std::optional<MiiStatus> MiiFromText(std::string_view text) {
  if (text == "up") return MiiStatus::kUp;
  if (text == "down") return MiiStatus::kDown;
  if (text == "going down") return MiiStatus::kGoingDown;
  if (text == "going back") return MiiStatus::kGoingBack;
  return std::nullopt;
}

enum class Section { kBond, kAggregator, kSlave, kSlaveDetails };

std::optional<std::uint32_t> ParseU32(std::string_view text) {
  const auto value = ParseUnsigned(text);
  if (!value || *value > 0xffffffffu) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

}  // namespace

Result<BondStatus> ParseBondStatus(std::string_view text, std::string_view bond,
                                   std::string_view source) {
  BondStatus status;
  status.name = std::string(bond);
  bool mode_seen = false;
  Section section = Section::kBond;
  TextLines lines(text);
  while (const auto line = lines.Next()) {
    const auto trimmed = Trim(*line);
    auto bad = [&](std::string_view key, std::string_view value, std::string_view expected) {
      return BadLine(
          source, lines.number(),
          std::string(key) + ": " + QuoteForError(value) + " is not " + std::string(expected));
    };
    if (trimmed == "802.3ad info") {
      status.lacp = true;
      section = Section::kBond;
      continue;
    }
    if (trimmed == "Active Aggregator Info:") {
      status.active_aggregator.emplace();
      section = Section::kAggregator;
      continue;
    }
    if (trimmed.rfind("details ", 0) == 0 && section != Section::kBond) {
      section = Section::kSlaveDetails;  // LACPDU fields of the slave, not used
      continue;
    }
    const auto colon = trimmed.find(':');
    if (colon == std::string_view::npos) continue;  // "bond0 has no active aggregator", ...
    const auto key = Trim(trimmed.substr(0, colon));
    const auto value = Trim(trimmed.substr(colon + 1));

    if (key == "Slave Interface") {
      if (value.empty()) return bad(key, value, "an interface name");
      status.slaves.emplace_back().name = std::string(value);
      section = Section::kSlave;
      continue;
    }
    switch (section) {
      case Section::kBond:
        if (key == "Bonding Mode") {
          mode_seen = true;
          status.mode_text = std::string(value);
          status.mode = ModeFromText(value);
        } else if (key == "Primary Slave") {
          const auto name = value.substr(0, value.find(' '));
          if (name != "None") status.primary_slave = std::string(name);
        } else if (key == "Currently Active Slave") {
          if (value != "None") status.active_slave = std::string(value);
        } else if (key == "MII Status") {
          const auto mii = MiiFromText(value);
          if (!mii) return bad(key, value, "up, down, going down or going back");
          status.mii_status = *mii;
        } else if (key == "MII Polling Interval (ms)") {
          const auto interval = ParseU32(value);
          if (!interval) return bad(key, value, "a number of milliseconds");
          status.mii_polling_interval_ms = *interval;
        }
        break;
      case Section::kAggregator: {
        auto& aggregator = *status.active_aggregator;
        std::uint32_t* field = nullptr;
        if (key == "Aggregator ID") field = &aggregator.id;
        if (key == "Number of ports") field = &aggregator.ports;
        if (key == "Actor Key") field = &aggregator.actor_key;
        if (key == "Partner Key") field = &aggregator.partner_key;
        if (field != nullptr) {
          const auto number = ParseU32(value);
          if (!number) return bad(key, value, "a number");
          *field = *number;
        } else if (key == "Partner Mac Address") {
          aggregator.partner_mac = std::string(value);
        }
        break;
      }
      case Section::kSlave: {
        auto& slave = status.slaves.back();
        if (key == "MII Status") {
          const auto mii = MiiFromText(value);
          if (!mii) return bad(key, value, "up, down, going down or going back");
          slave.mii_status = *mii;
        } else if (key == "Speed") {
          if (value != "Unknown") {
            const auto space = value.find(' ');
            const auto speed = ParseU32(value.substr(0, space));
            if (!speed || space == std::string_view::npos || value.substr(space) != " Mbps") {
              return bad(key, value, "\"<number> Mbps\" or \"Unknown\"");
            }
            slave.speed_mbps = *speed;
          }
        } else if (key == "Duplex") {
          slave.duplex = std::string(value);
        } else if (key == "Link Failure Count") {
          const auto count = ParseUnsigned(value);
          if (!count) return bad(key, value, "a number");
          slave.link_failure_count = *count;
        } else if (key == "Permanent HW addr") {
          slave.permanent_hw_address = std::string(value);
        } else if (key == "Aggregator ID") {
          if (value != "N/A") {
            const auto id = ParseU32(value);
            if (!id) return bad(key, value, "a number or N/A");
            slave.aggregator_id = *id;
          }
        }
        break;
      }
      case Section::kSlaveDetails:
        break;
    }
  }
  if (!mode_seen) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(source) + ": no \"Bonding Mode:\" line; not a bonding status");
  }
  return status;
}

}  // namespace atmhealth::platform
