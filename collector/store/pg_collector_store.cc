#include "collector/store/pg_collector_store.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>
#include <utility>

#include "collector/store/pg_array.h"
#include "collector/store/pg_change_listener.h"
#include "collector/store/pg_schema.h"
#include "collector/store/store_rows.h"
#include "proto/names.h"

namespace atmhealth::collector {
namespace {

struct Statement {
  const char* name;
  const char* sql;
};

// The statements of collector/store/sqlite_collector_store.cc in
// PostgreSQL's words (the comments there say why each is as it is), each
// call's rows in as few statements as can be: every statement is a round trip
// to the server, and the store thread waits for each. A batch's events are
// one statement (its rows as arrays, see collector/store/pg_array.h), its
// alerts two, a heartbeat and a Hello one each.
constexpr Statement kStatements[] = {
    // A device saying Hello: its buffer and itself, and the buffer's highest
    // stored seq. The buffer's row references the device's: both are
    // checked at the end of the statement.
    {"record_hello", R"sql(
WITH buffer AS (
  INSERT INTO buffers (device_id, buffer_id, first_seen_unix_ns, last_hello_unix_ns, peer,
                       agent_last_seq)
  VALUES ($1, $9, $8, $8, $6, $7)
  ON CONFLICT (device_id, buffer_id) DO UPDATE SET
    last_hello_unix_ns = excluded.last_hello_unix_ns,
    peer = excluded.peer,
    agent_last_seq = excluded.agent_last_seq
  RETURNING last_seq)
INSERT INTO devices (device_id, site_id, kind, agent_version, protocol_version, peer,
                     agent_last_seq, first_seen_unix_ns, last_seen_unix_ns, last_hello_unix_ns,
                     buffer_id, last_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, $9, (SELECT last_seq FROM buffer))
ON CONFLICT (device_id) DO UPDATE SET
  site_id = excluded.site_id,
  kind = excluded.kind,
  agent_version = excluded.agent_version,
  protocol_version = excluded.protocol_version,
  peer = excluded.peer,
  agent_last_seq = excluded.agent_last_seq,
  last_seen_unix_ns = excluded.last_seen_unix_ns,
  last_hello_unix_ns = excluded.last_hello_unix_ns,
  buffer_id = excluded.buffer_id,
  last_seq = excluded.last_seq
RETURNING last_seq
)sql"},
    // Locks the buffer's row to the end of the transaction: the batches of
    // one buffer are stored one after another, whichever collector stores
    // them.
    {"select_buffer_seq",
     "SELECT last_seq FROM buffers WHERE device_id = $1 AND buffer_id = $2 FOR UPDATE"},
    // The batch's events in batch order; each (device, buffer, seq) once, so
    // an event stored before, or twice in the batch, is stored once. Returns
    // the seqs stored now.
    {"insert_events", R"sql(
INSERT INTO events (device_id, seq, received_unix_ns, wall_time_unix_ns, monotonic_ns, boot_id,
                    severity, kind, state, subject, alert_key, value, threshold, unit, category,
                    impact_unavailable, impact_degraded, summary, context_json, payload,
                    buffer_id)
SELECT $1, e.seq, $3, e.wall_time_unix_ns, e.monotonic_ns, e.boot_id, e.severity, e.kind,
       e.state, e.subject, e.alert_key, e.value, e.threshold, e.unit, e.category,
       e.impact_unavailable, e.impact_degraded, e.summary, e.context_json, e.payload, $2
FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[],
            $10::text[], $11::text[], $12::text[], $13::float8[], $14::float8[], $15::text[],
            $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::bytea[])
  WITH ORDINALITY AS e(seq, wall_time_unix_ns, monotonic_ns, boot_id, severity, kind, state,
                       subject, alert_key, value, threshold, unit, category, impact_unavailable,
                       impact_degraded, summary, context_json, payload, position)
ORDER BY e.position
ON CONFLICT (device_id, buffer_id, seq) DO NOTHING
RETURNING seq
)sql"},
    // The alerts a batch moves, locked to its commit: the store works out
    // their new rows from these as its events would one after another.
    {"select_alerts", R"sql(
SELECT alert_key, state, since_seq, since_wall_time_unix_ns, last_seq, buffer_id
FROM alerts WHERE device_id = $1 AND alert_key = ANY($2::text[])
FOR UPDATE
)sql"},
    // One row per alert key. The WHERE only matters for a row that another
    // transaction made after select_alerts found none: an older event of
    // the same buffer does not move it back.
    {"upsert_alerts", R"sql(
INSERT INTO alerts (device_id, alert_key, state, severity, since_seq, since_wall_time_unix_ns,
                    last_seq, updated_unix_ns, buffer_id)
SELECT $1, a.alert_key, a.state, a.severity, a.since_seq, a.since_wall_time_unix_ns, a.last_seq,
       $3, $2
FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])
  AS a(alert_key, state, severity, since_seq, since_wall_time_unix_ns, last_seq)
ON CONFLICT (device_id, alert_key) DO UPDATE SET
  since_seq = excluded.since_seq,
  since_wall_time_unix_ns = excluded.since_wall_time_unix_ns,
  state = excluded.state,
  severity = excluded.severity,
  last_seq = excluded.last_seq,
  updated_unix_ns = excluded.updated_unix_ns,
  buffer_id = excluded.buffer_id
WHERE excluded.buffer_id <> alerts.buffer_id OR excluded.last_seq > alerts.last_seq
)sql"},
    // The end of a batch: the buffer's and the device's highest stored seq
    // and last-seen time, and when an alert moved a NOTIFY that every
    // collector receives if (and only if) this commits.
    {"finish_batch", R"sql(
WITH buffer AS (
  UPDATE buffers SET last_seq = GREATEST(last_seq, $3::bigint),
                     gap_events = gap_events + $4::bigint
  WHERE device_id = $1 AND buffer_id = $2),
device AS (
  UPDATE devices SET
    last_seen_unix_ns = $5,
    last_seq = CASE WHEN buffer_id = $2 THEN GREATEST(last_seq, $3::bigint) ELSE last_seq END
  WHERE device_id = $1)
SELECT pg_notify($7, '') WHERE $6::boolean
)sql"},
    // A heartbeat: the device's last-seen time, its latest heartbeat, the
    // history at its resolution ($17 ns; 0: none), the services it reports
    // ($18..$20, each once; a service in $21 changed state within the
    // heartbeat, so its since is now) and none it no longer reports. Every
    // part hangs on the device's row: an unknown device changes nothing and
    // counts 0.
    {"record_heartbeat", R"sql(
WITH device AS (
  UPDATE devices SET last_seen_unix_ns = $2 WHERE device_id = $1 RETURNING device_id),
heartbeat AS (
  INSERT INTO heartbeats (
    device_id, received_unix_ns, interval_ms, services_json, backlog_events, buffer_bytes,
    buffer_limit_bytes, oldest_undelivered_age_ms, dropped_events_total, agent_last_seq,
    buffer_degraded, agent_wall_time_unix_ns, agent_monotonic_ns, uptime_s,
    set_aside_events_total, feed_json)
  SELECT device_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 FROM device
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
    feed_json = excluded.feed_json),
history AS (
  INSERT INTO heartbeat_history (
    device_id, received_unix_ns, services_json, backlog_events, buffer_bytes,
    oldest_undelivered_age_ms, dropped_events_total, buffer_degraded, feed_json)
  SELECT device_id, $2, $4, $5, $6, $8, $9, $11, $16 FROM device
  WHERE $17::bigint > 0
    AND NOT EXISTS (SELECT 1 FROM heartbeat_history
                    WHERE device_id = $1 AND received_unix_ns > $2::bigint - $17::bigint)
  ON CONFLICT DO NOTHING),
services AS (
  INSERT INTO device_services (device_id, service, state, reason, since_unix_ns, updated_unix_ns)
  SELECT device.device_id, s.service, s.state, s.reason, $2, $2
  FROM device, unnest($18::text[], $19::text[], $20::text[]) AS s(service, state, reason)
  ON CONFLICT (device_id, service) DO UPDATE SET
    since_unix_ns = CASE WHEN device_services.state = excluded.state
                          AND excluded.service <> ALL($21::text[])
                         THEN device_services.since_unix_ns ELSE excluded.since_unix_ns END,
    state = excluded.state,
    reason = excluded.reason,
    updated_unix_ns = excluded.updated_unix_ns),
unreported AS (
  DELETE FROM device_services WHERE device_id = $1 AND service <> ALL($18::text[]))
SELECT count(*) FROM device
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
    const pqxx::row row = unit.exec_prepared1(
        "record_hello", device.device_id(), PgText(device.site_id()),
        wire::ShortName(device.kind()), PgText(hello.agent_version()),
        static_cast<std::int64_t>(hello.protocol_version()), PgText(peer),
        Saturated(hello.agent_last_seq()), now_unix_ns, PgText(hello.buffer_id()));
    return row[0].as<std::uint64_t>();
  });
}

namespace {

// An alert's row as the batch's events leave it: read before the batch,
// then moved by its events one after another as the SQLite store's upsert
// moves it (a new state starts a new period; an event of the same buffer
// not above the row's last seq changes nothing).
struct AlertRow {
  bool exists = false;
  bool moved = false;
  std::string state;
  std::string severity;
  std::int64_t since_seq = 0;
  std::int64_t since_wall_time_unix_ns = 0;
  std::int64_t last_seq = 0;
  std::string buffer_id;

  void Apply(const v1::Event& event, const EventColumns& columns, const std::string& buffer) {
    const auto seq = static_cast<std::int64_t>(event.seq());
    if (exists && buffer_id == buffer && seq <= last_seq) return;
    if (!exists || state != columns.state) {
      since_seq = seq;
      since_wall_time_unix_ns = event.wall_time_unix_ns();
    }
    exists = true;
    moved = true;
    state = columns.state;
    severity = columns.severity;
    last_seq = seq;
    buffer_id = buffer;
  }
};

}  // namespace

Result<StoredBatch> PgCollectorStore::StoreEvents(std::string_view device_id,
                                                  std::string_view buffer_id,
                                                  const std::vector<v1::Event>& events,
                                                  std::int64_t now_unix_ns) {
  const std::string what =
      fmt::format("store batch of {} buffer {}", Quoted(device_id), Quoted(buffer_id));
  if (Status valid = CheckBatchSequences(events, connection_.where(), what); !valid) {
    return valid.error();
  }
  std::vector<EventColumns> columns;
  columns.reserve(events.size());
  // One array per column, in batch order.
  PgArray seqs, wall_times, monotonic, boot_ids, severities, kinds, states, subjects, alert_keys,
      values, thresholds, units, categories, unavailable, degraded, summaries, contexts, payloads;
  for (const v1::Event& event : events) {
    Result<EventColumns> row = ColumnsOf(event, connection_.where(), device_id);
    if (!row.ok()) return row.error();
    seqs.Add(static_cast<std::int64_t>(event.seq()));
    wall_times.Add(event.wall_time_unix_ns());
    monotonic.Add(event.monotonic_ns());
    boot_ids.Add(event.boot_id());
    severities.Add(row->severity);
    kinds.Add(row->kind);
    states.Add(row->state);
    subjects.Add(event.subject());
    alert_keys.Add(event.alert_key());
    values.Add(event.value());
    thresholds.Add(event.threshold());
    units.Add(row->unit);
    categories.Add(row->category);
    unavailable.Add(row->impact_unavailable);
    degraded.Add(row->impact_degraded);
    summaries.Add(event.summary());
    contexts.Add(row->context_json);
    payloads.AddBytes(row->payload);
    row->payload.clear();
    row->context_json.clear();
    columns.push_back(std::move(*row));
  }
  const std::string device(device_id);
  const std::string buffer = PgText(buffer_id);
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
    std::multiset<std::uint64_t> inserted_seqs;
    for (const pqxx::row& row : unit.exec_prepared(
             "insert_events", device, buffer, now_unix_ns, seqs.Literal(), wall_times.Literal(),
             monotonic.Literal(), boot_ids.Literal(), severities.Literal(), kinds.Literal(),
             states.Literal(), subjects.Literal(), alert_keys.Literal(), values.Literal(),
             thresholds.Literal(), units.Literal(), categories.Literal(), unavailable.Literal(),
             degraded.Literal(), summaries.Literal(), contexts.Literal(), payloads.Literal())) {
      inserted_seqs.insert(row[0].as<std::uint64_t>());
    }
    // Events stored now move their alerts, in batch order; an event stored
    // before moves nothing (exactly once).
    std::vector<std::size_t> moving;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto found = inserted_seqs.find(events[i].seq());
      const bool inserted_now = found != inserted_seqs.end();
      if (inserted_now) inserted_seqs.erase(found);
      stored.Count(events[i].seq(), inserted_now);
      if (inserted_now && columns[i].moves_alert) moving.push_back(i);
    }
    if (!moving.empty()) {
      std::map<std::string, AlertRow, std::less<>> alerts;
      PgArray keys;
      for (const std::size_t i : moving) {
        if (alerts.try_emplace(PgText(events[i].alert_key())).second) {
          keys.Add(events[i].alert_key());
        }
      }
      for (const pqxx::row& row : unit.exec_prepared("select_alerts", device, keys.Literal())) {
        AlertRow& alert = alerts.at(row[0].as<std::string>());
        alert.exists = true;
        alert.state = row[1].as<std::string>();
        alert.since_seq = row[2].as<std::int64_t>();
        alert.since_wall_time_unix_ns = row[3].as<std::int64_t>();
        alert.last_seq = row[4].as<std::int64_t>();
        alert.buffer_id = row[5].as<std::string>();
      }
      for (const std::size_t i : moving) {
        alerts.at(PgText(events[i].alert_key())).Apply(events[i], columns[i], buffer);
      }
      PgArray moved_keys, moved_states, moved_severities, since_seqs, since_wall_times, last_seqs;
      for (const auto& [key, alert] : alerts) {
        if (!alert.moved) continue;
        moved_keys.Add(key);
        moved_states.Add(alert.state);
        moved_severities.Add(alert.severity);
        since_seqs.Add(alert.since_seq);
        since_wall_times.Add(alert.since_wall_time_unix_ns);
        last_seqs.Add(alert.last_seq);
      }
      if (moved_keys.size() > 0) {
        unit.exec_prepared0("upsert_alerts", device, buffer, now_unix_ns, moved_keys.Literal(),
                            moved_states.Literal(), moved_severities.Literal(),
                            since_seqs.Literal(), since_wall_times.Literal(), last_seqs.Literal());
      }
    }
    // One NOTIFY per transaction however many alerts moved.
    unit.exec_prepared(
        "finish_batch", device, buffer, static_cast<std::int64_t>(stored.last_stored_seq),
        Saturated(stored.gap_events), now_unix_ns, !moving.empty(), std::string(kPgFleetChannel));
    return stored;
  });
}

Status PgCollectorStore::RecordHeartbeat(std::string_view device_id, const v1::Heartbeat& heartbeat,
                                         std::int64_t now_unix_ns) {
  const std::string what = fmt::format("heartbeat of {}", Quoted(device_id));
  Result<HeartbeatColumns> columns = ColumnsOf(heartbeat, connection_.where(), what);
  if (!columns.ok()) return columns.error();
  // Each service once, as its last entry says (the SQLite store upserts
  // them one after another); a service whose entries disagree on its state
  // changed state within the heartbeat.
  struct Reported {
    std::string state;
    std::string reason;
    bool changed_within = false;
  };
  std::map<std::string, Reported, std::less<>> reported;
  for (const v1::ServiceStatus& status : heartbeat.services()) {
    const std::string state = wire::ShortName(status.state());
    auto [entry, first] = reported.try_emplace(wire::ShortName(status.service()));
    if (!first && entry->second.state != state) entry->second.changed_within = true;
    entry->second.state = state;
    entry->second.reason = status.reason();
  }
  PgArray services, service_states, reasons, changed_within;
  for (const auto& [service, entry] : reported) {
    services.Add(service);
    service_states.Add(entry.state);
    reasons.Add(entry.reason);
    if (entry.changed_within) changed_within.Add(service);
  }
  const std::string device(device_id);
  const v1::AgentHealth& health = heartbeat.health();
  Result<bool> recorded = InUnit<bool>(what, [&](pqxx::transaction_base& unit) -> Result<bool> {
    const pqxx::row row = unit.exec_prepared1(
        "record_heartbeat", device, now_unix_ns, static_cast<std::int64_t>(heartbeat.interval_ms()),
        PgText(columns->services_json), Saturated(health.backlog_events()),
        Saturated(health.buffer_bytes()), Saturated(health.buffer_limit_bytes()),
        static_cast<std::int64_t>(health.oldest_undelivered_age_ms()),
        Saturated(health.dropped_events_total()), Saturated(health.last_seq()),
        std::int64_t{health.buffer_degraded() ? 1 : 0}, health.wall_time_unix_ns(),
        health.monotonic_ns(), static_cast<std::int64_t>(health.uptime_s()),
        Saturated(health.set_aside_events_total()), PgText(columns->feed_json),
        heartbeat_history_ns_, services.Literal(), service_states.Literal(), reasons.Literal(),
        changed_within.Literal());
    if (row[0].as<std::int64_t>() == 0) {
      return Error(ErrorCode::kNotFound,
                   fmt::format("{}: {}: no such device (it has not said Hello); nothing recorded",
                               connection_.where(), what));
    }
    return true;
  });
  if (!recorded) return recorded.error();
  return OkStatus();
}

}  // namespace atmhealth::collector
