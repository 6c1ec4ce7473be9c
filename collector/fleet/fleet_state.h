// The fleet as operations and customers see it, derived from what the store
// holds: which devices answer, which customer services each offers right
// now, since when and why not. A pure function of the stored rows, the site
// registry and the time, so that it is tested without a database.
//
// A device is unreachable once `missed_heartbeats` of the heartbeat intervals
// it announced passed without a heartbeat; its services then read `unknown`,
// never `in_service`.
#ifndef ATMHEALTH_COLLECTOR_FLEET_FLEET_STATE_H_
#define ATMHEALTH_COLLECTOR_FLEET_FLEET_STATE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/fleet/sites.h"

namespace atmhealth::collector::fleet {

// The six customer services of device.proto, by their short names.
inline constexpr std::array<std::string_view, 6> kCustomerServices = {
    "withdrawal", "deposit", "transfer", "inquiry", "passbook", "bill_payment"};

// What the store holds about one device (tables devices, heartbeats,
// device_services, alerts joined with events). Times: ns, collector clock,
// except alert since (device clock).
struct StoredService {
  std::string service;  // short name
  std::string state;    // in_service, degraded, out_of_service
  std::string reason;   // alert key, or empty
  std::int64_t since_unix_ns = 0;
};

struct StoredAlert {
  // An operator's drill (proto/drill_mark.h), not a failure: it takes no
  // device out of service and opens no incident.
  bool drill() const;

  std::string alert_key;
  std::string kind;
  std::string severity;
  std::string category;
  std::string subject;
  std::string summary;
  std::string unit;
  double value = 0;
  double threshold = 0;
  std::vector<std::string> impact_unavailable;
  std::vector<std::string> impact_degraded;
  std::int64_t since_wall_time_unix_ns = 0;  // device clock
  std::int64_t updated_unix_ns = 0;
};

// The transaction feed of a heartbeat (heartbeats.feed_json, from
// AgentHealth.feed): load over the agent's last minute.
struct StoredTypeLoad {
  std::string type;
  double tps = 0;          // transactions per second
  double error_ratio = 0;  // 0..1
  double p99_ms = 0;       // 0 without a latency sample
};

struct StoredFeed {
  std::int64_t lines_total = 0;  // since the agent started, good or bad
  std::int64_t bad_lines_total = 0;
  std::map<std::string, std::int64_t> bad_lines;  // reason -> lines
  std::int64_t excess_type_lines_total = 0;
  double tps = 0;
  double error_ratio = 0;
  double p99_ms = 0;
  std::vector<StoredTypeLoad> types;
};

struct StoredHeartbeat {
  std::int64_t received_unix_ns = 0;
  std::int64_t interval_ms = 0;
  std::int64_t backlog_events = 0;
  std::int64_t buffer_bytes = 0;
  std::int64_t buffer_limit_bytes = 0;
  std::int64_t dropped_events_total = 0;
  bool buffer_degraded = false;
  std::int64_t uptime_s = 0;
  std::optional<StoredFeed> feed;  // none: the agent has no transaction feed
};

struct StoredDevice {
  std::string device_id;
  std::string site_id;
  std::string kind;
  std::string agent_version;
  std::int64_t first_seen_unix_ns = 0;
  std::int64_t last_seen_unix_ns = 0;
  std::int64_t last_hello_unix_ns = 0;
  std::optional<StoredHeartbeat> heartbeat;
  std::vector<StoredService> services;
  std::vector<StoredAlert> firing;  // alerts firing now
};

struct FleetRules {
  int missed_heartbeats = 3;  // unreachable after this many announced intervals
  // A device that never sent a heartbeat counts as unreachable once its
  // Hello is this old (it has just connected before that).
  std::chrono::milliseconds first_heartbeat_grace{30'000};
  // The interval assumed when a heartbeat announced none.
  std::chrono::milliseconds default_interval{60'000};
};

enum class DeviceState { kInService, kDegraded, kOutOfService, kUnreachable };
const char* DeviceStateName(DeviceState state);
std::optional<DeviceState> ParseDeviceState(std::string_view name);

struct ServiceView {
  std::string service;
  std::string state;  // in_service, degraded, out_of_service, unknown (device unreachable)
  std::optional<std::int64_t> since_unix_ns;  // collector clock
  std::string reason;                         // alert key, "unreachable", or empty
  std::string reason_summary;                 // that alert's summary line, when known

  // Lost to customers: out of service, or not known because the device is
  // unreachable.
  bool lost() const { return state == "out_of_service" || state == "unknown"; }
  // Customers can use it (possibly slower).
  bool available() const { return state == "in_service" || state == "degraded"; }
};

struct DeviceView {
  StoredDevice stored;
  DeviceState state = DeviceState::kInService;
  bool reachable = false;
  // Not yet judged: said Hello less than the grace ago and no heartbeat yet.
  bool pending = false;
  std::optional<std::int64_t> unreachable_since_unix_ns;  // when heartbeats became overdue
  std::vector<ServiceView> services;
  const Site* site = nullptr;  // in the registry the snapshot holds; null when not registered

  // Out of service, degraded, unreachable, or a critical alert firing: what
  // opens an incident.
  bool impaired() const;
  // When the impairment began, as far as the store tells (collector clock).
  std::optional<std::int64_t> impaired_since_unix_ns() const;
  const ServiceView* Service(std::string_view name) const;
};

struct StateCounts {
  std::int64_t in_service = 0;
  std::int64_t degraded = 0;
  std::int64_t out_of_service = 0;
  std::int64_t unreachable = 0;
  void Add(DeviceState state);
};

struct ServiceCounts {
  std::string service;
  std::int64_t in_service = 0;
  std::int64_t degraded = 0;
  std::int64_t out_of_service = 0;
  std::int64_t unknown = 0;
};

struct SiteView {
  std::string site_id;
  const Site* site = nullptr;        // null: devices name a site the registry lacks
  std::vector<std::size_t> devices;  // indexes into FleetSnapshot::devices
  StateCounts counts;
};

// The fleet's transaction load: the feeds of the reachable devices that have
// one (an unreachable device's last load is not its load now).
struct FleetLoad {
  static constexpr std::size_t kBusiest = 10;
  std::int64_t devices_reporting = 0;
  double tps = 0;          // sum over the devices
  double error_ratio = 0;  // errors / transactions over the devices, 0..1
  double p99_ms_max = 0;   // the highest device p99
  std::vector<std::size_t>
      busiest;  // indexes into FleetSnapshot::devices, by tps, at most kBusiest
};

// The derived state at one instant. Immutable once built; shared between the
// monitor thread and HTTP handlers through shared_ptr<const FleetSnapshot>.
struct FleetSnapshot {
  std::int64_t at_unix_ns = 0;
  std::uint64_t version = 0;  // increases with every snapshot the monitor makes
  std::shared_ptr<const SiteRegistry> sites;
  std::vector<DeviceView> devices;  // by device id
  std::map<std::string, std::size_t, std::less<>> device_index;
  std::vector<SiteView> site_views;  // registered sites first (file order), then unregistered
  StateCounts counts;
  std::vector<ServiceCounts> services;  // kCustomerServices order
  std::int64_t devices_without_registered_site = 0;
  FleetLoad load;

  const DeviceView* Find(std::string_view device_id) const;
};

// Builds the snapshot. `devices` in any order.
FleetSnapshot DeriveFleet(std::vector<StoredDevice> devices,
                          std::shared_ptr<const SiteRegistry> sites, const FleetRules& rules,
                          std::int64_t now_unix_ns);

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_FLEET_STATE_H_
