#include "collector/store/sqlite_collector_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "collector/store/collector_schema.h"
#include "proto/names.h"

namespace atmhealth::collector {
namespace {

// SQLite integers are signed 64-bit.
constexpr std::uint64_t kMaxSqliteInteger = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMaxQuotedLength = 64;

// An agent's counter as a SQLite integer. Counters are never near 2^63; one
// that is gets stored as the largest integer rather than as a negative one.
std::int64_t Saturated(std::uint64_t value) {
  return static_cast<std::int64_t>(std::min(value, kMaxSqliteInteger));
}

// The device id rule of device.proto: 1..64 characters of [A-Za-z0-9._-].
bool IsValidDeviceId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// Text from the network, made safe for one log line: quoted, at most 64
// bytes, control characters, quotes and backslashes escaped.
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

// Steps a statement that returns at most one row of one integer (a RETURNING
// clause), through to its end. nullopt when it returned no row.
Result<std::optional<std::int64_t>> SingleInteger(platform::SqliteQuery& query,
                                                  std::string_view what) {
  Result<bool> row = query.Step(what);
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<std::int64_t>();
  const std::int64_t value = query.ColumnInt64(0);
  Status rest = query.Run(what);
  if (!rest.ok()) return rest.error();
  return std::optional<std::int64_t>(value);
}

constexpr const char* kUpsertDevice = R"sql(
INSERT INTO devices (device_id, site_id, kind, agent_version, protocol_version, peer,
                     agent_last_seq, first_seen_unix_ns, last_seen_unix_ns, last_hello_unix_ns,
                     buffer_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8, ?9)
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
)sql";

constexpr const char* kUpsertBuffer = R"sql(
INSERT INTO buffers (device_id, buffer_id, first_seen_unix_ns, last_hello_unix_ns, peer,
                     agent_last_seq)
VALUES (?1, ?2, ?3, ?3, ?4, ?5)
ON CONFLICT (device_id, buffer_id) DO UPDATE SET
  last_hello_unix_ns = excluded.last_hello_unix_ns,
  peer = excluded.peer,
  agent_last_seq = excluded.agent_last_seq
RETURNING last_seq
)sql";

// devices.last_seq follows the device's current buffer.
constexpr const char* kSetDeviceSeq = R"sql(
UPDATE devices SET last_seq = ?2 WHERE device_id = ?1
)sql";

constexpr const char* kSelectBufferSeq = R"sql(
SELECT last_seq FROM buffers WHERE device_id = ?1 AND buffer_id = ?2
)sql";

constexpr const char* kAdvanceBufferSeq = R"sql(
UPDATE buffers SET last_seq = max(last_seq, ?3), gap_events = gap_events + ?4
WHERE device_id = ?1 AND buffer_id = ?2
)sql";

constexpr const char* kTouchDeviceSeq = R"sql(
UPDATE devices SET
  last_seen_unix_ns = ?2,
  last_seq = CASE WHEN buffer_id = ?3 THEN max(last_seq, ?4) ELSE last_seq END
WHERE device_id = ?1
)sql";

constexpr const char* kTouchDevice = R"sql(
UPDATE devices SET last_seen_unix_ns = ?2 WHERE device_id = ?1
)sql";

// ON CONFLICT ... DO NOTHING rather than INSERT OR IGNORE: only a repeated
// (device_id, buffer_id, seq) is skipped; any other constraint failure is an
// error, never a silently dropped event.
constexpr const char* kInsertEvent = R"sql(
INSERT INTO events (device_id, seq, received_unix_ns, wall_time_unix_ns, monotonic_ns, boot_id,
                    severity, kind, state, subject, alert_key, value, threshold, unit, category,
                    impact_unavailable, impact_degraded, summary, context_json, payload,
                    buffer_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
        ?21)
ON CONFLICT (device_id, buffer_id, seq) DO NOTHING
)sql";

// In a DO UPDATE, a bare column is the stored row's value and excluded.x the
// new one. The WHERE keeps an older event (lower seq) of the same buffer from
// winning; an event of another buffer (the device's buffer was recreated, and
// its sequence starts over) is newer than anything of the old one.
constexpr const char* kUpsertAlert = R"sql(
INSERT INTO alerts (device_id, alert_key, state, severity, since_seq, since_wall_time_unix_ns,
                    last_seq, updated_unix_ns, buffer_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?7, ?8)
ON CONFLICT (device_id, alert_key) DO UPDATE SET
  since_seq = CASE WHEN state = excluded.state THEN since_seq ELSE excluded.since_seq END,
  since_wall_time_unix_ns = CASE WHEN state = excluded.state THEN since_wall_time_unix_ns
                                 ELSE excluded.since_wall_time_unix_ns END,
  state = excluded.state,
  severity = excluded.severity,
  last_seq = excluded.last_seq,
  updated_unix_ns = excluded.updated_unix_ns,
  buffer_id = excluded.buffer_id
WHERE excluded.buffer_id <> alerts.buffer_id OR excluded.last_seq > alerts.last_seq
)sql";

constexpr const char* kReplaceHeartbeat = R"sql(
INSERT OR REPLACE INTO heartbeats (
  device_id, received_unix_ns, interval_ms, services_json, backlog_events, buffer_bytes,
  buffer_limit_bytes, oldest_undelivered_age_ms, dropped_events_total, agent_last_seq,
  buffer_degraded, agent_wall_time_unix_ns, agent_monotonic_ns, uptime_s, set_aside_events_total,
  feed_json)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
)sql";

// A row of history when the device has none within the resolution (?2 the
// time now, ?3 the resolution), copied from the heartbeat just recorded.
constexpr const char* kKeepHeartbeatHistory = R"sql(
INSERT INTO heartbeat_history (
  device_id, received_unix_ns, services_json, backlog_events, buffer_bytes,
  oldest_undelivered_age_ms, dropped_events_total, buffer_degraded, feed_json)
SELECT device_id, received_unix_ns, services_json, backlog_events, buffer_bytes,
       oldest_undelivered_age_ms, dropped_events_total, buffer_degraded, feed_json
FROM heartbeats
WHERE device_id = ?1
  AND NOT EXISTS (SELECT 1 FROM heartbeat_history
                  WHERE device_id = ?1 AND received_unix_ns > ?2 - ?3)
ON CONFLICT DO NOTHING
)sql";

constexpr const char* kUpsertService = R"sql(
INSERT INTO device_services (device_id, service, state, reason, since_unix_ns, updated_unix_ns)
VALUES (?1, ?2, ?3, ?4, ?5, ?5)
ON CONFLICT (device_id, service) DO UPDATE SET
  since_unix_ns = CASE WHEN state = excluded.state THEN since_unix_ns
                       ELSE excluded.since_unix_ns END,
  state = excluded.state,
  reason = excluded.reason,
  updated_unix_ns = excluded.updated_unix_ns
)sql";

// A heartbeat lists every service the device offers; one it no longer lists
// is no longer offered. ?2 is a JSON array of the listed short names.
constexpr const char* kDeleteUnreportedServices = R"sql(
DELETE FROM device_services
WHERE device_id = ?1 AND service NOT IN (SELECT value FROM json_each(?2))
)sql";

}  // namespace

Result<std::unique_ptr<CollectorStore>> CollectorStore::OpenSqlite(
    const std::string& path, std::chrono::milliseconds heartbeat_history) {
  SqliteCollectorStoreOptions options;
  options.heartbeat_history = heartbeat_history;
  Result<std::unique_ptr<SqliteCollectorStore>> store = SqliteCollectorStore::Open(path, options);
  if (!store.ok()) return store.error();
  return std::unique_ptr<CollectorStore>(std::move(store).value());
}

Result<std::unique_ptr<SqliteCollectorStore>> SqliteCollectorStore::Open(
    const std::string& path, const SqliteCollectorStoreOptions& options) {
  Result<platform::SqliteDatabase> database =
      platform::SqliteDatabase::Open(path, options.busy_timeout);
  if (!database.ok()) return database.error();
  std::unique_ptr<SqliteCollectorStore> store(
      new SqliteCollectorStore(std::move(database).value()));
  store->heartbeat_history_ns_ =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options.heartbeat_history).count();
  platform::SqliteDatabase& db = store->database_;

  // WAL is a property of the file and is set outside any transaction; an
  // acknowledged event must survive power loss, hence synchronous=FULL.
  Result<std::string> mode = db.QueryText("PRAGMA journal_mode = WAL", "set journal_mode");
  if (!mode.ok()) return mode.error();
  if (*mode != "wal") {
    return Error(ErrorCode::kIo,
                 fmt::format("{}: set journal_mode: got \"{}\" instead of \"wal\" (a filesystem "
                             "without shared memory support?)",
                             path, *mode));
  }
  Status pragmas = db.Execute(fmt::format("PRAGMA synchronous = FULL;"
                                          "PRAGMA foreign_keys = ON;"
                                          "PRAGMA journal_size_limit = {};",
                                          options.wal_size_limit_bytes),
                              "set pragmas");
  if (!pragmas.ok()) return pragmas.error();

  Status migrated = MigrateCollectorSchema(db);
  if (!migrated.ok()) return migrated.error();
  // A migration writes the whole schema (and may rebuild a table) into the
  // WAL; give that room back to the disk before the first batch needs it.
  Status checkpointed = db.Execute("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint after open");
  if (!checkpointed.ok()) return checkpointed.error();
  Status prepared = store->PrepareStatements();
  if (!prepared.ok()) return prepared.error();
  return store;
}

Status SqliteCollectorStore::PrepareStatements() {
  struct Named {
    platform::SqliteStatement* statement;
    const char* sql;
    const char* what;
  };
  for (const Named& named : {
           Named{&upsert_device_, kUpsertDevice, "prepare device upsert"},
           Named{&upsert_buffer_, kUpsertBuffer, "prepare buffer upsert"},
           Named{&set_device_seq_, kSetDeviceSeq, "prepare device seq update"},
           Named{&select_buffer_seq_, kSelectBufferSeq, "prepare buffer seq select"},
           Named{&advance_buffer_seq_, kAdvanceBufferSeq, "prepare buffer seq update"},
           Named{&touch_device_seq_, kTouchDeviceSeq, "prepare device touch"},
           Named{&touch_device_, kTouchDevice, "prepare device last-seen update"},
           Named{&insert_event_, kInsertEvent, "prepare event insert"},
           Named{&upsert_alert_, kUpsertAlert, "prepare alert upsert"},
           Named{&replace_heartbeat_, kReplaceHeartbeat, "prepare heartbeat replace"},
           Named{&keep_heartbeat_history_, kKeepHeartbeatHistory, "prepare heartbeat history"},
           Named{&upsert_service_, kUpsertService, "prepare service upsert"},
           Named{&delete_unreported_services_, kDeleteUnreportedServices, "prepare service delete"},
       }) {
    Result<platform::SqliteStatement> statement = database_.Prepare(named.sql, named.what);
    if (!statement.ok()) return statement.error();
    *named.statement = std::move(statement).value();
  }
  return OkStatus();
}

Status SqliteCollectorStore::BeginGroup() { return database_.BeginGroup("group commit"); }

Status SqliteCollectorStore::CommitGroup() { return database_.CommitGroup(); }

Result<std::uint64_t> SqliteCollectorStore::RecordHello(const v1::Hello& hello,
                                                        std::string_view peer,
                                                        std::int64_t now_unix_ns) {
  const v1::DeviceIdentity& device = hello.device();
  if (!IsValidDeviceId(device.device_id())) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: Hello from {}: device.device_id {} is not 1..64 characters of "
                             "[A-Za-z0-9._-]",
                             database_.path(), Quoted(peer), Quoted(device.device_id())));
  }
  const std::string what = fmt::format("Hello of {}", Quoted(device.device_id()));
  Result<platform::SqliteTransaction> transaction =
      platform::SqliteTransaction::Begin(database_, what);
  if (!transaction.ok()) return transaction.error();

  {
    platform::SqliteQuery query(database_, upsert_device_);
    query.BindText(1, device.device_id())
        .BindText(2, device.site_id())
        .BindText(3, wire::ShortName(device.kind()))
        .BindText(4, hello.agent_version())
        .BindInt64(5, hello.protocol_version())
        .BindText(6, peer)
        .BindInt64(7, Saturated(hello.agent_last_seq()))
        .BindInt64(8, now_unix_ns)
        .BindText(9, hello.buffer_id());
    if (Status upserted = query.Run(what); !upserted.ok()) return upserted.error();
  }
  Result<std::optional<std::int64_t>> last_seq = [&] {
    platform::SqliteQuery query(database_, upsert_buffer_);
    query.BindText(1, device.device_id())
        .BindText(2, hello.buffer_id())
        .BindInt64(3, now_unix_ns)
        .BindText(4, peer)
        .BindInt64(5, Saturated(hello.agent_last_seq()));
    return SingleInteger(query, what);
  }();
  if (!last_seq.ok()) return last_seq.error();
  if (!last_seq->has_value()) {
    return Error(ErrorCode::kInternal,
                 fmt::format("{}: {}: buffer upsert returned no row", database_.path(), what));
  }
  {
    platform::SqliteQuery query(database_, set_device_seq_);
    query.BindText(1, device.device_id()).BindInt64(2, **last_seq);
    if (Status set = query.Run(what); !set.ok()) return set.error();
  }
  Status committed = transaction->Commit();
  if (!committed.ok()) return committed.error();
  return static_cast<std::uint64_t>(**last_seq);
}

Result<StoredBatch> SqliteCollectorStore::StoreEvents(std::string_view device_id,
                                                      std::string_view buffer_id,
                                                      const std::vector<v1::Event>& events,
                                                      std::int64_t now_unix_ns) {
  const std::string what =
      fmt::format("store batch of {} buffer {}", Quoted(device_id), Quoted(buffer_id));
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::uint64_t seq = events[i].seq();
    if (seq == 0 || seq > kMaxSqliteInteger) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: {}: events[{}]: seq {} is outside 1..{}; nothing stored",
                               database_.path(), what, i, seq, kMaxSqliteInteger));
    }
  }

  Result<platform::SqliteTransaction> transaction =
      platform::SqliteTransaction::Begin(database_, what);
  if (!transaction.ok()) return transaction.error();

  Result<std::optional<std::int64_t>> before = [&] {
    platform::SqliteQuery query(database_, select_buffer_seq_);
    query.BindText(1, device_id).BindText(2, buffer_id);
    return SingleInteger(query, what);
  }();
  if (!before.ok()) return before.error();
  if (!before->has_value()) {
    return Error(ErrorCode::kNotFound,
                 fmt::format("{}: {}: no such device or buffer (it has not said Hello); nothing "
                             "stored",
                             database_.path(), what));
  }

  StoredBatch stored;
  stored.last_stored_seq = static_cast<std::uint64_t>(**before);
  for (const v1::Event& event : events) {
    Result<bool> inserted = InsertEvent(device_id, buffer_id, event, now_unix_ns);
    if (!inserted.ok()) return inserted.error();
    stored.Count(event.seq(), *inserted);
  }
  {
    platform::SqliteQuery query(database_, advance_buffer_seq_);
    query.BindText(1, device_id)
        .BindText(2, buffer_id)
        .BindInt64(3, static_cast<std::int64_t>(stored.last_stored_seq))
        .BindInt64(4, Saturated(stored.gap_events));
    if (Status advanced = query.Run(what); !advanced.ok()) return advanced.error();
  }
  {
    platform::SqliteQuery query(database_, touch_device_seq_);
    query.BindText(1, device_id)
        .BindInt64(2, now_unix_ns)
        .BindText(3, buffer_id)
        .BindInt64(4, static_cast<std::int64_t>(stored.last_stored_seq));
    if (Status touched = query.Run(what); !touched.ok()) return touched.error();
  }
  Status committed = transaction->Commit();
  if (!committed.ok()) return committed.error();
  return stored;
}

Result<bool> SqliteCollectorStore::InsertEvent(std::string_view device_id,
                                               std::string_view buffer_id, const v1::Event& event,
                                               std::int64_t now_unix_ns) {
  const auto seq = static_cast<std::int64_t>(event.seq());
  std::string payload;
  if (!event.SerializeToString(&payload)) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: store batch of {}: seq {}: event does not serialize",
                             database_.path(), Quoted(device_id), seq));
  }
  const std::string state = wire::ShortName(event.state());
  const std::string severity = wire::ShortName(event.severity());
  {
    platform::SqliteQuery query(database_, insert_event_);
    query.BindText(1, device_id)
        .BindInt64(2, seq)
        .BindInt64(3, now_unix_ns)
        .BindInt64(4, event.wall_time_unix_ns())
        .BindInt64(5, event.monotonic_ns())
        .BindText(6, event.boot_id())
        .BindText(7, severity)
        .BindText(8, wire::ShortName(event.kind()))
        .BindText(9, state)
        .BindText(10, event.subject())
        .BindText(11, event.alert_key())
        .BindDouble(12, event.value())
        .BindDouble(13, event.threshold())
        .BindText(14, wire::ShortName(event.unit()))
        .BindText(15, wire::ShortName(event.category()))
        .BindText(16, ServiceList(event.impact().unavailable()))
        .BindText(17, ServiceList(event.impact().degraded()))
        .BindText(18, event.summary())
        .BindText(19, ContextJson(event))
        .BindBlob(20, payload)
        .BindText(21, buffer_id);
    Status inserted =
        query.Run(fmt::format("store batch of {}: insert seq {}", Quoted(device_id), seq));
    if (!inserted.ok()) return inserted.error();
  }
  // Stored by an earlier batch: exactly once, so nothing else changes either.
  if (database_.ChangedRows() == 0) return false;
  // Only firing and resolved events move an alert; notices have no state.
  if (event.alert_key().empty() ||
      (event.state() != v1::ALERT_STATE_FIRING && event.state() != v1::ALERT_STATE_RESOLVED)) {
    return true;
  }
  platform::SqliteQuery query(database_, upsert_alert_);
  query.BindText(1, device_id)
      .BindText(2, event.alert_key())
      .BindText(3, state)
      .BindText(4, severity)
      .BindInt64(5, seq)
      .BindInt64(6, event.wall_time_unix_ns())
      .BindInt64(7, now_unix_ns)
      .BindText(8, buffer_id);
  Status upserted =
      query.Run(fmt::format("store batch of {}: update alert of seq {}", Quoted(device_id), seq));
  if (!upserted.ok()) return upserted.error();
  return true;
}

Status SqliteCollectorStore::RecordHeartbeat(std::string_view device_id,
                                             const v1::Heartbeat& heartbeat,
                                             std::int64_t now_unix_ns) {
  const std::string what = fmt::format("heartbeat of {}", Quoted(device_id));
  nlohmann::json services = nlohmann::json::array();
  nlohmann::json reported = nlohmann::json::array();
  for (int i = 0; i < heartbeat.services_size(); ++i) {
    const v1::ServiceStatus& status = heartbeat.services(i);
    if (status.service() == v1::CUSTOMER_SERVICE_UNSPECIFIED ||
        status.state() == v1::SERVICE_STATE_UNSPECIFIED) {
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: {}: services[{}]: service and state must be specified; "
                               "nothing recorded",
                               database_.path(), what, i));
    }
    const std::string service = wire::ShortName(status.service());
    services.push_back({{"service", service},
                        {"state", wire::ShortName(status.state())},
                        {"reason", status.reason()}});
    reported.push_back(service);
  }

  Result<platform::SqliteTransaction> transaction =
      platform::SqliteTransaction::Begin(database_, what);
  if (!transaction.ok()) return transaction.error();
  {
    platform::SqliteQuery query(database_, touch_device_);
    query.BindText(1, device_id).BindInt64(2, now_unix_ns);
    Status touched = query.Run(what);
    if (!touched.ok()) return touched;
    if (database_.ChangedRows() == 0) {
      return Error(ErrorCode::kNotFound,
                   fmt::format("{}: {}: no such device (it has not said Hello); nothing recorded",
                               database_.path(), what));
    }
  }
  {
    const v1::AgentHealth& health = heartbeat.health();
    platform::SqliteQuery query(database_, replace_heartbeat_);
    query.BindText(1, device_id)
        .BindInt64(2, now_unix_ns)
        .BindInt64(3, heartbeat.interval_ms())
        .BindText(4, Dump(services))
        .BindInt64(5, Saturated(health.backlog_events()))
        .BindInt64(6, Saturated(health.buffer_bytes()))
        .BindInt64(7, Saturated(health.buffer_limit_bytes()))
        .BindInt64(8, health.oldest_undelivered_age_ms())
        .BindInt64(9, Saturated(health.dropped_events_total()))
        .BindInt64(10, Saturated(health.last_seq()))
        .BindInt64(11, health.buffer_degraded() ? 1 : 0)
        .BindInt64(12, health.wall_time_unix_ns())
        .BindInt64(13, health.monotonic_ns())
        .BindInt64(14, health.uptime_s())
        .BindInt64(15, Saturated(health.set_aside_events_total()))
        .BindText(16, health.has_feed() ? FeedJson(health.feed()) : std::string());
    Status replaced = query.Run(what);
    if (!replaced.ok()) return replaced;
  }
  if (heartbeat_history_ns_ > 0) {
    platform::SqliteQuery query(database_, keep_heartbeat_history_);
    query.BindText(1, device_id).BindInt64(2, now_unix_ns).BindInt64(3, heartbeat_history_ns_);
    if (Status kept = query.Run(what); !kept.ok()) return kept;
  }
  for (const v1::ServiceStatus& status : heartbeat.services()) {
    platform::SqliteQuery query(database_, upsert_service_);
    query.BindText(1, device_id)
        .BindText(2, wire::ShortName(status.service()))
        .BindText(3, wire::ShortName(status.state()))
        .BindText(4, status.reason())
        .BindInt64(5, now_unix_ns);
    Status upserted = query.Run(what);
    if (!upserted.ok()) return upserted;
  }
  {
    platform::SqliteQuery query(database_, delete_unreported_services_);
    query.BindText(1, device_id).BindText(2, Dump(reported));
    Status deleted = query.Run(what);
    if (!deleted.ok()) return deleted;
  }
  return transaction->Commit();
}

}  // namespace atmhealth::collector
