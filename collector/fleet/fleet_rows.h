// What every FleetStore (SQLite, PostgreSQL) reads from and writes to its
// rows the same way: the comma lists, the heartbeat's feed JSON and the
// incident's JSON columns.
#ifndef ATMHEALTH_COLLECTOR_FLEET_FLEET_ROWS_H_
#define ATMHEALTH_COLLECTOR_FLEET_FLEET_ROWS_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "collector/fleet/fleet_state.h"
#include "collector/fleet/incident_tracker.h"
#include "platform/status.h"

namespace atmhealth::collector::fleet {

// "a,b" -> {"a", "b"}; empty items are skipped.
std::vector<std::string> SplitList(std::string_view text);
// {"a", "b"} -> "a,b".
std::string JoinList(const std::set<std::string>& items);

// heartbeats.feed_json as the collector's store wrote it; '' (no feed) and
// text that is not such an object (a hand-edited row) are no feed.
std::optional<StoredFeed> ParseFeed(std::string_view text);

// The columns of an incidents row, as text where they are JSON or lists.
struct IncidentColumns {
  std::int64_t id = 0;
  std::string scope;
  std::string site_id;
  std::int64_t started_unix_ns = 0;
  std::optional<std::int64_t> ended_unix_ns;
  std::string categories;
  std::int64_t device_count = 0;
  std::string devices_json;
  std::string services_json;
  std::string tolerance_alerts_json;
  std::string alert_keys_json;
  std::int64_t updated_unix_ns = 0;
};

IncidentColumns ColumnsOf(const Incident& incident);

// The JSON columns are written by ColumnsOf only; a row that does not read
// back is reported (kCorrupt, naming `where`), not trusted.
Result<Incident> IncidentFrom(const IncidentColumns& row, std::string_view where);

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_FLEET_ROWS_H_
