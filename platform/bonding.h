// NIC bonding (Linux bonding driver) as /proc/net/bonding/<bond> shows it:
// facts only, the redundancy rules decide what they mean.
#ifndef ATMHEALTH_PLATFORM_BONDING_H_
#define ATMHEALTH_PLATFORM_BONDING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

enum class BondMode {
  kRoundRobin,             // balance-rr: "load balancing (round-robin)"
  kActiveBackup,           // "fault-tolerance (active-backup)"
  kXor,                    // balance-xor: "load balancing (xor)"
  kBroadcast,              // "fault-tolerance (broadcast)"
  k8023ad,                 // "IEEE 802.3ad Dynamic link aggregation"
  kTransmitLoadBalancing,  // balance-tlb: "transmit load balancing"
  kAdaptiveLoadBalancing,  // balance-alb: "adaptive load balancing"
  kUnknown,                // a mode this parser does not know; `mode_text` says which
};

// The bonding driver's MII (link monitor) status of a bond or a slave.
enum class MiiStatus { kUp, kDown, kGoingDown, kGoingBack };

const char* MiiStatusName(MiiStatus status);

struct BondSlave {
  std::string name;  // "eth2"
  MiiStatus mii_status = MiiStatus::kDown;
  std::optional<std::uint32_t> speed_mbps;     // Mbit/s; absent when "Unknown"
  std::string duplex;                          // "full", "half", "unknown"; empty when absent
  std::uint64_t link_failure_count = 0;        // link failures since the bond was made
  std::string permanent_hw_address;            // may be empty
  std::optional<std::uint32_t> aggregator_id;  // 802.3ad only; absent when "N/A"
};

// 802.3ad: the aggregator that carries the bond's traffic.
struct BondAggregator {
  std::uint32_t id = 0;
  std::uint32_t ports = 0;  // slaves in it
  std::uint32_t actor_key = 0;
  std::uint32_t partner_key = 0;
  std::string partner_mac;  // "00:00:00:00:00:00" when no LACP partner answers
};

struct BondStatus {
  std::string name;  // "bond0", from the file name
  BondMode mode = BondMode::kUnknown;
  std::string mode_text;                      // as the driver prints it
  std::string primary_slave;                  // empty when none
  std::string active_slave;                   // "Currently Active Slave"; empty when "None"
  MiiStatus mii_status = MiiStatus::kDown;    // of the bond itself
  std::uint32_t mii_polling_interval_ms = 0;  // 0: MII monitoring off (ARP monitoring?)
  std::vector<BondSlave> slaves;
  // 802.3ad only: "802.3ad info" section seen, and the active aggregator
  // when the driver has one ("bond bond0 has no active aggregator" otherwise).
  bool lacp = false;
  std::optional<BondAggregator> active_aggregator;

  // Slaves whose MII status is not up.
  std::vector<std::string> SlavesDown() const;
};

// The text of /proc/net/bonding/<bond>. `bond` names the bond; `source` names
// the text in errors ("/proc/net/bonding/bond0:12: ...").
Result<BondStatus> ParseBondStatus(std::string_view text, std::string_view bond,
                                   std::string_view source);

// ParseBondStatus of `<proc_root>/net/bonding/<bond>`; kNotFound when there is
// no such bond.
Result<BondStatus> ReadBondStatus(const std::string& bond, const std::string& proc_root = "/proc");

// The bonds that exist: the file names in `<proc_root>/net/bonding`, sorted;
// empty when the bonding driver is not loaded.
std::vector<std::string> ListBonds(const std::string& proc_root = "/proc");

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_BONDING_H_
