#include "tests/unit/collector/fleet/fleet_samples.h"

namespace atmhealth::collector::fleet {

StoredDevice SampleDevice(const std::string& id, const std::string& site, std::int64_t heartbeat_at,
                          std::int64_t interval_ms) {
  StoredDevice device;
  device.device_id = id;
  device.site_id = site;
  device.kind = "atm";
  device.agent_version = "0.1.0";
  device.first_seen_unix_ns = kT0;
  device.last_seen_unix_ns = heartbeat_at;
  device.last_hello_unix_ns = kT0;
  StoredHeartbeat heartbeat;
  heartbeat.received_unix_ns = heartbeat_at;
  heartbeat.interval_ms = interval_ms;
  device.heartbeat = heartbeat;
  device.services = {{"deposit", "in_service", "", kT0}, {"withdrawal", "in_service", "", kT0}};
  return device;
}

void SetService(StoredDevice& device, const std::string& service, const std::string& state,
                std::int64_t since, const std::string& reason) {
  for (StoredService& entry : device.services) {
    if (entry.service != service) continue;
    entry.state = state;
    entry.since_unix_ns = since;
    entry.reason = state == "in_service" ? "" : reason;
    return;
  }
  device.services.push_back({service, state, state == "in_service" ? "" : reason, since});
}

}  // namespace atmhealth::collector::fleet
