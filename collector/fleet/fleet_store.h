// What the fleet monitor and the HTTP API read from the collector's
// database, and the incidents they keep in it. Reads run on a connection of
// their own (query_only), so in WAL mode they never wait behind the ingest
// writes; incident writes use a second connection and are a few small
// transactions per change.
//
// The SQLite implementation is the default; a PostgreSQL store implements the
// same interface.
#ifndef ATMHEALTH_COLLECTOR_FLEET_FLEET_STORE_H_
#define ATMHEALTH_COLLECTOR_FLEET_FLEET_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collector/fleet/fleet_state.h"
#include "collector/fleet/incident_tracker.h"
#include "platform/status.h"

namespace atmhealth::collector {
struct PgConnectionOptions;  // collector/store/pg_connection.h
}  // namespace atmhealth::collector

namespace atmhealth::collector::fleet {

struct IncidentQuery {
  bool open_only = false;
  std::string category;            // FSA category short name, "unreachable", or empty: any
  std::string device_id;           // empty: any
  std::int64_t since_unix_ns = 0;  // incidents still open or ended at or after this
  std::int64_t until_unix_ns = 0;  // incidents started before this; 0: any
  std::int64_t limit = 100;        // newest first
};

// One firing, resolved or notice event of a device, for its history.
struct AlertEvent {
  std::int64_t seq = 0;
  std::int64_t wall_time_unix_ns = 0;  // device clock
  std::int64_t received_unix_ns = 0;   // collector clock
  std::string alert_key;
  std::string kind;
  std::string state;
  std::string severity;
  std::string category;
  std::string summary;
  double value = 0;
  double threshold = 0;
  std::string unit;
  std::string context_json;  // the diagnostic snapshot, an object of key to value
};

// Not thread-safe: one thread (the fleet monitor's) uses it.
class FleetStore {
 public:
  virtual ~FleetStore() = default;

  // Opens the collector's SQLite database at `path` (migrating its schema
  // if the ingest store has not yet).
  static Result<std::unique_ptr<FleetStore>> OpenSqlite(const std::string& path,
                                                        std::chrono::milliseconds busy_timeout);
  // Opens it for reading only, from outside the collector (reports): the
  // file is never created, migrated or written, and a write call fails.
  // A database older or newer than this build's schema is refused.
  static Result<std::unique_ptr<FleetStore>> OpenSqliteReadOnly(
      const std::string& path, std::chrono::milliseconds busy_timeout);

  // Connects to the collector's PostgreSQL database (migrating its schema
  // if the ingest store has not yet) with a connection of its own.
  static Result<std::unique_ptr<FleetStore>> OpenPostgres(const PgConnectionOptions& options);

  // Every device with its latest heartbeat, services and firing alerts.
  virtual Result<std::vector<StoredDevice>> ReadDevices() = 0;
  // The latest `limit` alert events of a device, newest first.
  virtual Result<std::vector<AlertEvent>> ReadAlertHistory(const std::string& device_id,
                                                           std::int64_t limit) = 0;
  virtual Result<std::vector<Incident>> ReadIncidents(const IncidentQuery& query) = 0;
  // Whether this collector keeps the incidents now: opens, moves, numbers
  // and saves them. Of several collectors on one PostgreSQL database one
  // does (it holds a session advisory lock on this store's connection, so
  // the lead is free again the moment its process or connection dies); the
  // others read what it saved. Asked before every evaluation; cheap while
  // held. A lone SQLite collector always does.
  virtual Result<bool> HoldIncidentLead() { return true; }
  // Above every stored incident id.
  virtual Result<std::int64_t> NextIncidentId() = 0;
  // Writes `changed` and deletes `removed` (merged into another) in one
  // transaction; kUnavailable, writing nothing, when this collector lost
  // the incident lead since HoldIncidentLead said it had it.
  virtual Status SaveIncidents(const std::vector<const Incident*>& changed,
                               const std::vector<std::int64_t>& removed) = 0;
  // Deletes, oldest first, at most `max_rows` events received before
  // `received_before_unix_ns` (except the latest event of every alert: what
  // the device's current state shows) and at most `max_rows` rows of the
  // heartbeat history from before then. Returns how many of each it deleted.
  struct Purged {
    std::int64_t events = 0;
    std::int64_t heartbeats = 0;
  };
  virtual Result<Purged> Purge(std::int64_t received_before_unix_ns, std::int64_t max_rows) = 0;
  // Bytes of the database file and its write-ahead log (PostgreSQL: of the
  // whole database).
  virtual Result<std::int64_t> DatabaseBytes() = 0;
};

}  // namespace atmhealth::collector::fleet

#endif  // ATMHEALTH_COLLECTOR_FLEET_FLEET_STORE_H_
