// The JSON the HTTP API and the event stream serve, in one place so that the
// API, the stream and docs/openapi.json stay the same shape. Times are RFC
// 3339 UTC strings with milliseconds ("2026-03-01T09:30:00.000Z"), or null;
// durations are whole seconds (`*_s`) or milliseconds (`*_ms`).
#ifndef ATMHEALTH_COLLECTOR_FLEET_FLEET_JSON_H_
#define ATMHEALTH_COLLECTOR_FLEET_FLEET_JSON_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "collector/fleet/fleet_state.h"
#include "collector/fleet/fleet_store.h"
#include "collector/fleet/incident_tracker.h"

namespace atmhealth::collector::fleet {

// "2026-03-01T09:30:00.123Z"
std::string Rfc3339(std::int64_t unix_ns);
nlohmann::json TimeOrNull(const std::optional<std::int64_t>& unix_ns);

// Schema "Device" of docs/openapi.json. `incident_id` 0: none.
nlohmann::json DeviceJson(const DeviceView& device, std::int64_t incident_id);
// Schema "Incident"; `now` measures the age of open ones.
nlohmann::json IncidentJson(const Incident& incident, std::int64_t now_unix_ns);
// Schema "ToleranceAlert", with the incident it belongs to.
nlohmann::json ToleranceAlertJson(std::int64_t incident_id, const ToleranceAlert& alert);
// Schema "Site" (the registry's fields; null values for an unregistered site).
nlohmann::json SiteJson(const SiteView& site, const FleetSnapshot& snapshot);
// Schema "AlertEvent".
nlohmann::json AlertEventJson(const AlertEvent& event);
nlohmann::json StateCountsJson(const StateCounts& counts);
// Schema "FleetLoad": the transaction load of the reachable devices.
nlohmann::json FleetLoadJson(const FleetSnapshot& snapshot);

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_FLEET_JSON_H_
