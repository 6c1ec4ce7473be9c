#include "collector/store/pg_collector_store.h"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "collector/store/pg_change_listener.h"
#include "collector/store/pg_schema.h"
#include "collector/store/store_rows.h"
#include "proto/names.h"

namespace atmhealth::collector {
namespace {

// PostgreSQL text cannot hold the byte 0; an agent's text that has one is
// stored with U+FFFD in its place (the payload keeps the exact bytes).
std::string Text(std::string_view text) {
  std::string stored;
  stored.reserve(text.size());
  for (const char c : text) {
    if (c == '\0') {
      stored += "\xEF\xBF\xBD";
    } else {
      stored += c;
    }
  }
  return stored;
}

struct Statement {
  const char* name;
  const char* sql;
};

// The statements of collector/store/sqlite_collector_store.cc in
// PostgreSQL's words; the comments there say why each is as it is.
constexpr Statement kStatements[] = {
    {"upsert_device", R"sql(
INSERT INTO devices (device_id, site_id, kind, agent_version, protocol_version, peer,
                     agent_last_seq, first_seen_unix_ns, last_seen_unix_ns, last_hello_unix_ns,
                     buffer_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, $9)
ON CONFLICT (device_id) DO UPDATE SET
  site_id = excluded.site_id,
  kind = excluded.kind,
  agent_version = excluded.agent_version,
  protocol_version = excluded.protocol_version,
  peer = excluded.peer,
  agent_last_seq = excluded.agent_last_seq,
  last_seen_unix_ns = excluded.last_seen_unix_ns,
  last_hello_unix_ns = excluded.last_hello_unix_ns,
  buffer_id = excluded.buffer_id
)sql"},
    {"upsert_buffer", R"sql(
INSERT INTO buffers (device_id, buffer_id, first_seen_unix_ns, last_hello_unix_ns, peer,
                     agent_last_seq)
VALUES ($1, $2, $3, $3, $4, $5)
ON CONFLICT (device_id, buffer_id) DO UPDATE SET
  last_hello_unix_ns = excluded.last_hello_unix_ns,
  peer = excluded.peer,
  agent_last_seq = excluded.agent_last_seq
RETURNING last_seq
)sql"},
    {"set_device_seq", "UPDATE devices SET last_seq = $2 WHERE device_id = $1"},
    // Locks the buffer's row to the end of the transaction: the batches of
    // one buffer are stored one after another, whichever collector stores
    // them.
    {"select_buffer_seq",
     "SELECT last_seq FROM buffers WHERE device_id = $1 AND buffer_id = $2 FOR UPDATE"},
    {"advance_buffer_seq", R"sql(
UPDATE buffers SET last_seq = GREATEST(last_seq, $3::bigint), gap_events = gap_events + $4::bigint
WHERE device_id = $1 AND buffer_id = $2
)sql"},
    {"touch_device_seq", R"sql(
UPDATE devices SET
  last_seen_unix_ns = $2,
  last_seq = CASE WHEN buffer_id = $3 THEN GREATEST(last_seq, $4::bigint) ELSE last_seq END
WHERE device_id = $1
)sql"},
    {"touch_device", "UPDATE devices SET last_seen_unix_ns = $2 WHERE device_id = $1"},
    {"insert_event", R"sql(
INSERT INTO events (device_id, seq, received_unix_ns, wall_time_unix_ns, monotonic_ns, boot_id,
                    severity, kind, state, subject, alert_key, value, threshold, unit, category,
                    impact_unavailable, impact_degraded, summary, context_json, payload,
                    buffer_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
        $21)
ON CONFLICT (device_id, buffer_id, seq) DO NOTHING
)sql"},
    {"upsert_alert", R"sql(
INSERT INTO alerts (device_id, alert_key, state, severity, since_seq, since_wall_time_unix_ns,
                    last_seq, updated_unix_ns, buffer_id)
VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $8)
ON CONFLICT (device_id, alert_key) DO UPDATE SET
  since_seq = CASE WHEN alerts.state = excluded.state THEN alerts.since_seq
                   ELSE excluded.since_seq END,
  since_wall_time_unix_ns = CASE WHEN alerts.state = excluded.state
                                 THEN alerts.since_wall_time_unix_ns
                                 ELSE excluded.since_wall_time_unix_ns END,
  state = excluded.state,
  severity = excluded.severity,
  last_seq = excluded.last_seq,
  updated_unix_ns = excluded.updated_unix_ns,
  buffer_id = excluded.buffer_id
WHERE excluded.buffer_id <> alerts.buffer_id OR excluded.last_seq > alerts.last_seq
)sql"},
    {"replace_heartbeat", R"sql(
INSERT INTO heartbeats (
  device_id, received_unix_ns, interval_ms, services_json, backlog_events, buffer_bytes,
  buffer_limit_bytes, oldest_undelivered_age_ms, dropped_events_total, agent_last_seq,
  buffer_degraded, agent_wall_time_unix_ns, agent_monotonic_ns, uptime_s, set_aside_events_total,
  feed_json)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (device_id) DO UPDATE SET
  received_unix_ns = excluded.received_unix_ns,
  interval_ms = excluded.interval_ms,
  services_json = excluded.services_json,
  backlog_events = excluded.backlog_events,
  buffer_bytes = excluded.buffer_bytes,
  buffer_limit_bytes = excluded.buffer_limit_bytes,
  oldest_undelivered_age_ms = excluded.oldest_undelivered_age_ms,
  dropped_events_total = excluded.dropped_events_total,
  agent_last_seq = excluded.agent_last_seq,
  buffer_degraded = excluded.buffer_degraded,
  agent_wall_time_unix_ns = excluded.agent_wall_time_unix_ns,
  agent_monotonic_ns = excluded.agent_monotonic_ns,
  uptime_s = excluded.uptime_s,
  set_aside_events_total = excluded.set_aside_events_total,
  feed_json = excluded.feed_json
)sql"},
    {"keep_heartbeat_history", R"sql(
INSERT INTO heartbeat_history (
  device_id, received_unix_ns, services_json, backlog_events, buffer_bytes,
  oldest_undelivered_age_ms, dropped_events_total, buffer_degraded, feed_json)
SELECT device_id, received_unix_ns, services_json, backlog_events, buffer_bytes,
       oldest_undelivered_age_ms, dropped_events_total, buffer_degraded, feed_json
FROM heartbeats
WHERE device_id = $1
  AND NOT EXISTS (SELECT 1 FROM heartbeat_history
                  WHERE device_id = $1 AND received_unix_ns > $2::bigint - $3::bigint)
ON CONFLICT DO NOTHING
)sql"},
    {"upsert_service", R"sql(
INSERT INTO device_services (device_id, service, state, reason, since_unix_ns, updated_unix_ns)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (device_id, service) DO UPDATE SET
  since_unix_ns = CASE WHEN device_services.state = excluded.state
                       THEN device_services.since_unix_ns ELSE excluded.since_unix_ns END,
  state = excluded.state,
  reason = excluded.reason,
  updated_unix_ns = excluded.updated_unix_ns
)sql"},
    {"delete_unreported_services", R"sql(
DELETE FROM device_services
WHERE device_id = $1 AND service NOT IN (SELECT json_array_elements_text($2::json))
)sql"},
};

void PrepareStatements(pqxx::connection& connection) {
  for (const Statement& statement : kStatements) connection.prepare(statement.name, statement.sql);
}

}  // namespace

PgCollectorStore::PgCollectorStore(const PgCollectorStoreOptions& options)
    : connection_(options.connection, &PrepareStatements),
      heartbeat_history_ns_(
          std::chrono::duration_cast<std::chrono::nanoseconds>(options.heartbeat_history).count()) {
}

PgCollectorStore::~PgCollectorStore() {
  // The group's transaction goes before its connection.
  group_.reset();
}

Result<std::unique_ptr<CollectorStore>> PgCollectorStore::Open(
    const PgCollectorStoreOptions& options) {
  std::unique_ptr<PgCollectorStore> store(new PgCollectorStore(options));
  if (Status migrated = MigratePgCollectorSchema(store->connection_); !migrated) {
    return migrated.error();
  }
  // Connect (and prepare) now, so that a database the collector cannot use
  // stops it at start rather than at its first agent.
  if (Result<pqxx::connection*> connected = store->connection_.Get(); !connected) {
    return connected.error();
  }
  return std::unique_ptr<CollectorStore>(std::move(store));
}

template <typename T, typename Body>
Result<T> PgCollectorStore::InUnit(std::string_view what, Body body) {
  if (group_lost_) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("{}: {}: the connection broke during this group commit; nothing of "
                             "the group is stored",
                             connection_.where(), what));
  }
  if (group_ != nullptr) {
    try {
      pqxx::subtransaction unit(*group_, fmt::format("call_{}", ++savepoints_));
      Result<T> result = body(unit);
      if (result.ok()) {
        unit.commit();
      } else {
        unit.abort();
      }
      return result;
    } catch (const std::exception& error) {
      Error failed = connection_.Failed(error, what);
      if (connection_.broken()) {
        group_.reset();
        group_lost_ = true;
        connection_.Drop();
      }
      return failed;
    }
  }
  return connection_.Run<T>(what, [&](pqxx::connection& connection) -> Result<T> {
    pqxx::work unit(connection);
    Result<T> result = body(unit);
    if (result.ok()) {
      unit.commit();
    } else {
      unit.abort();
    }
    return result;
  });
}

Status PgCollectorStore::BeginGroup() {
  group_.reset();
  group_lost_ = false;
  savepoints_ = 0;
  Result<bool> begun = connection_.Run<bool>("begin group commit", [&](pqxx::connection& c) {
    group_ = std::make_unique<pqxx::work>(c, "group commit");
    return Result<bool>(true);
  });
  if (!begun) return begun.error();
  return OkStatus();
}

Status PgCollectorStore::CommitGroup() {
  if (group_lost_) {
    group_lost_ = false;
    return Error(ErrorCode::kUnavailable,
                 fmt::format("{}: group commit: the connection broke during the group; nothing of "
                             "it is stored",
                             connection_.where()));
  }
  if (group_ == nullptr) return OkStatus();
  std::unique_ptr<pqxx::work> group = std::move(group_);
  try {
    group->commit();
    return OkStatus();
  } catch (const std::exception& error) {
    Error failed = connection_.Failed(error, "group commit");
    group.reset();
    if (connection_.broken()) connection_.Drop();
    return failed;
  }
}

Result<std::uint64_t> PgCollectorStore::RecordHello(const v1::Hello& hello, std::string_view peer,
                                                    std::int64_t now_unix_ns) {
  if (Status valid = CheckHelloDevice(hello, peer, connection_.where()); !valid) {
    return valid.error();
  }
  const v1::DeviceIdentity& device = hello.device();
  const std::string what = fmt::format("Hello of {}", Quoted(device.device_id()));
  return InUnit<std::uint64_t>(what, [&](pqxx::transaction_base& unit) -> Result<std::uint64_t> {
    unit.exec_prepared0("upsert_device", device.device_id(), Text(device.site_id()),
                        wire::ShortName(device.kind()), Text(hello.agent_version()),
                        static_cast<std::int64_t>(hello.protocol_version()), Text(peer),
                        Saturated(hello.agent_last_seq()), now_unix_ns, Text(hello.buffer_id()));
    const pqxx::row buffer =
        unit.exec_prepared1("upsert_buffer", device.device_id(), Text(hello.buffer_id()),
                            now_unix_ns, Text(peer), Saturated(hello.agent_last_seq()));
    const auto last_seq = buffer[0].as<std::int64_t>();
    unit.exec_prepared0("set_device_seq", device.device_id(), last_seq);
    return static_cast<std::uint64_t>(last_seq);
  });
}

Result<StoredBatch> PgCollectorStore::StoreEvents(std::string_view device_id,
                                                  std::string_view buffer_id,
                                                  const std::vector<v1::Event>& events,
                                                  std::int64_t now_unix_ns) {
  const std::string what =
      fmt::format("store batch of {} buffer {}", Quoted(device_id), Quoted(buffer_id));
  if (Status valid = CheckBatchSequences(events, connection_.where(), what); !valid) {
    return valid.error();
  }
  const std::string device(device_id);
  const std::string buffer = Text(buffer_id);
  return InUnit<StoredBatch>(what, [&](pqxx::transaction_base& unit) -> Result<StoredBatch> {
    const pqxx::result before = unit.exec_prepared("select_buffer_seq", device, buffer);
    if (before.empty()) {
      return Error(ErrorCode::kNotFound,
                   fmt::format("{}: {}: no such device or buffer (it has not said Hello); "
                               "nothing stored",
                               connection_.where(), what));
    }
    StoredBatch stored;
    stored.last_stored_seq = before[0][0].as<std::uint64_t>();
    bool alert_moved = false;
    for (const v1::Event& event : events) {
      Result<bool> inserted = InsertEvent(unit, device, buffer, event, now_unix_ns, alert_moved);
      if (!inserted.ok()) return inserted.error();
      stored.Count(event.seq(), *inserted);
    }
    // Delivered to every listening collector when (and only if) this
    // commits; one per transaction however many alerts moved.
    if (alert_moved) unit.exec0(std::string("NOTIFY ") + kPgFleetChannel);
    unit.exec_prepared0("advance_buffer_seq", device, buffer,
                        static_cast<std::int64_t>(stored.last_stored_seq),
                        Saturated(stored.gap_events));
    unit.exec_prepared0("touch_device_seq", device, now_unix_ns, buffer,
                        static_cast<std::int64_t>(stored.last_stored_seq));
    return stored;
  });
}

Result<bool> PgCollectorStore::InsertEvent(pqxx::transaction_base& unit, std::string_view device_id,
                                           std::string_view buffer_id, const v1::Event& event,
                                           std::int64_t now_unix_ns, bool& alert_moved) {
  const auto seq = static_cast<std::int64_t>(event.seq());
  Result<EventColumns> columns = ColumnsOf(event, connection_.where(), device_id);
  if (!columns.ok()) return columns.error();
  const std::string device(device_id);
  const std::string buffer(buffer_id);
  const pqxx::result inserted = unit.exec_prepared(
      "insert_event", device, seq, now_unix_ns, event.wall_time_unix_ns(), event.monotonic_ns(),
      Text(event.boot_id()), columns->severity, columns->kind, columns->state,
      Text(event.subject()), Text(event.alert_key()), event.value(), event.threshold(),
      columns->unit, columns->category, columns->impact_unavailable, columns->impact_degraded,
      Text(event.summary()), Text(columns->context_json),
      pqxx::binarystring(columns->payload.data(), columns->payload.size()), buffer);
  // Stored by an earlier batch: exactly once, so nothing else changes either.
  if (inserted.affected_rows() == 0) return false;
  if (!columns->moves_alert) return true;
  unit.exec_prepared0("upsert_alert", device, Text(event.alert_key()), columns->state,
                      columns->severity, seq, event.wall_time_unix_ns(), now_unix_ns, buffer);
  alert_moved = true;
  return true;
}

Status PgCollectorStore::RecordHeartbeat(std::string_view device_id, const v1::Heartbeat& heartbeat,
                                         std::int64_t now_unix_ns) {
  const std::string what = fmt::format("heartbeat of {}", Quoted(device_id));
  Result<HeartbeatColumns> columns = ColumnsOf(heartbeat, connection_.where(), what);
  if (!columns.ok()) return columns.error();
  const std::string device(device_id);
  Result<bool> recorded = InUnit<bool>(what, [&](pqxx::transaction_base& unit) -> Result<bool> {
    if (unit.exec_prepared("touch_device", device, now_unix_ns).affected_rows() == 0) {
      return Error(ErrorCode::kNotFound,
                   fmt::format("{}: {}: no such device (it has not said Hello); nothing recorded",
                               connection_.where(), what));
    }
    const v1::AgentHealth& health = heartbeat.health();
    unit.exec_prepared0("replace_heartbeat", device, now_unix_ns,
                        static_cast<std::int64_t>(heartbeat.interval_ms()),
                        Text(columns->services_json), Saturated(health.backlog_events()),
                        Saturated(health.buffer_bytes()), Saturated(health.buffer_limit_bytes()),
                        static_cast<std::int64_t>(health.oldest_undelivered_age_ms()),
                        Saturated(health.dropped_events_total()), Saturated(health.last_seq()),
                        std::int64_t{health.buffer_degraded() ? 1 : 0}, health.wall_time_unix_ns(),
                        health.monotonic_ns(), static_cast<std::int64_t>(health.uptime_s()),
                        Saturated(health.set_aside_events_total()), Text(columns->feed_json));
    if (heartbeat_history_ns_ > 0) {
      unit.exec_prepared0("keep_heartbeat_history", device, now_unix_ns, heartbeat_history_ns_);
    }
    for (const v1::ServiceStatus& status : heartbeat.services()) {
      unit.exec_prepared0("upsert_service", device, wire::ShortName(status.service()),
                          wire::ShortName(status.state()), Text(status.reason()), now_unix_ns);
    }
    unit.exec_prepared0("delete_unreported_services", device,
                        Text(columns->reported_services_json));
    return true;
  });
  if (!recorded) return recorded.error();
  return OkStatus();
}

}  // namespace atmhealth::collector
