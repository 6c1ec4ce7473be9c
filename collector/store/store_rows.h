// What every collector store (SQLite, PostgreSQL) checks and writes for a
// message, computed once here so that both stores refuse the same input with
// the same words and store the same columns: the device id rule, the
// sequence range, the short names and lists of an event, its diagnostic
// snapshot and a heartbeat's services and feed as JSON.
#ifndef ATMHEALTH_COLLECTOR_STORE_STORE_ROWS_H_
#define ATMHEALTH_COLLECTOR_STORE_STORE_ROWS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "atmhealth/v1/event.pb.h"
#include "atmhealth/v1/session.pb.h"
#include "platform/status.h"

namespace atmhealth::collector {

// Both databases store signed 64-bit integers.
inline constexpr std::uint64_t kMaxStoredInteger = 0x7fff'ffff'ffff'ffff;

// An agent's counter as a stored integer. Counters are never near 2^63; one
// that is gets stored as the largest integer rather than as a negative one.
std::int64_t Saturated(std::uint64_t value);

// Text from the network, made safe for one log line: quoted, at most 64
// bytes, control characters, quotes and backslashes escaped.
std::string Quoted(std::string_view text);

// kInvalidArgument unless the Hello's device id is 1..64 characters of
// [A-Za-z0-9._-] (device.proto). `where` (the database) starts the message.
Status CheckHelloDevice(const v1::Hello& hello, std::string_view peer, std::string_view where);

// kInvalidArgument, naming the first offending event, when any seq is 0 or
// above kMaxStoredInteger: such a batch is stored not at all. `what` names
// the batch.
Status CheckBatchSequences(const std::vector<v1::Event>& events, std::string_view where,
                           std::string_view what);

// The columns of one event row besides the device, buffer, seq and times.
struct EventColumns {
  std::string severity;
  std::string kind;
  std::string state;
  std::string unit;
  std::string category;
  std::string impact_unavailable;  // "withdrawal,deposit"
  std::string impact_degraded;
  std::string context_json;  // the diagnostic snapshot, key to value
  std::string payload;       // the event as the agent sent it, serialized
  // Whether the event moves its alert: a firing or resolved event with an
  // alert key (notices have no state).
  bool moves_alert = false;
};

// kInvalidArgument when the event does not serialize.
Result<EventColumns> ColumnsOf(const v1::Event& event, std::string_view where,
                               std::string_view device_id);

// The same columns written into `columns`, whose strings keep their
// capacity: a store that reuses one EventColumns for every event of a batch
// allocates nothing per event once the strings have grown. On error
// `columns` holds no meaningful row.
Status FillColumns(const v1::Event& event, std::string_view where, std::string_view device_id,
                   EventColumns& columns);

// A heartbeat's services as stored: services_json ([{service, state,
// reason}]) and the short names it lists, as a JSON array.
struct HeartbeatColumns {
  std::string services_json;
  std::string reported_services_json;
  std::string feed_json;  // '' when the agent has no transaction feed
};

// kInvalidArgument when a service or its state is unspecified. `what` names
// the heartbeat.
Result<HeartbeatColumns> ColumnsOf(const v1::Heartbeat& heartbeat, std::string_view where,
                                   std::string_view what);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_STORE_ROWS_H_
