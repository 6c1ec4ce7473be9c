#include "collector/store/pg_schema.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iterator>

namespace atmhealth::collector {
namespace {

// Any number that no other program on the database uses for an advisory
// lock: "ATMH" in ASCII.
constexpr std::int64_t kMigrationLock = 0x41544d48;

// Version 1: everything SQLite schema version 5 holds, in PostgreSQL types:
// integers are BIGINT (nanoseconds, sequences), the payload BYTEA, value and
// threshold DOUBLE PRECISION; JSON columns stay TEXT (read them with
// ::jsonb), so that what the agent sent is stored as sent.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE devices (
  device_id           TEXT    NOT NULL PRIMARY KEY,
  site_id             TEXT    NOT NULL,
  kind                TEXT    NOT NULL,
  agent_version       TEXT    NOT NULL,
  protocol_version    BIGINT  NOT NULL,
  peer                TEXT    NOT NULL,
  agent_last_seq      BIGINT  NOT NULL,
  first_seen_unix_ns  BIGINT  NOT NULL,
  last_seen_unix_ns   BIGINT  NOT NULL,
  last_hello_unix_ns  BIGINT  NOT NULL,
  last_seq            BIGINT  NOT NULL DEFAULT 0,
  buffer_id           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX devices_by_site ON devices (site_id);

CREATE TABLE buffers (
  device_id           TEXT    NOT NULL REFERENCES devices (device_id),
  buffer_id           TEXT    NOT NULL,
  first_seen_unix_ns  BIGINT  NOT NULL,
  last_hello_unix_ns  BIGINT  NOT NULL,
  peer                TEXT    NOT NULL,
  agent_last_seq      BIGINT  NOT NULL,
  last_seq            BIGINT  NOT NULL DEFAULT 0,
  gap_events          BIGINT  NOT NULL DEFAULT 0,
  PRIMARY KEY (device_id, buffer_id)
);

CREATE TABLE events (
  device_id           TEXT    NOT NULL REFERENCES devices (device_id),
  seq                 BIGINT  NOT NULL CHECK (seq >= 1),
  received_unix_ns    BIGINT  NOT NULL,
  wall_time_unix_ns   BIGINT  NOT NULL,
  monotonic_ns        BIGINT  NOT NULL,
  boot_id             TEXT    NOT NULL,
  severity            TEXT    NOT NULL,
  kind                TEXT    NOT NULL,
  state               TEXT    NOT NULL,
  subject             TEXT    NOT NULL,
  alert_key           TEXT    NOT NULL,
  value               DOUBLE PRECISION,
  threshold           DOUBLE PRECISION,
  unit                TEXT    NOT NULL,
  category            TEXT    NOT NULL,
  impact_unavailable  TEXT    NOT NULL,
  impact_degraded     TEXT    NOT NULL,
  summary             TEXT    NOT NULL,
  context_json        TEXT    NOT NULL,
  payload             BYTEA   NOT NULL,
  buffer_id           TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (device_id, buffer_id, seq)
);
CREATE INDEX events_by_alert_key ON events (alert_key, device_id, seq);
CREATE INDEX events_by_received ON events (received_unix_ns);

CREATE TABLE alerts (
  device_id                TEXT    NOT NULL REFERENCES devices (device_id),
  alert_key                TEXT    NOT NULL,
  state                    TEXT    NOT NULL CHECK (state IN ('firing', 'resolved')),
  severity                 TEXT    NOT NULL,
  since_seq                BIGINT  NOT NULL,
  since_wall_time_unix_ns  BIGINT  NOT NULL,
  last_seq                 BIGINT  NOT NULL,
  updated_unix_ns          BIGINT  NOT NULL,
  buffer_id                TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (device_id, alert_key)
);
CREATE INDEX alerts_by_state ON alerts (state, device_id);

CREATE TABLE heartbeats (
  device_id                  TEXT    NOT NULL PRIMARY KEY REFERENCES devices (device_id),
  received_unix_ns           BIGINT  NOT NULL,
  interval_ms                BIGINT  NOT NULL,
  services_json              TEXT    NOT NULL,
  backlog_events             BIGINT  NOT NULL,
  buffer_bytes               BIGINT  NOT NULL,
  buffer_limit_bytes         BIGINT  NOT NULL,
  oldest_undelivered_age_ms  BIGINT  NOT NULL,
  dropped_events_total       BIGINT  NOT NULL,
  agent_last_seq             BIGINT  NOT NULL,
  buffer_degraded            BIGINT  NOT NULL CHECK (buffer_degraded IN (0, 1)),
  agent_wall_time_unix_ns    BIGINT  NOT NULL,
  agent_monotonic_ns         BIGINT  NOT NULL,
  uptime_s                   BIGINT  NOT NULL,
  set_aside_events_total     BIGINT  NOT NULL DEFAULT 0,
  feed_json                  TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE heartbeat_history (
  device_id                  TEXT    NOT NULL REFERENCES devices (device_id),
  received_unix_ns           BIGINT  NOT NULL,
  services_json              TEXT    NOT NULL,
  backlog_events             BIGINT  NOT NULL,
  buffer_bytes               BIGINT  NOT NULL,
  oldest_undelivered_age_ms  BIGINT  NOT NULL,
  dropped_events_total       BIGINT  NOT NULL,
  buffer_degraded            BIGINT  NOT NULL CHECK (buffer_degraded IN (0, 1)),
  feed_json                  TEXT    NOT NULL,
  PRIMARY KEY (device_id, received_unix_ns)
);
CREATE INDEX heartbeat_history_by_time ON heartbeat_history (received_unix_ns);

CREATE TABLE device_services (
  device_id        TEXT    NOT NULL REFERENCES devices (device_id),
  service          TEXT    NOT NULL,
  state            TEXT    NOT NULL,
  reason           TEXT    NOT NULL,
  since_unix_ns    BIGINT  NOT NULL,
  updated_unix_ns  BIGINT  NOT NULL,
  PRIMARY KEY (device_id, service)
);
CREATE INDEX device_services_by_service ON device_services (service, state);

CREATE TABLE incidents (
  incident_id            BIGINT  NOT NULL PRIMARY KEY,
  scope                  TEXT    NOT NULL CHECK (scope IN ('device', 'site', 'fleet')),
  site_id                TEXT    NOT NULL,
  started_unix_ns        BIGINT  NOT NULL,
  ended_unix_ns          BIGINT,
  categories             TEXT    NOT NULL,
  device_count           BIGINT  NOT NULL,
  devices_json           TEXT    NOT NULL,
  services_json          TEXT    NOT NULL,
  tolerance_alerts_json  TEXT    NOT NULL,
  alert_keys_json        TEXT    NOT NULL,
  updated_unix_ns        BIGINT  NOT NULL
);
CREATE INDEX incidents_by_start ON incidents (started_unix_ns);
CREATE INDEX incidents_open ON incidents (ended_unix_ns);
)sql";

// kSteps[n] takes a database from version n to n + 1. Append new steps; never
// change a released one.
constexpr const char* kSteps[] = {kVersion1};
static_assert(std::size(kSteps) == kPgCollectorSchemaVersion);

}  // namespace

Status MigratePgCollectorSchema(PgConnection& connection) {
  while (true) {
    Result<int> from =
        connection.Run<int>("migrate schema", [](pqxx::connection& c) -> Result<int> {
          pqxx::work work(c, "migrate schema");
          // Held to the end of this transaction: one collector migrates, the
          // others wait and then find the new version.
          work.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
          work.exec0(
              "CREATE TABLE IF NOT EXISTS atmhealth_schema ("
              " singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),"
              " version INTEGER NOT NULL)");
          const pqxx::result row = work.exec("SELECT version FROM atmhealth_schema");
          const int version = row.empty() ? 0 : row[0][0].as<int>();
          if (version == kPgCollectorSchemaVersion) {
            work.commit();
            return version;
          }
          if (version < 0 || version > kPgCollectorSchemaVersion) {
            return Error(ErrorCode::kInvalidArgument,
                         fmt::format("schema version {} (table atmhealth_schema) is not one this "
                                     "collector knows (0..{}): refusing to use it",
                                     version, kPgCollectorSchemaVersion));
          }
          work.exec0(kSteps[version]);
          work.exec_params0(
              "INSERT INTO atmhealth_schema (version) VALUES ($1) "
              "ON CONFLICT (singleton) DO UPDATE SET version = excluded.version",
              version + 1);
          work.commit();
          return version;
        });
    if (!from) {
      if (from.error().code() == ErrorCode::kInvalidArgument) {
        return Error(ErrorCode::kInvalidArgument,
                     fmt::format("{}: {}", connection.where(), from.error().message()));
      }
      return from.error();
    }
    if (*from == kPgCollectorSchemaVersion) return OkStatus();
    spdlog::info("{}: collector schema migrated from version {} to {}", connection.where(), *from,
                 *from + 1);
  }
}

}  // namespace atmhealth::collector
