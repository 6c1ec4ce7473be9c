#include "collector/store/collector_schema.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <iterator>
#include <string>

namespace atmhealth::collector {
namespace {

// Version 1: devices, events (exactly once per device and seq), the current
// state of each alert, the latest heartbeat per device and the current state
// of each customer service. Enums are short names (text), times are integer
// nanoseconds. docs/collector-database.md explains every column.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE devices (
  device_id           TEXT    NOT NULL PRIMARY KEY,
  site_id             TEXT    NOT NULL,
  kind                TEXT    NOT NULL,
  agent_version       TEXT    NOT NULL,
  protocol_version    INTEGER NOT NULL,
  peer                TEXT    NOT NULL,
  agent_last_seq      INTEGER NOT NULL,
  first_seen_unix_ns  INTEGER NOT NULL,
  last_seen_unix_ns   INTEGER NOT NULL,
  last_hello_unix_ns  INTEGER NOT NULL,
  last_seq            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_by_site ON devices (site_id);

CREATE TABLE events (
  device_id           TEXT    NOT NULL REFERENCES devices (device_id),
  seq                 INTEGER NOT NULL CHECK (seq >= 1),
  received_unix_ns    INTEGER NOT NULL,
  wall_time_unix_ns   INTEGER NOT NULL,
  monotonic_ns        INTEGER NOT NULL,
  boot_id             TEXT    NOT NULL,
  severity            TEXT    NOT NULL,
  kind                TEXT    NOT NULL,
  state               TEXT    NOT NULL,
  subject             TEXT    NOT NULL,
  alert_key           TEXT    NOT NULL,
  value               REAL,
  threshold           REAL,
  unit                TEXT    NOT NULL,
  category            TEXT    NOT NULL,
  impact_unavailable  TEXT    NOT NULL,
  impact_degraded     TEXT    NOT NULL,
  summary             TEXT    NOT NULL,
  context_json        TEXT    NOT NULL,
  payload             BLOB    NOT NULL,
  PRIMARY KEY (device_id, seq)
);
CREATE INDEX events_by_alert_key ON events (alert_key, device_id, seq);
CREATE INDEX events_by_received ON events (received_unix_ns);

CREATE TABLE alerts (
  device_id                TEXT    NOT NULL REFERENCES devices (device_id),
  alert_key                TEXT    NOT NULL,
  state                    TEXT    NOT NULL CHECK (state IN ('firing', 'resolved')),
  severity                 TEXT    NOT NULL,
  since_seq                INTEGER NOT NULL,
  since_wall_time_unix_ns  INTEGER NOT NULL,
  last_seq                 INTEGER NOT NULL,
  updated_unix_ns          INTEGER NOT NULL,
  PRIMARY KEY (device_id, alert_key)
) WITHOUT ROWID;
CREATE INDEX alerts_by_state ON alerts (state, device_id);

CREATE TABLE heartbeats (
  device_id                  TEXT    NOT NULL PRIMARY KEY REFERENCES devices (device_id),
  received_unix_ns           INTEGER NOT NULL,
  interval_ms                INTEGER NOT NULL,
  services_json              TEXT    NOT NULL,
  backlog_events             INTEGER NOT NULL,
  buffer_bytes               INTEGER NOT NULL,
  buffer_limit_bytes         INTEGER NOT NULL,
  oldest_undelivered_age_ms  INTEGER NOT NULL,
  dropped_events_total       INTEGER NOT NULL,
  agent_last_seq             INTEGER NOT NULL,
  buffer_degraded            INTEGER NOT NULL CHECK (buffer_degraded IN (0, 1)),
  agent_wall_time_unix_ns    INTEGER NOT NULL,
  agent_monotonic_ns         INTEGER NOT NULL,
  uptime_s                   INTEGER NOT NULL
);

CREATE TABLE device_services (
  device_id        TEXT    NOT NULL REFERENCES devices (device_id),
  service          TEXT    NOT NULL,
  state            TEXT    NOT NULL,
  reason           TEXT    NOT NULL,
  since_unix_ns    INTEGER NOT NULL,
  updated_unix_ns  INTEGER NOT NULL,
  PRIMARY KEY (device_id, service)
) WITHOUT ROWID;
CREATE INDEX device_services_by_service ON device_services (service, state);
)sql";

Status CreateVersion1(platform::SqliteDatabase& database) {
  return database.Execute(kVersion1, "create schema version 1");
}

// Version 2: incidents, kept by the fleet monitor (collector/fleet/): one
// row per incident, its devices, customer services and tolerance alerts as
// JSON arrays.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE incidents (
  incident_id            INTEGER NOT NULL PRIMARY KEY,
  scope                  TEXT    NOT NULL CHECK (scope IN ('device', 'site', 'fleet')),
  site_id                TEXT    NOT NULL,
  started_unix_ns        INTEGER NOT NULL,
  ended_unix_ns          INTEGER,
  categories             TEXT    NOT NULL,
  device_count           INTEGER NOT NULL,
  devices_json           TEXT    NOT NULL,
  services_json          TEXT    NOT NULL,
  tolerance_alerts_json  TEXT    NOT NULL,
  alert_keys_json        TEXT    NOT NULL,
  updated_unix_ns        INTEGER NOT NULL
);
CREATE INDEX incidents_by_start ON incidents (started_unix_ns);
CREATE INDEX incidents_open ON incidents (ended_unix_ns);
)sql";

Status CreateVersion2(platform::SqliteDatabase& database) {
  return database.Execute(kVersion2, "create schema version 2 (incidents)");
}

// Version 3: events are kept per buffer of a device (Hello.buffer_id): a
// buffer table with each buffer's highest stored sequence and missing
// sequences, buffer_id in the events' unique key and in alerts, and the
// agent's set-aside count in heartbeats. What version 1 stored belongs to the
// buffer "" (agents from before buffer ids). SQLite cannot change a primary
// key in place, so events is rebuilt.
constexpr const char* kVersion3 = R"sql(
CREATE TABLE buffers (
  device_id           TEXT    NOT NULL REFERENCES devices (device_id),
  buffer_id           TEXT    NOT NULL,
  first_seen_unix_ns  INTEGER NOT NULL,
  last_hello_unix_ns  INTEGER NOT NULL,
  peer                TEXT    NOT NULL,
  agent_last_seq      INTEGER NOT NULL,
  last_seq            INTEGER NOT NULL DEFAULT 0,
  gap_events          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device_id, buffer_id)
) WITHOUT ROWID;
INSERT INTO buffers (device_id, buffer_id, first_seen_unix_ns, last_hello_unix_ns, peer,
                     agent_last_seq, last_seq)
SELECT device_id, '', first_seen_unix_ns, last_hello_unix_ns, peer, agent_last_seq, last_seq
FROM devices;

ALTER TABLE devices ADD COLUMN buffer_id TEXT NOT NULL DEFAULT '';

CREATE TABLE events_v3 (
  device_id           TEXT    NOT NULL REFERENCES devices (device_id),
  seq                 INTEGER NOT NULL CHECK (seq >= 1),
  received_unix_ns    INTEGER NOT NULL,
  wall_time_unix_ns   INTEGER NOT NULL,
  monotonic_ns        INTEGER NOT NULL,
  boot_id             TEXT    NOT NULL,
  severity            TEXT    NOT NULL,
  kind                TEXT    NOT NULL,
  state               TEXT    NOT NULL,
  subject             TEXT    NOT NULL,
  alert_key           TEXT    NOT NULL,
  value               REAL,
  threshold           REAL,
  unit                TEXT    NOT NULL,
  category            TEXT    NOT NULL,
  impact_unavailable  TEXT    NOT NULL,
  impact_degraded     TEXT    NOT NULL,
  summary             TEXT    NOT NULL,
  context_json        TEXT    NOT NULL,
  payload             BLOB    NOT NULL,
  buffer_id           TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (device_id, buffer_id, seq)
);
INSERT INTO events_v3 (device_id, seq, received_unix_ns, wall_time_unix_ns, monotonic_ns, boot_id,
                       severity, kind, state, subject, alert_key, value, threshold, unit,
                       category, impact_unavailable, impact_degraded, summary, context_json,
                       payload, buffer_id)
SELECT device_id, seq, received_unix_ns, wall_time_unix_ns, monotonic_ns, boot_id, severity, kind,
       state, subject, alert_key, value, threshold, unit, category, impact_unavailable,
       impact_degraded, summary, context_json, payload, ''
FROM events;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE INDEX events_by_alert_key ON events (alert_key, device_id, seq);
CREATE INDEX events_by_received ON events (received_unix_ns);

ALTER TABLE alerts ADD COLUMN buffer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE heartbeats ADD COLUMN set_aside_events_total INTEGER NOT NULL DEFAULT 0;
)sql";

Status MigrateToVersion3(platform::SqliteDatabase& database) {
  return database.Execute(kVersion3, "migrate schema to version 3 (buffers)");
}

// Version 4: the transaction feed of each device's latest heartbeat, as JSON
// (AgentHealth.feed): lines and refused lines by reason, the last minute's
// tps, error ratio and p99, and the same per transaction type. Empty when
// the agent has no feed.
constexpr const char* kVersion4 = R"sql(
ALTER TABLE heartbeats ADD COLUMN feed_json TEXT NOT NULL DEFAULT '';
)sql";

Status MigrateToVersion4(platform::SqliteDatabase& database) {
  return database.Execute(kVersion4, "migrate schema to version 4 (heartbeat feed)");
}

// Version 5: the heartbeat history, one row per device at most every
// [store] heartbeat_history (the latest heartbeat stays in `heartbeats`):
// a fleet's load and backlog over time without a row per heartbeat.
constexpr const char* kVersion5 = R"sql(
CREATE TABLE heartbeat_history (
  device_id                  TEXT    NOT NULL REFERENCES devices (device_id),
  received_unix_ns           INTEGER NOT NULL,
  services_json              TEXT    NOT NULL,
  backlog_events             INTEGER NOT NULL,
  buffer_bytes               INTEGER NOT NULL,
  oldest_undelivered_age_ms  INTEGER NOT NULL,
  dropped_events_total       INTEGER NOT NULL,
  buffer_degraded            INTEGER NOT NULL CHECK (buffer_degraded IN (0, 1)),
  feed_json                  TEXT    NOT NULL,
  PRIMARY KEY (device_id, received_unix_ns)
) WITHOUT ROWID;
CREATE INDEX heartbeat_history_by_time ON heartbeat_history (received_unix_ns);
)sql";

Status MigrateToVersion5(platform::SqliteDatabase& database) {
  return database.Execute(kVersion5, "migrate schema to version 5 (heartbeat history)");
}

using MigrationStep = Status (*)(platform::SqliteDatabase&);

// kSteps[n] takes a database from version n to n + 1. Append new steps; never
// change a released one: it has already run on databases in the field.
constexpr MigrationStep kSteps[] = {&CreateVersion1, &CreateVersion2, &MigrateToVersion3,
                                    &MigrateToVersion4, &MigrateToVersion5};
static_assert(std::size(kSteps) == kCollectorSchemaVersion);

}  // namespace

Status MigrateCollectorSchema(platform::SqliteDatabase& database, int target_version) {
  while (true) {
    // The version is read inside the write transaction, so that two processes
    // opening the same new file cannot both run a step.
    Result<platform::SqliteTransaction> transaction =
        platform::SqliteTransaction::Begin(database, "migrate schema");
    if (!transaction.ok()) return transaction.error();
    Result<std::int64_t> version = database.QueryInt64("PRAGMA user_version", "read user_version");
    if (!version.ok()) return version.error();
    if (*version >= target_version && *version <= kCollectorSchemaVersion) return OkStatus();
    if (*version < 0 || *version > kCollectorSchemaVersion) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: schema version {} (PRAGMA user_version) is not one this "
                               "collector knows (0..{}): refusing to use it",
                               database.path(), *version, kCollectorSchemaVersion));
    }
    const auto from = static_cast<int>(*version);
    Status stepped = kSteps[from](database);
    if (!stepped.ok()) return stepped;
    Status versioned =
        database.Execute(fmt::format("PRAGMA user_version = {}", from + 1), "write user_version");
    if (!versioned.ok()) return versioned;
    Status committed = transaction->Commit();
    if (!committed.ok()) return committed;
    spdlog::info("{}: collector schema migrated from version {} to {}", database.path(), from,
                 from + 1);
  }
}

}  // namespace atmhealth::collector
