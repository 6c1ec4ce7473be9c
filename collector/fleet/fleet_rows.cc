#include "collector/fleet/fleet_rows.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace atmhealth::collector::fleet {
namespace {

using nlohmann::json;

json Optional(const std::optional<std::int64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

std::optional<std::int64_t> OptionalFrom(const json& value) {
  if (value.is_null()) return std::nullopt;
  return value.get<std::int64_t>();
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json DevicesJson(const Incident& incident) {
  json devices = json::array();
  for (const IncidentDevice& device : incident.devices) {
    devices.push_back({{"device_id", device.device_id},
                       {"site_id", device.site_id},
                       {"joined_unix_ns", device.joined_unix_ns},
                       {"recovered_unix_ns", Optional(device.recovered_unix_ns)}});
  }
  return devices;
}

json ServicesJson(const Incident& incident) {
  json services = json::array();
  for (const IncidentService& service : incident.services) {
    services.push_back({{"service", service.service},
                        {"first_lost_unix_ns", service.first_lost_unix_ns},
                        {"lost_since_unix_ns", Optional(service.lost_since_unix_ns)},
                        {"restored_unix_ns", Optional(service.restored_unix_ns)},
                        {"devices_lost", service.devices_lost},
                        {"tolerance_ms", Optional(service.tolerance_ms)}});
  }
  return services;
}

json ToleranceJson(const Incident& incident) {
  json alerts = json::array();
  for (const ToleranceAlert& alert : incident.tolerance_alerts) {
    alerts.push_back({{"service", alert.service},
                      {"percent", alert.percent},
                      {"outage_since_unix_ns", alert.outage_since_unix_ns},
                      {"tolerance_ms", alert.tolerance_ms},
                      {"raised_unix_ns", alert.raised_unix_ns},
                      {"resolved_unix_ns", Optional(alert.resolved_unix_ns)}});
  }
  return alerts;
}

}  // namespace

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    if (comma != 0) items.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

std::string JoinList(const std::set<std::string>& items) {
  std::string text;
  for (const std::string& item : items) {
    if (!text.empty()) text += ',';
    text += item;
  }
  return text;
}

std::optional<StoredFeed> ParseFeed(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return std::nullopt;
  const auto number = [](const json& object, const char* key) {
    const auto found = object.find(key);
    return found != object.end() && found->is_number() ? found->get<double>() : 0.0;
  };
  const auto count = [](const json& value) {
    return value.is_number_integer() ? value.get<std::int64_t>() : 0;
  };
  StoredFeed feed;
  feed.lines_total = count(parsed.value("lines_total", json()));
  feed.bad_lines_total = count(parsed.value("bad_lines_total", json()));
  feed.excess_type_lines_total = count(parsed.value("excess_type_lines_total", json()));
  const json reasons = parsed.value("bad_lines", json::object());
  if (reasons.is_object()) {
    for (const auto& [reason, lines] : reasons.items()) feed.bad_lines[reason] = count(lines);
  }
  feed.tps = number(parsed, "tps");
  feed.error_ratio = number(parsed, "error_ratio");
  feed.p99_ms = number(parsed, "p99_ms");
  const json types = parsed.value("types", json::array());
  for (const json& type : types.is_array() ? types : json::array()) {
    if (!type.is_object()) continue;
    const json name = type.value("type", json());
    feed.types.push_back(StoredTypeLoad{name.is_string() ? name.get<std::string>() : std::string(),
                                        number(type, "tps"), number(type, "error_ratio"),
                                        number(type, "p99_ms")});
  }
  return feed;
}

IncidentColumns ColumnsOf(const Incident& incident) {
  json keys = json::array();
  for (const std::string& key : incident.alert_keys) keys.push_back(key);
  IncidentColumns row;
  row.id = incident.id;
  row.scope = incident.scope;
  row.site_id = incident.site_id;
  row.started_unix_ns = incident.started_unix_ns;
  row.ended_unix_ns = incident.ended_unix_ns;
  row.categories = JoinList(incident.categories);
  row.device_count = static_cast<std::int64_t>(incident.devices.size());
  row.devices_json = Dump(DevicesJson(incident));
  row.services_json = Dump(ServicesJson(incident));
  row.tolerance_alerts_json = Dump(ToleranceJson(incident));
  row.alert_keys_json = Dump(keys);
  row.updated_unix_ns = incident.updated_unix_ns;
  return row;
}

Result<Incident> IncidentFrom(const IncidentColumns& row, std::string_view where) {
  Incident incident;
  incident.id = row.id;
  incident.scope = row.scope;
  incident.site_id = row.site_id;
  incident.started_unix_ns = row.started_unix_ns;
  incident.ended_unix_ns = row.ended_unix_ns;
  for (std::string& category : SplitList(row.categories)) {
    incident.categories.insert(std::move(category));
  }
  incident.updated_unix_ns = row.updated_unix_ns;
  try {
    for (const json& device : json::parse(row.devices_json)) {
      incident.devices.push_back(IncidentDevice{device.at("device_id").get<std::string>(),
                                                device.at("site_id").get<std::string>(),
                                                device.at("joined_unix_ns").get<std::int64_t>(),
                                                OptionalFrom(device.at("recovered_unix_ns"))});
    }
    for (const json& service : json::parse(row.services_json)) {
      IncidentService entry;
      entry.service = service.at("service").get<std::string>();
      entry.first_lost_unix_ns = service.at("first_lost_unix_ns").get<std::int64_t>();
      entry.lost_since_unix_ns = OptionalFrom(service.at("lost_since_unix_ns"));
      entry.restored_unix_ns = OptionalFrom(service.at("restored_unix_ns"));
      entry.devices_lost = service.at("devices_lost").get<std::int64_t>();
      entry.tolerance_ms = OptionalFrom(service.at("tolerance_ms"));
      incident.services.push_back(std::move(entry));
    }
    for (const json& alert : json::parse(row.tolerance_alerts_json)) {
      ToleranceAlert entry;
      entry.service = alert.at("service").get<std::string>();
      entry.percent = alert.at("percent").get<int>();
      entry.outage_since_unix_ns = alert.at("outage_since_unix_ns").get<std::int64_t>();
      entry.tolerance_ms = alert.at("tolerance_ms").get<std::int64_t>();
      entry.raised_unix_ns = alert.at("raised_unix_ns").get<std::int64_t>();
      entry.resolved_unix_ns = OptionalFrom(alert.at("resolved_unix_ns"));
      incident.tolerance_alerts.push_back(std::move(entry));
    }
    for (const json& key : json::parse(row.alert_keys_json)) {
      incident.alert_keys.insert(key.get<std::string>());
    }
  } catch (const json::exception& error) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: incident {}: stored JSON does not read: {}",
                                                  where, incident.id, error.what()));
  }
  return incident;
}

}  // namespace atmhealth::collector::fleet
