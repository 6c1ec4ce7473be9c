#include "collector/fleet/fleet_json.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "proto/drill_mark.h"

namespace atmhealth::collector::fleet {
namespace {

using nlohmann::json;

constexpr std::int64_t kNanosPerMilli = 1'000'000;
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

json Strings(const std::vector<std::string>& items) {
  json list = json::array();
  for (const std::string& item : items) list.push_back(item);
  return list;
}

json Strings(const std::set<std::string>& items) {
  json list = json::array();
  for (const std::string& item : items) list.push_back(item);
  return list;
}

// A measured value; NaN (stored as NULL) and infinities are not JSON numbers.
json Number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

std::int64_t Seconds(std::int64_t nanos) { return nanos / kNanosPerSecond; }

// Schema "FeedLoad".
json FeedJson(const StoredFeed& feed) {
  json types = json::array();
  for (const StoredTypeLoad& type : feed.types) {
    types.push_back({{"type", type.type},
                     {"tps", Number(type.tps)},
                     {"error_ratio", Number(type.error_ratio)},
                     {"p99_ms", Number(type.p99_ms)}});
  }
  return {
      {"tps", Number(feed.tps)},         {"error_ratio", Number(feed.error_ratio)},
      {"p99_ms", Number(feed.p99_ms)},   {"types", types},
      {"lines_total", feed.lines_total}, {"bad_lines_total", feed.bad_lines_total},
      {"bad_lines", feed.bad_lines},     {"excess_type_lines_total", feed.excess_type_lines_total}};
}

}  // namespace

std::string Rfc3339(std::int64_t unix_ns) {
  using namespace std::chrono;
  const auto millis = sys_time<milliseconds>(milliseconds(
      unix_ns >= 0 ? unix_ns / kNanosPerMilli : (unix_ns - kNanosPerMilli + 1) / kNanosPerMilli));
  const auto day = floor<days>(millis);
  const year_month_day date(day);
  const hh_mm_ss<milliseconds> time(millis - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count(),
                     time.subseconds().count());
}

json TimeOrNull(const std::optional<std::int64_t>& unix_ns) {
  return unix_ns ? json(Rfc3339(*unix_ns)) : json(nullptr);
}

json StateCountsJson(const StateCounts& counts) {
  return {{"in_service", counts.in_service},
          {"degraded", counts.degraded},
          {"out_of_service", counts.out_of_service},
          {"unreachable", counts.unreachable}};
}

json DeviceJson(const DeviceView& device, std::int64_t incident_id) {
  const StoredDevice& stored = device.stored;
  json services = json::array();
  for (const ServiceView& service : device.services) {
    services.push_back({{"service", service.service},
                        {"state", service.state},
                        {"available", service.available()},
                        {"since", TimeOrNull(service.since_unix_ns)},
                        {"reason", service.reason},
                        {"reason_summary", service.reason_summary}});
  }
  json alerts = json::array();
  for (const StoredAlert& alert : stored.firing) {
    alerts.push_back({{"alert_key", alert.alert_key},
                      {"kind", alert.kind},
                      {"severity", alert.severity},
                      {"category", alert.category},
                      {"subject", alert.subject},
                      {"summary", alert.summary},
                      {"value", Number(alert.value)},
                      {"threshold", Number(alert.threshold)},
                      {"unit", alert.unit},
                      {"impact_unavailable", Strings(alert.impact_unavailable)},
                      {"impact_degraded", Strings(alert.impact_degraded)},
                      {"firing_since", Rfc3339(alert.since_wall_time_unix_ns)},
                      {"drill", alert.drill()}});
  }
  json heartbeat = nullptr;
  if (stored.heartbeat) {
    const StoredHeartbeat& beat = *stored.heartbeat;
    heartbeat = {{"received_at", Rfc3339(beat.received_unix_ns)},
                 {"interval_ms", beat.interval_ms},
                 {"backlog_events", beat.backlog_events},
                 {"buffer_bytes", beat.buffer_bytes},
                 {"buffer_limit_bytes", beat.buffer_limit_bytes},
                 {"dropped_events_total", beat.dropped_events_total},
                 {"buffer_degraded", beat.buffer_degraded},
                 {"uptime_s", beat.uptime_s},
                 {"feed", beat.feed ? FeedJson(*beat.feed) : json(nullptr)}};
  }
  return {{"device_id", stored.device_id},
          {"site_id", stored.site_id},
          {"site_registered", device.site != nullptr},
          {"kind", stored.kind},
          {"agent_version", stored.agent_version},
          {"state", DeviceStateName(device.state)},
          {"reachable", device.reachable},
          {"awaiting_first_heartbeat", device.pending},
          {"unreachable_since", TimeOrNull(device.unreachable_since_unix_ns)},
          {"first_seen", Rfc3339(stored.first_seen_unix_ns)},
          {"last_seen", Rfc3339(stored.last_seen_unix_ns)},
          {"last_heartbeat", heartbeat},
          {"services", services},
          {"firing_alerts", alerts},
          {"incident_id", incident_id != 0 ? json(incident_id) : json(nullptr)}};
}

json FleetLoadJson(const FleetSnapshot& snapshot) {
  const FleetLoad& load = snapshot.load;
  json busiest = json::array();
  for (const std::size_t index : load.busiest) {
    const StoredDevice& device = snapshot.devices[index].stored;
    const StoredFeed& feed = *device.heartbeat->feed;
    busiest.push_back({{"device_id", device.device_id},
                       {"site_id", device.site_id},
                       {"tps", Number(feed.tps)},
                       {"error_ratio", Number(feed.error_ratio)},
                       {"p99_ms", Number(feed.p99_ms)}});
  }
  return {{"devices_reporting", load.devices_reporting},
          {"tps", Number(load.tps)},
          {"error_ratio", Number(load.error_ratio)},
          {"p99_ms_max", Number(load.p99_ms_max)},
          {"busiest", busiest}};
}

json ToleranceAlertJson(std::int64_t incident_id, const ToleranceAlert& alert) {
  return {{"incident_id", incident_id},
          {"service", alert.service},
          {"percent", alert.percent},
          {"state", alert.firing() ? "firing" : "resolved"},
          {"outage_since", Rfc3339(alert.outage_since_unix_ns)},
          {"tolerance_ms", alert.tolerance_ms},
          {"raised_at", Rfc3339(alert.raised_unix_ns)},
          {"resolved_at", TimeOrNull(alert.resolved_unix_ns)}};
}

json IncidentJson(const Incident& incident, std::int64_t now_unix_ns) {
  const std::int64_t end = incident.ended_unix_ns.value_or(now_unix_ns);
  json devices = json::array();
  for (const IncidentDevice& device : incident.devices) {
    devices.push_back({{"device_id", device.device_id},
                       {"site_id", device.site_id},
                       {"failed_at", Rfc3339(device.joined_unix_ns)},
                       {"recovered_at", TimeOrNull(device.recovered_unix_ns)}});
  }
  json services = json::array();
  for (const IncidentService& service : incident.services) {
    json entry = {{"service", service.service},
                  {"lost", service.lost_since_unix_ns.has_value()},
                  {"first_lost_at", Rfc3339(service.first_lost_unix_ns)},
                  {"lost_since", TimeOrNull(service.lost_since_unix_ns)},
                  {"restored_at", TimeOrNull(service.restored_unix_ns)},
                  {"devices_lost", service.devices_lost},
                  {"tolerance_ms", service.tolerance_ms ? json(*service.tolerance_ms) : json()},
                  {"outage_s", 0},
                  {"tolerance_used_percent", nullptr}};
    if (service.lost_since_unix_ns) {
      const std::int64_t outage = now_unix_ns - *service.lost_since_unix_ns;
      entry["outage_s"] = Seconds(outage);
      if (service.tolerance_ms && *service.tolerance_ms > 0) {
        entry["tolerance_used_percent"] =
            static_cast<std::int64_t>(outage / kNanosPerMilli * 100 / *service.tolerance_ms);
      }
    }
    services.push_back(std::move(entry));
  }
  json tolerance = json::array();
  for (const ToleranceAlert& alert : incident.tolerance_alerts) {
    tolerance.push_back(ToleranceAlertJson(incident.id, alert));
  }
  return {{"incident_id", incident.id},
          {"scope", incident.scope},
          {"site_id", incident.site_id.empty() ? json(nullptr) : json(incident.site_id)},
          {"status", incident.open() ? "open" : "closed"},
          {"started_at", Rfc3339(incident.started_unix_ns)},
          {"ended_at", TimeOrNull(incident.ended_unix_ns)},
          {"duration_s", Seconds(end - incident.started_unix_ns)},
          {"categories", Strings(incident.categories)},
          {"device_count", incident.devices.size()},
          {"devices", devices},
          {"alert_keys", Strings(incident.alert_keys)},
          {"services", services},
          {"tolerance_alerts", tolerance},
          {"updated_at", Rfc3339(incident.updated_unix_ns)}};
}

json SiteJson(const SiteView& view, const FleetSnapshot& snapshot) {
  json services = json::array();
  for (const std::string_view name : kCustomerServices) {
    std::int64_t available = 0;
    std::int64_t offered = 0;
    for (const std::size_t index : view.devices) {
      const ServiceView* service = snapshot.devices[index].Service(name);
      if (service == nullptr) continue;
      ++offered;
      if (service->available()) ++available;
    }
    if (offered == 0) continue;
    services.push_back(
        {{"service", name}, {"devices_offering", offered}, {"devices_available", available}});
  }
  const Site* site = view.site;
  json hours = nullptr;
  if (site != nullptr && !site->always_open) {
    static constexpr const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    hours = json::object();
    for (std::size_t day = 0; day < 7; ++day) {
      const auto& span = site->hours[day];
      hours[kDays[day]] = span ? fmt::format("{:02}:{:02}-{:02}:{:02}", span->open_minute / 60,
                                             span->open_minute % 60, span->close_minute / 60,
                                             span->close_minute % 60)
                               : "closed";
    }
  } else if (site != nullptr) {
    hours = "24/7";
  }
  return {{"site_id", view.site_id},
          {"registered", site != nullptr},
          {"name", site != nullptr ? json(site->name) : json(nullptr)},
          {"address", site != nullptr ? json(site->address) : json(nullptr)},
          {"latitude", site != nullptr ? json(site->latitude) : json(nullptr)},
          {"longitude", site != nullptr ? json(site->longitude) : json(nullptr)},
          {"category", site != nullptr ? json(site->category) : json(nullptr)},
          {"opening_hours", hours},
          {"open_now", site != nullptr ? json(site->OpenAt(snapshot.at_unix_ns)) : json(nullptr)},
          {"device_count", view.devices.size()},
          {"by_state", StateCountsJson(view.counts)},
          {"services", services}};
}

json AlertEventJson(const AlertEvent& event) {
  json context = json::object();
  try {
    context = json::parse(event.context_json);
  } catch (const json::exception&) {
    context = json::object();
  }
  return {{"seq", event.seq},
          {"detected_at", Rfc3339(event.wall_time_unix_ns)},
          {"received_at", Rfc3339(event.received_unix_ns)},
          {"alert_key", event.alert_key},
          {"kind", event.kind},
          {"state", event.state},
          {"severity", event.severity},
          {"category", event.category},
          {"summary", event.summary},
          {"value", Number(event.value)},
          {"threshold", Number(event.threshold)},
          {"unit", event.unit},
          {"drill", wire::IsDrillSummary(event.summary)},
          {"context", context}};
}

}  // namespace atmhealth::collector::fleet
