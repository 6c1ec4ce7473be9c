// FleetStore on the collector's SQLite file: a query_only connection for
// reads and one more for the incidents table.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "collector/fleet/fleet_rows.h"
#include "collector/fleet/fleet_store.h"
#include "collector/store/collector_schema.h"
#include "platform/sqlite_database.h"

namespace atmhealth::collector::fleet {
namespace {

constexpr const char* kReadDevices = R"sql(
SELECT d.device_id, d.site_id, d.kind, d.agent_version, d.first_seen_unix_ns,
       d.last_seen_unix_ns, d.last_hello_unix_ns,
       h.received_unix_ns, h.interval_ms, h.backlog_events, h.buffer_bytes, h.buffer_limit_bytes,
       h.dropped_events_total, h.buffer_degraded, h.uptime_s, h.feed_json
FROM devices AS d LEFT JOIN heartbeats AS h ON h.device_id = d.device_id
)sql";

constexpr const char* kReadServices = R"sql(
SELECT device_id, service, state, reason, since_unix_ns FROM device_services
)sql";

constexpr const char* kReadFiring = R"sql(
SELECT a.device_id, a.alert_key, e.kind, a.severity, e.category, e.subject, e.summary, e.unit,
       e.value, e.threshold, e.impact_unavailable, e.impact_degraded,
       a.since_wall_time_unix_ns, a.updated_unix_ns
FROM alerts AS a
JOIN events AS e ON e.device_id = a.device_id AND e.buffer_id = a.buffer_id AND e.seq = a.last_seq
WHERE a.state = 'firing'
)sql";

constexpr const char* kReadAlertHistory = R"sql(
SELECT seq, wall_time_unix_ns, received_unix_ns, alert_key, kind, state, severity, category,
       summary, value, threshold, unit, context_json
FROM events WHERE device_id = ?1 ORDER BY seq DESC LIMIT ?2
)sql";

constexpr const char* kReadIncidents = R"sql(
SELECT incident_id, scope, site_id, started_unix_ns, ended_unix_ns, categories, devices_json,
       services_json, tolerance_alerts_json, alert_keys_json, updated_unix_ns
FROM incidents
WHERE (?1 = 0 OR ended_unix_ns IS NULL)
  AND (ended_unix_ns IS NULL OR ended_unix_ns >= ?2)
  AND (?3 = '' OR ',' || categories || ',' LIKE '%,' || ?3 || ',%')
  AND (?4 = '' OR EXISTS (SELECT 1 FROM json_each(devices_json)
                          WHERE json_extract(value, '$.device_id') = ?4))
  AND (?6 = 0 OR started_unix_ns < ?6)
ORDER BY started_unix_ns DESC, incident_id DESC
LIMIT ?5
)sql";

constexpr const char* kUpsertIncident = R"sql(
INSERT OR REPLACE INTO incidents (
  incident_id, scope, site_id, started_unix_ns, ended_unix_ns, categories, device_count,
  devices_json, services_json, tolerance_alerts_json, alert_keys_json, updated_unix_ns)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
)sql";

// Oldest first through events_by_received; the event an alert's current
// state comes from stays.
constexpr const char* kPurgeEvents = R"sql(
DELETE FROM events WHERE rowid IN (
  SELECT e.rowid FROM events AS e
  WHERE e.received_unix_ns < ?1
    AND NOT EXISTS (SELECT 1 FROM alerts AS a
                    WHERE a.device_id = e.device_id AND a.buffer_id = e.buffer_id
                      AND a.last_seq = e.seq)
  ORDER BY e.received_unix_ns
  LIMIT ?2)
)sql";

constexpr const char* kPurgeHeartbeatHistory = R"sql(
DELETE FROM heartbeat_history WHERE (device_id, received_unix_ns) IN (
  SELECT device_id, received_unix_ns FROM heartbeat_history WHERE received_unix_ns < ?1
  ORDER BY received_unix_ns LIMIT ?2)
)sql";

constexpr const char* kDeleteIncident = "DELETE FROM incidents WHERE incident_id = ?1";

class SqliteFleetStore final : public FleetStore {
 public:
  SqliteFleetStore(platform::SqliteDatabase reader, platform::SqliteDatabase writer)
      : reader_(std::move(reader)), writer_(std::move(writer)) {}

  Status Prepare() {
    struct Named {
      platform::SqliteDatabase* database;
      platform::SqliteStatement* statement;
      const char* sql;
    };
    for (const Named& named : {
             Named{&reader_, &read_devices_, kReadDevices},
             Named{&reader_, &read_services_, kReadServices},
             Named{&reader_, &read_firing_, kReadFiring},
             Named{&reader_, &read_alert_history_, kReadAlertHistory},
             Named{&reader_, &read_incidents_, kReadIncidents},
             Named{&writer_, &upsert_incident_, kUpsertIncident},
             Named{&writer_, &delete_incident_, kDeleteIncident},
             Named{&writer_, &purge_events_, kPurgeEvents},
             Named{&writer_, &purge_heartbeat_history_, kPurgeHeartbeatHistory},
         }) {
      Result<platform::SqliteStatement> statement =
          named.database->Prepare(named.sql, "prepare fleet query");
      if (!statement) return statement.error();
      *named.statement = std::move(*statement);
    }
    return OkStatus();
  }

  Result<std::vector<StoredDevice>> ReadDevices() override {
    // One read transaction, so the three queries see the same instant.
    if (Status begun = reader_.Execute("BEGIN", "read fleet"); !begun) return begun.error();
    Result<std::vector<StoredDevice>> devices = ReadDevicesInTransaction();
    Status ended = reader_.Execute("COMMIT", "read fleet");
    if (!devices) return devices;
    if (!ended) return ended.error();
    return devices;
  }

  Result<std::vector<AlertEvent>> ReadAlertHistory(const std::string& device_id,
                                                   std::int64_t limit) override {
    std::vector<AlertEvent> events;
    platform::SqliteQuery query(reader_, read_alert_history_);
    query.BindText(1, device_id).BindInt64(2, limit);
    for (;;) {
      Result<bool> row = query.Step("read alert history");
      if (!row) return row.error();
      if (!*row) break;
      AlertEvent event;
      event.seq = query.ColumnInt64(0);
      event.wall_time_unix_ns = query.ColumnInt64(1);
      event.received_unix_ns = query.ColumnInt64(2);
      event.alert_key = query.ColumnText(3);
      event.kind = query.ColumnText(4);
      event.state = query.ColumnText(5);
      event.severity = query.ColumnText(6);
      event.category = query.ColumnText(7);
      event.summary = query.ColumnText(8);
      event.value = query.ColumnDouble(9);
      event.threshold = query.ColumnDouble(10);
      event.unit = query.ColumnText(11);
      event.context_json = query.ColumnText(12);
      events.push_back(std::move(event));
    }
    return events;
  }

  Result<std::vector<Incident>> ReadIncidents(const IncidentQuery& filter) override {
    std::vector<Incident> incidents;
    platform::SqliteQuery query(reader_, read_incidents_);
    query.BindInt64(1, filter.open_only ? 1 : 0)
        .BindInt64(2, filter.since_unix_ns)
        .BindText(3, filter.category)
        .BindText(4, filter.device_id)
        .BindInt64(5, filter.limit)
        .BindInt64(6, filter.until_unix_ns);
    for (;;) {
      Result<bool> row = query.Step("read incidents");
      if (!row) return row.error();
      if (!*row) break;
      IncidentColumns columns;
      columns.id = query.ColumnInt64(0);
      columns.scope = query.ColumnText(1);
      columns.site_id = query.ColumnText(2);
      columns.started_unix_ns = query.ColumnInt64(3);
      if (!query.ColumnIsNull(4)) columns.ended_unix_ns = query.ColumnInt64(4);
      columns.categories = query.ColumnText(5);
      columns.devices_json = query.ColumnText(6);
      columns.services_json = query.ColumnText(7);
      columns.tolerance_alerts_json = query.ColumnText(8);
      columns.alert_keys_json = query.ColumnText(9);
      columns.updated_unix_ns = query.ColumnInt64(10);
      Result<Incident> incident = IncidentFrom(columns, reader_.path());
      if (!incident) return incident.error();
      incidents.push_back(std::move(*incident));
    }
    return incidents;
  }

  Result<Purged> Purge(std::int64_t received_before_unix_ns, std::int64_t max_rows) override {
    // Two short transactions of their own, so the ingest writer waits for
    // neither for long.
    auto purge = [&](platform::SqliteStatement& statement,
                     std::string_view what) -> Result<std::int64_t> {
      platform::SqliteQuery query(writer_, statement);
      query.BindInt64(1, received_before_unix_ns).BindInt64(2, max_rows);
      if (Status run = query.Run(what); !run) return run.error();
      return static_cast<std::int64_t>(writer_.ChangedRows());
    };
    Purged purged;
    Result<std::int64_t> events = purge(purge_events_, "purge events");
    if (!events) return events.error();
    purged.events = *events;
    Result<std::int64_t> heartbeats = purge(purge_heartbeat_history_, "purge heartbeat history");
    if (!heartbeats) return heartbeats.error();
    purged.heartbeats = *heartbeats;
    return purged;
  }

  Result<std::int64_t> NextIncidentId() override {
    Result<std::int64_t> highest = writer_.QueryInt64(
        "SELECT coalesce(max(incident_id), 0) FROM incidents", "read highest incident id");
    if (!highest) return highest;
    return *highest + 1;
  }

  Status SaveIncidents(const std::vector<const Incident*>& changed,
                       const std::vector<std::int64_t>& removed) override {
    if (changed.empty() && removed.empty()) return OkStatus();
    Result<platform::SqliteTransaction> transaction =
        platform::SqliteTransaction::Begin(writer_, "save incidents");
    if (!transaction) return transaction.error();
    for (const std::int64_t id : removed) {
      platform::SqliteQuery query(writer_, delete_incident_);
      query.BindInt64(1, id);
      if (Status run = query.Run(fmt::format("delete merged incident {}", id)); !run) return run;
    }
    for (const Incident* incident : changed) {
      const IncidentColumns row = ColumnsOf(*incident);
      platform::SqliteQuery query(writer_, upsert_incident_);
      query.BindInt64(1, row.id)
          .BindText(2, row.scope)
          .BindText(3, row.site_id)
          .BindInt64(4, row.started_unix_ns);
      if (row.ended_unix_ns) query.BindInt64(5, *row.ended_unix_ns);
      query.BindText(6, row.categories)
          .BindInt64(7, row.device_count)
          .BindText(8, row.devices_json)
          .BindText(9, row.services_json)
          .BindText(10, row.tolerance_alerts_json)
          .BindText(11, row.alert_keys_json)
          .BindInt64(12, row.updated_unix_ns);
      if (Status run = query.Run(fmt::format("save incident {}", row.id)); !run) return run;
    }
    return transaction->Commit();
  }

  Result<std::int64_t> DatabaseBytes() override {
    std::int64_t bytes = 0;
    for (const char* suffix : {"", "-wal"}) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(reader_.path() + suffix, ec);
      if (!ec) bytes += static_cast<std::int64_t>(size);
    }
    return bytes;
  }

 private:
  Result<std::vector<StoredDevice>> ReadDevicesInTransaction() {
    std::vector<StoredDevice> devices;
    std::map<std::string, std::size_t, std::less<>> index;
    {
      platform::SqliteQuery query(reader_, read_devices_);
      for (;;) {
        Result<bool> row = query.Step("read devices");
        if (!row) return row.error();
        if (!*row) break;
        StoredDevice device;
        device.device_id = query.ColumnText(0);
        device.site_id = query.ColumnText(1);
        device.kind = query.ColumnText(2);
        device.agent_version = query.ColumnText(3);
        device.first_seen_unix_ns = query.ColumnInt64(4);
        device.last_seen_unix_ns = query.ColumnInt64(5);
        device.last_hello_unix_ns = query.ColumnInt64(6);
        if (!query.ColumnIsNull(7)) {
          StoredHeartbeat heartbeat;
          heartbeat.received_unix_ns = query.ColumnInt64(7);
          heartbeat.interval_ms = query.ColumnInt64(8);
          heartbeat.backlog_events = query.ColumnInt64(9);
          heartbeat.buffer_bytes = query.ColumnInt64(10);
          heartbeat.buffer_limit_bytes = query.ColumnInt64(11);
          heartbeat.dropped_events_total = query.ColumnInt64(12);
          heartbeat.buffer_degraded = query.ColumnInt64(13) != 0;
          heartbeat.uptime_s = query.ColumnInt64(14);
          heartbeat.feed = ParseFeed(query.ColumnText(15));
          device.heartbeat = heartbeat;
        }
        index.emplace(device.device_id, devices.size());
        devices.push_back(std::move(device));
      }
    }
    {
      platform::SqliteQuery query(reader_, read_services_);
      for (;;) {
        Result<bool> row = query.Step("read device services");
        if (!row) return row.error();
        if (!*row) break;
        const auto device = index.find(query.ColumnText(0));
        if (device == index.end()) continue;
        devices[device->second].services.push_back(
            StoredService{std::string(query.ColumnText(1)), std::string(query.ColumnText(2)),
                          std::string(query.ColumnText(3)), query.ColumnInt64(4)});
      }
    }
    {
      platform::SqliteQuery query(reader_, read_firing_);
      for (;;) {
        Result<bool> row = query.Step("read firing alerts");
        if (!row) return row.error();
        if (!*row) break;
        const auto device = index.find(query.ColumnText(0));
        if (device == index.end()) continue;
        StoredAlert alert;
        alert.alert_key = query.ColumnText(1);
        alert.kind = query.ColumnText(2);
        alert.severity = query.ColumnText(3);
        alert.category = query.ColumnText(4);
        alert.subject = query.ColumnText(5);
        alert.summary = query.ColumnText(6);
        alert.unit = query.ColumnText(7);
        alert.value = query.ColumnDouble(8);
        alert.threshold = query.ColumnDouble(9);
        alert.impact_unavailable = SplitList(query.ColumnText(10));
        alert.impact_degraded = SplitList(query.ColumnText(11));
        alert.since_wall_time_unix_ns = query.ColumnInt64(12);
        alert.updated_unix_ns = query.ColumnInt64(13);
        devices[device->second].firing.push_back(std::move(alert));
      }
    }
    return devices;
  }

  // Declared first so that they are destroyed after their statements.
  platform::SqliteDatabase reader_;
  platform::SqliteDatabase writer_;
  platform::SqliteStatement read_devices_;
  platform::SqliteStatement read_services_;
  platform::SqliteStatement read_firing_;
  platform::SqliteStatement read_alert_history_;
  platform::SqliteStatement read_incidents_;
  platform::SqliteStatement upsert_incident_;
  platform::SqliteStatement delete_incident_;
  platform::SqliteStatement purge_events_;
  platform::SqliteStatement purge_heartbeat_history_;
};

}  // namespace

Result<std::unique_ptr<FleetStore>> FleetStore::OpenSqlite(const std::string& path,
                                                           std::chrono::milliseconds busy_timeout) {
  Result<platform::SqliteDatabase> writer = platform::SqliteDatabase::Open(path, busy_timeout);
  if (!writer) return writer.error();
  Status pragmas = writer->Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
                                   "set pragmas of the incident writer");
  if (!pragmas) return pragmas.error();
  if (Status migrated = MigrateCollectorSchema(*writer); !migrated) return migrated.error();
  Result<platform::SqliteDatabase> reader = platform::SqliteDatabase::Open(path, busy_timeout);
  if (!reader) return reader.error();
  if (Status read_only = reader->Execute("PRAGMA query_only = ON", "set the reader query_only");
      !read_only) {
    return read_only.error();
  }
  auto store = std::make_unique<SqliteFleetStore>(std::move(*reader), std::move(*writer));
  if (Status prepared = store->Prepare(); !prepared) return prepared.error();
  return std::unique_ptr<FleetStore>(std::move(store));
}

Result<std::unique_ptr<FleetStore>> FleetStore::OpenSqliteReadOnly(
    const std::string& path, std::chrono::milliseconds busy_timeout) {
  Result<platform::SqliteDatabase> reader =
      platform::SqliteDatabase::OpenReadOnly(path, busy_timeout);
  if (!reader) return reader.error();
  Result<std::int64_t> version = reader->QueryInt64("PRAGMA user_version", "read schema version");
  if (!version) return version.error();
  if (*version != kCollectorSchemaVersion) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: the database is at schema version {}, this build reads version "
                             "{}: {}",
                             path, *version, kCollectorSchemaVersion,
                             *version < kCollectorSchemaVersion
                                 ? "start this build's collector on it once to migrate it"
                                 : "use the collector that wrote it"));
  }
  // The "writer" is read-only too: its statements prepare, any write fails.
  Result<platform::SqliteDatabase> writer =
      platform::SqliteDatabase::OpenReadOnly(path, busy_timeout);
  if (!writer) return writer.error();
  auto store = std::make_unique<SqliteFleetStore>(std::move(*reader), std::move(*writer));
  if (Status prepared = store->Prepare(); !prepared) return prepared.error();
  return std::unique_ptr<FleetStore>(std::move(store));
}

}  // namespace atmhealth::collector::fleet
