// FleetStore on the collector's PostgreSQL database: one connection of the
// fleet monitor's own, for reads (each a snapshot of its own, never waiting
// for the ingest writers), for the incidents table and for the incident
// lead (a session advisory lock on this connection). Comes back after the
// server restarts, as the ingest store's connection does, without the lead.
#include <fmt/format.h>

#include <map>
#include <pqxx/pqxx>

#include "collector/fleet/fleet_rows.h"
#include "collector/fleet/fleet_store.h"
#include "collector/store/pg_change_listener.h"
#include "collector/store/pg_connection.h"
#include "collector/store/pg_schema.h"

namespace atmhealth::collector::fleet {
namespace {

// The session advisory lock of the collector that keeps the incidents:
// "ATMH" and 1 (the schema migration's transaction lock is "ATMH" alone).
constexpr std::int64_t kIncidentLeadLock = 0x41544d48'00000001;

struct Statement {
  const char* name;
  const char* sql;
};

// The queries of sqlite_fleet_store.cc in PostgreSQL's words.
constexpr Statement kStatements[] = {
    {"read_devices", R"sql(
SELECT d.device_id, d.site_id, d.kind, d.agent_version, d.first_seen_unix_ns,
       d.last_seen_unix_ns, d.last_hello_unix_ns,
       h.received_unix_ns, h.interval_ms, h.backlog_events, h.buffer_bytes, h.buffer_limit_bytes,
       h.dropped_events_total, h.buffer_degraded, h.uptime_s, h.feed_json
FROM devices AS d LEFT JOIN heartbeats AS h ON h.device_id = d.device_id
)sql"},
    {"read_services",
     "SELECT device_id, service, state, reason, since_unix_ns FROM device_services"},
    {"read_firing", R"sql(
SELECT a.device_id, a.alert_key, e.kind, a.severity, e.category, e.subject, e.summary, e.unit,
       e.value, e.threshold, e.impact_unavailable, e.impact_degraded,
       a.since_wall_time_unix_ns, a.updated_unix_ns
FROM alerts AS a
JOIN events AS e ON e.device_id = a.device_id AND e.buffer_id = a.buffer_id AND e.seq = a.last_seq
WHERE a.state = 'firing'
)sql"},
    {"read_alert_history", R"sql(
SELECT seq, wall_time_unix_ns, received_unix_ns, alert_key, kind, state, severity, category,
       summary, value, threshold, unit, context_json
FROM events WHERE device_id = $1 ORDER BY seq DESC LIMIT $2
)sql"},
    {"read_incidents", R"sql(
SELECT incident_id, scope, site_id, started_unix_ns, ended_unix_ns, categories, devices_json,
       services_json, tolerance_alerts_json, alert_keys_json, updated_unix_ns
FROM incidents
WHERE ($1::bigint = 0 OR ended_unix_ns IS NULL)
  AND (ended_unix_ns IS NULL OR ended_unix_ns >= $2::bigint)
  AND ($3::text = '' OR ',' || categories || ',' LIKE '%,' || $3::text || ',%')
  AND ($4::text = '' OR EXISTS (SELECT 1 FROM json_array_elements(devices_json::json) AS d
                                WHERE d ->> 'device_id' = $4::text))
  AND ($6::bigint = 0 OR started_unix_ns < $6::bigint)
ORDER BY started_unix_ns DESC, incident_id DESC
LIMIT $5
)sql"},
    {"upsert_incident", R"sql(
INSERT INTO incidents (
  incident_id, scope, site_id, started_unix_ns, ended_unix_ns, categories, device_count,
  devices_json, services_json, tolerance_alerts_json, alert_keys_json, updated_unix_ns)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (incident_id) DO UPDATE SET
  scope = excluded.scope,
  site_id = excluded.site_id,
  started_unix_ns = excluded.started_unix_ns,
  ended_unix_ns = excluded.ended_unix_ns,
  categories = excluded.categories,
  device_count = excluded.device_count,
  devices_json = excluded.devices_json,
  services_json = excluded.services_json,
  tolerance_alerts_json = excluded.tolerance_alerts_json,
  alert_keys_json = excluded.alert_keys_json,
  updated_unix_ns = excluded.updated_unix_ns
)sql"},
    {"delete_incident", "DELETE FROM incidents WHERE incident_id = $1"},
    // PostgreSQL has no rowid: the row's ctid names it within the statement.
    {"purge_events", R"sql(
DELETE FROM events WHERE ctid IN (
  SELECT e.ctid FROM events AS e
  WHERE e.received_unix_ns < $1
    AND NOT EXISTS (SELECT 1 FROM alerts AS a
                    WHERE a.device_id = e.device_id AND a.buffer_id = e.buffer_id
                      AND a.last_seq = e.seq)
  ORDER BY e.received_unix_ns
  LIMIT $2)
)sql"},
    {"purge_heartbeat_history", R"sql(
DELETE FROM heartbeat_history WHERE ctid IN (
  SELECT ctid FROM heartbeat_history WHERE received_unix_ns < $1
  ORDER BY received_unix_ns LIMIT $2)
)sql"},
};

void PrepareStatements(pqxx::connection& connection) {
  for (const Statement& statement : kStatements) connection.prepare(statement.name, statement.sql);
}

template <typename T>
T Or(const pqxx::field& field, T otherwise) {
  return field.is_null() ? otherwise : field.as<T>();
}

class PgFleetStore final : public FleetStore {
 public:
  explicit PgFleetStore(const PgConnectionOptions& options)
      : connection_(options, &PrepareStatements) {}

  PgConnection& connection() { return connection_; }

  Result<std::vector<StoredDevice>> ReadDevices() override {
    return connection_.Run<std::vector<StoredDevice>>(
        "read fleet", [](pqxx::connection& c) -> Result<std::vector<StoredDevice>> {
          // One snapshot, so the three queries see the same instant.
          pqxx::read_transaction read(c, "read fleet");
          std::vector<StoredDevice> devices;
          std::map<std::string, std::size_t, std::less<>> index;
          for (const pqxx::row& row : read.exec_prepared("read_devices")) {
            StoredDevice device;
            device.device_id = row[0].as<std::string>();
            device.site_id = row[1].as<std::string>();
            device.kind = row[2].as<std::string>();
            device.agent_version = row[3].as<std::string>();
            device.first_seen_unix_ns = row[4].as<std::int64_t>();
            device.last_seen_unix_ns = row[5].as<std::int64_t>();
            device.last_hello_unix_ns = row[6].as<std::int64_t>();
            if (!row[7].is_null()) {
              StoredHeartbeat heartbeat;
              heartbeat.received_unix_ns = row[7].as<std::int64_t>();
              heartbeat.interval_ms = row[8].as<std::int64_t>();
              heartbeat.backlog_events = row[9].as<std::int64_t>();
              heartbeat.buffer_bytes = row[10].as<std::int64_t>();
              heartbeat.buffer_limit_bytes = row[11].as<std::int64_t>();
              heartbeat.dropped_events_total = row[12].as<std::int64_t>();
              heartbeat.buffer_degraded = row[13].as<std::int64_t>() != 0;
              heartbeat.uptime_s = row[14].as<std::int64_t>();
              heartbeat.feed = ParseFeed(row[15].as<std::string>());
              device.heartbeat = heartbeat;
            }
            index.emplace(device.device_id, devices.size());
            devices.push_back(std::move(device));
          }
          for (const pqxx::row& row : read.exec_prepared("read_services")) {
            const auto device = index.find(row[0].as<std::string>());
            if (device == index.end()) continue;
            devices[device->second].services.push_back(
                StoredService{row[1].as<std::string>(), row[2].as<std::string>(),
                              row[3].as<std::string>(), row[4].as<std::int64_t>()});
          }
          for (const pqxx::row& row : read.exec_prepared("read_firing")) {
            const auto device = index.find(row[0].as<std::string>());
            if (device == index.end()) continue;
            StoredAlert alert;
            alert.alert_key = row[1].as<std::string>();
            alert.kind = row[2].as<std::string>();
            alert.severity = row[3].as<std::string>();
            alert.category = row[4].as<std::string>();
            alert.subject = row[5].as<std::string>();
            alert.summary = row[6].as<std::string>();
            alert.unit = row[7].as<std::string>();
            alert.value = Or(row[8], 0.0);
            alert.threshold = Or(row[9], 0.0);
            alert.impact_unavailable = SplitList(row[10].as<std::string>());
            alert.impact_degraded = SplitList(row[11].as<std::string>());
            alert.since_wall_time_unix_ns = row[12].as<std::int64_t>();
            alert.updated_unix_ns = row[13].as<std::int64_t>();
            devices[device->second].firing.push_back(std::move(alert));
          }
          read.commit();
          return devices;
        });
  }

  Result<std::vector<AlertEvent>> ReadAlertHistory(const std::string& device_id,
                                                   std::int64_t limit) override {
    return connection_.Run<std::vector<AlertEvent>>(
        "read alert history", [&](pqxx::connection& c) -> Result<std::vector<AlertEvent>> {
          pqxx::read_transaction read(c, "read alert history");
          std::vector<AlertEvent> events;
          for (const pqxx::row& row : read.exec_prepared("read_alert_history", device_id, limit)) {
            AlertEvent event;
            event.seq = row[0].as<std::int64_t>();
            event.wall_time_unix_ns = row[1].as<std::int64_t>();
            event.received_unix_ns = row[2].as<std::int64_t>();
            event.alert_key = row[3].as<std::string>();
            event.kind = row[4].as<std::string>();
            event.state = row[5].as<std::string>();
            event.severity = row[6].as<std::string>();
            event.category = row[7].as<std::string>();
            event.summary = row[8].as<std::string>();
            event.value = Or(row[9], 0.0);
            event.threshold = Or(row[10], 0.0);
            event.unit = row[11].as<std::string>();
            event.context_json = row[12].as<std::string>();
            events.push_back(std::move(event));
          }
          read.commit();
          return events;
        });
  }

  Result<std::vector<Incident>> ReadIncidents(const IncidentQuery& filter) override {
    const std::string where = connection_.where();
    return connection_.Run<std::vector<Incident>>(
        "read incidents", [&](pqxx::connection& c) -> Result<std::vector<Incident>> {
          pqxx::read_transaction read(c, "read incidents");
          std::vector<Incident> incidents;
          for (const pqxx::row& row : read.exec_prepared(
                   "read_incidents", std::int64_t{filter.open_only ? 1 : 0}, filter.since_unix_ns,
                   filter.category, filter.device_id, filter.limit, filter.until_unix_ns)) {
            IncidentColumns columns;
            columns.id = row[0].as<std::int64_t>();
            columns.scope = row[1].as<std::string>();
            columns.site_id = row[2].as<std::string>();
            columns.started_unix_ns = row[3].as<std::int64_t>();
            if (!row[4].is_null()) columns.ended_unix_ns = row[4].as<std::int64_t>();
            columns.categories = row[5].as<std::string>();
            columns.devices_json = row[6].as<std::string>();
            columns.services_json = row[7].as<std::string>();
            columns.tolerance_alerts_json = row[8].as<std::string>();
            columns.alert_keys_json = row[9].as<std::string>();
            columns.updated_unix_ns = row[10].as<std::int64_t>();
            Result<Incident> incident = IncidentFrom(columns, where);
            if (!incident) return incident.error();
            incidents.push_back(std::move(*incident));
          }
          read.commit();
          return incidents;
        });
  }

  Result<std::int64_t> NextIncidentId() override {
    return connection_.Run<std::int64_t>(
        "read highest incident id", [](pqxx::connection& c) -> Result<std::int64_t> {
          pqxx::read_transaction read(c, "read highest incident id");
          const pqxx::row row = read.exec1("SELECT coalesce(max(incident_id), 0) FROM incidents");
          return row[0].as<std::int64_t>() + 1;
        });
  }

  Result<bool> HoldIncidentLead() override {
    return connection_.Run<bool>("take the incident lead", [&](pqxx::connection& c) {
      // Held until this session ends: asked again only on a new connection.
      if (lead_generation_ == connection_.generation()) return Result<bool>(true);
      pqxx::nontransaction ask(c, "take the incident lead");
      if (!ask.exec_params1("SELECT pg_try_advisory_lock($1)", kIncidentLeadLock)[0].as<bool>()) {
        return Result<bool>(false);
      }
      lead_generation_ = connection_.generation();
      return Result<bool>(true);
    });
  }

  Status SaveIncidents(const std::vector<const Incident*>& changed,
                       const std::vector<std::int64_t>& removed) override {
    if (changed.empty() && removed.empty()) return OkStatus();
    Result<bool> saved =
        connection_.Run<bool>("save incidents", [&](pqxx::connection& c) -> Result<bool> {
          // A new session (the server restarted, the connection broke) has
          // not the lock: another collector may keep the incidents now.
          if (lead_generation_ != connection_.generation()) {
            return Error(ErrorCode::kUnavailable,
                         fmt::format("{}: save incidents: the incident lead was lost with the "
                                     "connection; nothing saved",
                                     connection_.where()));
          }
          pqxx::work work(c, "save incidents");
          for (const std::int64_t id : removed) work.exec_prepared0("delete_incident", id);
          for (const Incident* incident : changed) {
            const IncidentColumns row = ColumnsOf(*incident);
            work.exec_prepared0("upsert_incident", row.id, row.scope, row.site_id,
                                row.started_unix_ns, row.ended_unix_ns, row.categories,
                                row.device_count, row.devices_json, row.services_json,
                                row.tolerance_alerts_json, row.alert_keys_json,
                                row.updated_unix_ns);
          }
          // The collectors that follow read the change now, not at their
          // next evaluation.
          work.exec0(std::string("NOTIFY ") + kPgFleetChannel);
          work.commit();
          return true;
        });
    if (!saved) return saved.error();
    return OkStatus();
  }

  Result<Purged> Purge(std::int64_t received_before_unix_ns, std::int64_t max_rows) override {
    // Two short transactions of their own.
    Purged purged;
    for (auto [statement, count] : {std::pair{"purge_events", &purged.events},
                                    std::pair{"purge_heartbeat_history", &purged.heartbeats}}) {
      Result<std::int64_t> deleted = connection_.Run<std::int64_t>(
          statement, [&](pqxx::connection& c) -> Result<std::int64_t> {
            pqxx::work work(c, statement);
            const pqxx::result result =
                work.exec_prepared(statement, received_before_unix_ns, max_rows);
            work.commit();
            return static_cast<std::int64_t>(result.affected_rows());
          });
      if (!deleted) return deleted.error();
      *count = *deleted;
    }
    return purged;
  }

  Result<std::int64_t> DatabaseBytes() override {
    return connection_.Run<std::int64_t>(
        "read the database size", [](pqxx::connection& c) -> Result<std::int64_t> {
          pqxx::nontransaction read(c, "read the database size");
          return read.exec1("SELECT pg_database_size(current_database())")[0].as<std::int64_t>();
        });
  }

 private:
  PgConnection connection_;
  // The connection (PgConnection::generation) that holds the incident
  // lead; 0: none.
  std::uint64_t lead_generation_ = 0;
};

}  // namespace

Result<std::unique_ptr<FleetStore>> FleetStore::OpenPostgres(const PgConnectionOptions& options) {
  auto store = std::make_unique<PgFleetStore>(options);
  if (Status migrated = MigratePgCollectorSchema(store->connection()); !migrated) {
    return migrated.error();
  }
  return std::unique_ptr<FleetStore>(std::move(store));
}

}  // namespace atmhealth::collector::fleet
