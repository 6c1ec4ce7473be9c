#include "collector/store/sqlite_collector_store.h"

#include <fmt/format.h>

#include <iterator>
#include <optional>
#include <utility>

#include "collector/store/collector_schema.h"
#include "collector/store/store_rows.h"
#include "proto/names.h"

namespace atmhealth::collector {
namespace {

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
// its sequence starts over) is newer than anything of the old one. One row
// stands for a run of events of the alert in one state: ?5 and ?6 are the
// run's first event (where the state may have begun), ?9 its last.
constexpr const char* kUpsertAlert = R"sql(
INSERT INTO alerts (device_id, alert_key, state, severity, since_seq, since_wall_time_unix_ns,
                    last_seq, updated_unix_ns, buffer_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?9, ?7, ?8)
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
  // Each store call is a savepoint in its group's transaction, and a
  // savepoint's statement journal was a temporary file created, written and
  // unlinked once per group: temp_store = MEMORY keeps it in memory, bounded
  // by the pages one group changes ([store] max_group_events).
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
                                          "PRAGMA temp_store = MEMORY;"
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
  if (Status valid = CheckHelloDevice(hello, peer, database_.path()); !valid) return valid.error();
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
  if (Status valid = CheckBatchSequences(events, database_.path(), what); !valid) {
    return valid.error();
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
  insert_what_ = fmt::format("store batch of {}: insert seq ", Quoted(device_id));
  alert_what_ = fmt::format("store batch of {}: update alert of seq ", Quoted(device_id));
  pending_alerts_.clear();
  for (const v1::Event& event : events) {
    // Late: below an event stored before it (a gap filler), so it may lose
    // to the alert's stored state; never folded into a run.
    const bool late = event.seq() < stored.last_stored_seq;
    Result<bool> inserted = InsertEvent(device_id, buffer_id, event, now_unix_ns, late);
    if (!inserted.ok()) return inserted.error();
    stored.Count(event.seq(), *inserted);
  }
  for (const PendingAlert& pending : pending_alerts_) {
    if (Status upserted = UpsertAlert(device_id, buffer_id, pending, now_unix_ns); !upserted.ok()) {
      return upserted.error();
    }
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
                                               std::int64_t now_unix_ns, bool late) {
  const auto seq = static_cast<std::int64_t>(event.seq());
  if (Status filled = FillColumns(event, database_.path(), device_id, columns_); !filled.ok()) {
    return filled.error();
  }
  const EventColumns* columns = &columns_;
  {
    platform::SqliteQuery query(database_, insert_event_);
    query.BindText(1, device_id)
        .BindInt64(2, seq)
        .BindInt64(3, now_unix_ns)
        .BindInt64(4, event.wall_time_unix_ns())
        .BindInt64(5, event.monotonic_ns())
        .BindText(6, event.boot_id())
        .BindText(7, columns->severity)
        .BindText(8, columns->kind)
        .BindText(9, columns->state)
        .BindText(10, event.subject())
        .BindText(11, event.alert_key())
        .BindDouble(12, event.value())
        .BindDouble(13, event.threshold())
        .BindText(14, columns->unit)
        .BindText(15, columns->category)
        .BindText(16, columns->impact_unavailable)
        .BindText(17, columns->impact_degraded)
        .BindText(18, event.summary())
        .BindText(19, columns->context_json)
        .BindBlob(20, columns->payload)
        .BindText(21, buffer_id);
    Status inserted = query.Run(EventWhat(insert_what_, seq));
    if (!inserted.ok()) return inserted.error();
  }
  // Stored by an earlier batch: exactly once, so nothing else changes either.
  if (database_.ChangedRows() == 0) return false;
  if (!columns->moves_alert) return true;
  // Consecutive events of one alert in one state change its row as their
  // first would, with the last one's seq and severity: one upsert for the
  // run when the batch is stored, instead of one per event. A change of
  // state, or a late event, ends the alert's run.
  PendingAlert* pending = nullptr;
  for (PendingAlert& candidate : pending_alerts_) {
    if (candidate.alert_key == event.alert_key()) pending = &candidate;
  }
  if (pending != nullptr && !late && pending->state == columns->state) {
    pending->last_seq = seq;
    pending->severity.assign(columns->severity);
    return true;
  }
  if (pending != nullptr) {
    if (Status upserted = UpsertAlert(device_id, buffer_id, *pending, now_unix_ns);
        !upserted.ok()) {
      return upserted.error();
    }
    *pending = std::move(pending_alerts_.back());
    pending_alerts_.pop_back();
  }
  PendingAlert run{
      event.alert_key(), columns->state, columns->severity, seq, event.wall_time_unix_ns(), seq};
  if (late || pending_alerts_.size() >= kMaxPendingAlerts) {
    if (Status upserted = UpsertAlert(device_id, buffer_id, run, now_unix_ns); !upserted.ok()) {
      return upserted.error();
    }
    return true;
  }
  pending_alerts_.push_back(std::move(run));
  return true;
}

Status SqliteCollectorStore::UpsertAlert(std::string_view device_id, std::string_view buffer_id,
                                         const PendingAlert& run, std::int64_t now_unix_ns) {
  platform::SqliteQuery query(database_, upsert_alert_);
  query.BindText(1, device_id)
      .BindText(2, run.alert_key)
      .BindText(3, run.state)
      .BindText(4, run.severity)
      .BindInt64(5, run.since_seq)
      .BindInt64(6, run.since_wall_time_unix_ns)
      .BindInt64(7, now_unix_ns)
      .BindText(8, buffer_id)
      .BindInt64(9, run.last_seq);
  return query.Run(EventWhat(alert_what_, run.last_seq));
}

std::string_view SqliteCollectorStore::EventWhat(std::string_view prefix, std::int64_t seq) {
  what_.assign(prefix);
  fmt::format_to(std::back_inserter(what_), "{}", seq);
  return what_;
}

Status SqliteCollectorStore::RecordHeartbeat(std::string_view device_id,
                                             const v1::Heartbeat& heartbeat,
                                             std::int64_t now_unix_ns) {
  const std::string what = fmt::format("heartbeat of {}", Quoted(device_id));
  Result<HeartbeatColumns> columns = ColumnsOf(heartbeat, database_.path(), what);
  if (!columns.ok()) return columns.error();

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
        .BindText(4, columns->services_json)
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
        .BindText(16, columns->feed_json);
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
    query.BindText(1, device_id).BindText(2, columns->reported_services_json);
    Status deleted = query.Run(what);
    if (!deleted.ok()) return deleted;
  }
  return transaction->Commit();
}

}  // namespace atmhealth::collector
