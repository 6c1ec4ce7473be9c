#include "collector/store/store_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// Short names of the values 0..kCachedValues-1 of one enum, made once:
// wire::ShortName builds a new string per call, and every stored event needs
// seven of them. Values beyond (none today) are named per call.
constexpr int kCachedValues = 64;

template <typename Enum>
const std::string& CachedShortName(Enum value, std::string& scratch) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    all.reserve(kCachedValues);
    for (int i = 0; i < kCachedValues; ++i) all.push_back(wire::ShortName(static_cast<Enum>(i)));
    return all;
  }();
  const auto index = static_cast<int>(value);
  if (index >= 0 && index < kCachedValues) return names[static_cast<std::size_t>(index)];
  scratch = wire::ShortName(value);
  return scratch;
}

template <typename Enum>
void AssignShortName(Enum value, std::string& out) {
  std::string scratch;
  out.assign(CachedShortName(value, scratch));
}

// "withdrawal,deposit": readable in SQL, and matched with
// ',' || impact_unavailable || ',' LIKE '%,withdrawal,%'.
void AssignServiceList(const google::protobuf::RepeatedField<int>& services, std::string& list) {
  list.clear();
  std::string scratch;
  for (int service : services) {
    if (!list.empty()) list += ',';
    list += CachedShortName(static_cast<v1::CustomerService>(service), scratch);
  }
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

// The diagnostic snapshot as one JSON object through the JSON library: key
// to value, in the agent's order; a key sent twice keeps its first place and
// its last value. The exact form of the column; AppendContextJson must
// write the same bytes.
std::string ContextJsonDom(const v1::Event& event) {
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  for (const v1::ContextEntry& entry : event.context()) context[entry.key()] = entry.value();
  return Dump(context);
}

// Text the JSON library writes as it is between its quotes: printable ASCII
// but for the quote and the backslash.
bool IsPlainJsonText(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
}

// Snapshots with more entries than this take the library's way: the check
// for repeated keys below is quadratic.
constexpr int kMaxDirectContextEntries = 64;

// ContextJsonDom's bytes, written into `json` without building the object:
// each key and value is appended between quotes as it is when it is plain
// text (what agents send), else as the library writes that one string
// (escapes, bytes that are not UTF-8). A snapshot with a repeated key, or
// very many entries, is handed to ContextJsonDom whole.
void AssignContextJson(const v1::Event& event, std::string& json) {
  const auto& entries = event.context();
  bool direct = entries.size() <= kMaxDirectContextEntries;
  for (int i = 0; direct && i < entries.size(); ++i) {
    for (int j = 0; j < i; ++j) {
      if (entries[i].key() == entries[j].key()) {
        direct = false;
        break;
      }
    }
  }
  if (!direct) {
    json = ContextJsonDom(event);
    return;
  }
  auto append = [&json](const std::string& text) {
    if (IsPlainJsonText(text)) {
      json += '"';
      json += text;
      json += '"';
    } else {
      json += Dump(nlohmann::ordered_json(text));
    }
  };
  json.assign(1, '{');
  for (int i = 0; i < entries.size(); ++i) {
    if (i > 0) json += ',';
    append(entries[i].key());
    json += ':';
    append(entries[i].value());
  }
  json += '}';
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

Status FillColumns(const v1::Event& event, std::string_view where, std::string_view device_id,
                   EventColumns& columns) {
  columns.payload.clear();
  if (!event.AppendToString(&columns.payload)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: store batch of {}: seq {}: event does not serialize", where,
                             Quoted(device_id), event.seq()));
  }
  AssignShortName(event.severity(), columns.severity);
  AssignShortName(event.kind(), columns.kind);
  AssignShortName(event.state(), columns.state);
  AssignShortName(event.unit(), columns.unit);
  AssignShortName(event.category(), columns.category);
  AssignServiceList(event.impact().unavailable(), columns.impact_unavailable);
  AssignServiceList(event.impact().degraded(), columns.impact_degraded);
  AssignContextJson(event, columns.context_json);
  columns.moves_alert = !event.alert_key().empty() && (event.state() == v1::ALERT_STATE_FIRING ||
                                                       event.state() == v1::ALERT_STATE_RESOLVED);
  return OkStatus();
}

Result<EventColumns> ColumnsOf(const v1::Event& event, std::string_view where,
                               std::string_view device_id) {
  EventColumns columns;
  if (Status filled = FillColumns(event, where, device_id, columns); !filled.ok()) {
    return filled.error();
  }
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
    std::string service_scratch;
    std::string state_scratch;
    const std::string& service = CachedShortName(status.service(), service_scratch);
    services.push_back({{"service", service},
                        {"state", CachedShortName(status.state(), state_scratch)},
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
