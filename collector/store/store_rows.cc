#include "collector/store/store_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "proto/names.h"

namespace atmhealth::collector {
namespace {

constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMaxQuotedLength = 64;

// The device id rule of device.proto: 1..64 characters of [A-Za-z0-9._-].
bool IsValidDeviceId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// "withdrawal,deposit": readable in SQL, and matched with
// ',' || impact_unavailable || ',' LIKE '%,withdrawal,%'.
std::string ServiceList(const google::protobuf::RepeatedField<int>& services) {
  std::string list;
  for (int service : services) {
    if (!list.empty()) list += ',';
    list += wire::ShortName(static_cast<v1::CustomerService>(service));
  }
  return list;
}

// Text that went through JSON must never throw on bytes that are not UTF-8:
// they become U+FFFD in the JSON column; the raw payload keeps them.
template <typename Json>
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The transaction feed of a heartbeat, for feed_json: SQL reads the load of
// the fleet with feed_json ->> '$.tps'.
std::string FeedJson(const v1::FeedHealth& feed) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  json["lines_total"] = feed.lines_total();
  json["bad_lines_total"] = feed.bad_lines_total();
  nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
  for (const v1::FeedBadLines& bad : feed.bad_lines()) reasons[bad.reason()] = bad.count();
  json["bad_lines"] = std::move(reasons);
  json["excess_type_lines_total"] = feed.excess_type_lines_total();
  json["tps"] = feed.tps();
  json["error_ratio"] = feed.error_ratio();
  json["p99_ms"] = feed.p99_ms();
  nlohmann::ordered_json types = nlohmann::ordered_json::array();
  for (const v1::FeedTypeThroughput& type : feed.types()) {
    types.push_back({{"type", type.type()},
                     {"tps", type.tps()},
                     {"error_ratio", type.error_ratio()},
                     {"p99_ms", type.p99_ms()}});
  }
  json["types"] = std::move(types);
  return Dump(json);
}

// The diagnostic snapshot as one JSON object, key to value, in the agent's
// order, so that SQL reads a value with context_json ->> '$."statvfs.f_bavail"'.
// A key sent twice keeps its last value.
std::string ContextJson(const v1::Event& event) {
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  for (const v1::ContextEntry& entry : event.context()) context[entry.key()] = entry.value();
  return Dump(context);
}

}  // namespace

std::int64_t Saturated(std::uint64_t value) {
  return static_cast<std::int64_t>(std::min(value, kMaxStoredInteger));
}

std::string Quoted(std::string_view text) {
  std::string quoted = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxQuotedLength; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      quoted += fmt::format("\\x{:02x}", c);
    } else {
      quoted += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxQuotedLength) quoted += "...";
  quoted += '"';
  return quoted;
}

Status CheckHelloDevice(const v1::Hello& hello, std::string_view peer, std::string_view where) {
  if (IsValidDeviceId(hello.device().device_id())) return OkStatus();
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("{}: Hello from {}: device.device_id {} is not 1..64 characters of "
                           "[A-Za-z0-9._-]",
                           where, Quoted(peer), Quoted(hello.device().device_id())));
}

Status CheckBatchSequences(const std::vector<v1::Event>& events, std::string_view where,
                           std::string_view what) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::uint64_t seq = events[i].seq();
    if (seq == 0 || seq > kMaxStoredInteger) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: {}: events[{}]: seq {} is outside 1..{}; nothing stored", where,
                               what, i, seq, kMaxStoredInteger));
    }
  }
  return OkStatus();
}

Result<EventColumns> ColumnsOf(const v1::Event& event, std::string_view where,
                               std::string_view device_id) {
  EventColumns columns;
  if (!event.SerializeToString(&columns.payload)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: store batch of {}: seq {}: event does not serialize", where,
                             Quoted(device_id), event.seq()));
  }
  columns.severity = wire::ShortName(event.severity());
  columns.kind = wire::ShortName(event.kind());
  columns.state = wire::ShortName(event.state());
  columns.unit = wire::ShortName(event.unit());
  columns.category = wire::ShortName(event.category());
  columns.impact_unavailable = ServiceList(event.impact().unavailable());
  columns.impact_degraded = ServiceList(event.impact().degraded());
  columns.context_json = ContextJson(event);
  columns.moves_alert = !event.alert_key().empty() && (event.state() == v1::ALERT_STATE_FIRING ||
                                                       event.state() == v1::ALERT_STATE_RESOLVED);
  return columns;
}

Result<HeartbeatColumns> ColumnsOf(const v1::Heartbeat& heartbeat, std::string_view where,
                                   std::string_view what) {
  nlohmann::json services = nlohmann::json::array();
  nlohmann::json reported = nlohmann::json::array();
  for (int i = 0; i < heartbeat.services_size(); ++i) {
    const v1::ServiceStatus& status = heartbeat.services(i);
    if (status.service() == v1::CUSTOMER_SERVICE_UNSPECIFIED ||
        status.state() == v1::SERVICE_STATE_UNSPECIFIED) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: {}: services[{}]: service and state must be specified; "
                               "nothing recorded",
                               where, what, i));
    }
    const std::string service = wire::ShortName(status.service());
    services.push_back({{"service", service},
                        {"state", wire::ShortName(status.state())},
                        {"reason", status.reason()}});
    reported.push_back(service);
  }
  HeartbeatColumns columns;
  columns.services_json = Dump(services);
  columns.reported_services_json = Dump(reported);
  if (heartbeat.health().has_feed()) columns.feed_json = FeedJson(heartbeat.health().feed());
  return columns;
}

}  // namespace atmhealth::collector
