#include "agent/store/sqlite_event_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <utility>

#include "agent/agent_notice.h"
#include "proto/names.h"
#include "proto/schema_limits.h"

namespace atmhealth::agent {
namespace {

// How long a write waits for another connection's lock (atmhealthctl
// reading the buffer).
constexpr std::chrono::milliseconds kBusyTimeout{5000};
// Bounds of the WAL's size, bytes: it is checkpointed when it reaches a
// quarter of max_bytes within these, and cut back to that size after each
// checkpoint. What stays is reused without asking the disk for room.
constexpr std::uint64_t kMinWalBytes = 64 * 1024;
constexpr std::uint64_t kMaxWalBytes = 4 * 1024 * 1024;
// Room kept under max_bytes for the drop notice a commit may add, bytes. A
// notice holds a handful of numbers and one short line, far below this.
constexpr std::uint64_t kDropNoticeReserveBytes = 1024 + kEventRowOverheadBytes;
// Free pages kept inside the file for the next inserts, as a fraction of
// max_bytes; beyond it they go back to the filesystem.
constexpr std::uint64_t kFreePagesKeptDivisor = 8;
// Steps of the disk-full reclaim and of giving pages back: small enough for
// the WAL room a full disk has left.
constexpr std::size_t kReclaimRowsPerStep = 16;
constexpr std::int64_t kVacuumPagesPerStep = 16;

constexpr char kDropNoticeSubject[] = "event_buffer";
constexpr std::chrono::minutes kDropLogInterval{1};
constexpr std::chrono::minutes kFailureLogInterval{1};

// Migration i takes the schema from version i to version i + 1. A released
// migration never changes; a new schema version appends one.
constexpr const char* kMigrations[] = {
    // 0 -> 1: the first schema.
    R"sql(
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq INTEGER NOT NULL,       -- highest sequence ever assigned; never goes back
  delivered_seq INTEGER NOT NULL,  -- highest sequence the collector acknowledged
  dropped_total INTEGER NOT NULL   -- undelivered events dropped since creation
);
INSERT INTO meta (id, last_seq, delivered_seq, dropped_total) VALUES (1, 0, 0, 0);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  severity INTEGER NOT NULL,           -- drop class: 1 info, 2 warning, 3 critical
  kind INTEGER NOT NULL,               -- v1::AlertKind
  state INTEGER NOT NULL,              -- v1::AlertState
  wall_time_unix_ns INTEGER NOT NULL,  -- device wall clock at detection
  payload BLOB NOT NULL                -- serialized v1::Event
);
CREATE INDEX events_by_severity ON events (severity, seq);
)sql",
    // 1 -> 2: the alerts that fire, so that a restarted agent resolves them.
    R"sql(
CREATE TABLE firing_alerts (
  alert_key TEXT PRIMARY KEY,  -- "<kind>:<subject>"
  seq INTEGER NOT NULL,        -- sequence of the latest firing event
  payload BLOB NOT NULL        -- that event, serialized v1::Event
) WITHOUT ROWID;
)sql",
    // 2 -> 3: the buffer's identity, the latest transition of each alert key
    // (never dropped under the cap), and events set aside after repeated
    // refusals. A buffer created before ids keeps the empty id, under which
    // the collector filed its events; a new file gets a random one.
    R"sql(
ALTER TABLE meta ADD COLUMN buffer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE meta ADD COLUMN buffer_base_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meta ADD COLUMN set_aside_total INTEGER NOT NULL DEFAULT 0;
CREATE TABLE latest_transitions (
  alert_key TEXT PRIMARY KEY,  -- "<kind>:<subject>"
  seq INTEGER NOT NULL         -- the latest firing or resolved event of the key
) WITHOUT ROWID;
CREATE INDEX latest_transitions_by_seq ON latest_transitions (seq);
INSERT INTO latest_transitions (alert_key, seq)
SELECT alert_key, seq FROM firing_alerts WHERE seq > (SELECT delivered_seq FROM meta);
CREATE TABLE set_aside (
  seq INTEGER PRIMARY KEY,
  set_aside_unix_ns INTEGER NOT NULL,  -- wall clock when it was set aside
  reason TEXT NOT NULL,                -- the collector's refusal
  payload BLOB NOT NULL                -- serialized v1::Event
);
)sql",
    // 3 -> 4: the throughput watcher's baseline, the usual transaction rate
    // of each hour of the week, learned over weeks and kept across restarts.
    R"sql(
CREATE TABLE throughput_baseline (
  hour_of_week INTEGER PRIMARY KEY CHECK (hour_of_week BETWEEN 0 AND 167),  -- 0: Sunday 00:00 local
  weeks INTEGER NOT NULL CHECK (weeks >= 0),  -- times the hour was observed
  mean_tps REAL NOT NULL,                     -- transactions per second, averaged over them
  updated_unix_ns INTEGER NOT NULL            -- wall clock of the last update
);
)sql",
};
static_assert(std::size(kMigrations) == kEventStoreSchemaVersion);
constexpr int kBufferIdSchemaVersion = 3;

std::int64_t AsInt64(std::uint64_t value) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(
      value, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
}

// Unknown severities above CRITICAL (a newer schema) are kept like alerts;
// UNSPECIFIED is kept like INFO.
int DropClassOf(v1::Severity severity) {
  if (severity >= v1::SEVERITY_CRITICAL) return 2;
  if (severity == v1::SEVERITY_WARNING) return 1;
  return 0;
}

}  // namespace

Result<std::unique_ptr<EventStore>> EventStore::Open(const EventStoreOptions& options,
                                                     platform::Clock& clock) {
  Result<std::unique_ptr<SqliteEventStore>> store = SqliteEventStore::Open(options, clock);
  if (!store.ok()) return store.error();
  return std::unique_ptr<EventStore>(std::move(store).value());
}

Result<std::unique_ptr<SqliteEventStore>> SqliteEventStore::Open(const EventStoreOptions& options,
                                                                 platform::Clock& clock) {
  if (options.path.empty()) {
    return Error(ErrorCode::kInvalidArgument, "event store: path is empty");
  }
  if (options.max_bytes < kEventStoreMinBytes) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: max_bytes {} is below the minimum of {} bytes", options.path,
                             options.max_bytes, kEventStoreMinBytes));
  }
  if (options.max_pending_events == 0) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: max_pending_events must be at least 1", options.path));
  }
  Result<platform::SqliteDatabase> database =
      platform::SqliteDatabase::Open(options.path, kBusyTimeout);
  if (!database.ok()) return database.error();
  std::unique_ptr<SqliteEventStore> store(
      new SqliteEventStore(options, clock, std::move(database).value()));
  for (Status (SqliteEventStore::*step)() :
       {&SqliteEventStore::CheckFile, &SqliteEventStore::EnableWal, &SqliteEventStore::Migrate,
        &SqliteEventStore::PrepareStatements, &SqliteEventStore::LoadState}) {
    Status done = (store.get()->*step)();
    if (!done.ok()) return done.error();
  }
  store->TakeReserve();
  return store;
}

SqliteEventStore::SqliteEventStore(const EventStoreOptions& options, platform::Clock& clock,
                                   platform::SqliteDatabase database)
    : options_(options),
      clock_(clock),
      database_(std::move(database)),
      drop_log_(clock, kDropLogInterval),
      reserve_(options.path + ".reserve", options.disk_reserve_bytes),
      reserve_releases_(clock, kFailureLogInterval),
      commit_failures_(clock, kFailureLogInterval),
      housekeeping_failures_(clock, kFailureLogInterval) {}

Status SqliteEventStore::CheckFile() {
  // Reads through mmap would turn an I/O error on a failing disk into
  // SIGBUS; plain reads turn it into an error code. secure_delete FAST:
  // Debian's SQLite zeroes every deleted page by default, which would make
  // deleting delivered events on a full disk need room for a page per row.
  if (Status s = database_.Execute(
          "PRAGMA mmap_size = 0; PRAGMA temp_store = MEMORY; PRAGMA secure_delete = FAST", "open");
      !s.ok()) {
    return s;
  }
  // The first statement that reads the file: a file that is not SQLite at all
  // fails here with SQLITE_NOTADB, which is kCorrupt.
  Result<std::string> check = database_.QueryText("PRAGMA quick_check", "integrity check");
  if (!check.ok()) return check.error();
  if (*check != "ok") {
    return Error(ErrorCode::kCorrupt,
                 fmt::format("{}: integrity check failed: {}", database_.path(), *check));
  }
  Result<std::int64_t> version = database_.QueryInt64("PRAGMA user_version", "schema version");
  if (!version.ok()) return version.error();
  if (*version > kEventStoreSchemaVersion) {
    return Error(ErrorCode::kCorrupt,
                 fmt::format("{}: schema version {} is newer than this agent's {}; it was "
                             "written by a newer atmhealthd",
                             database_.path(), *version, kEventStoreSchemaVersion));
  }
  if (*version != 0) return OkStatus();
  Result<std::int64_t> tables =
      database_.QueryInt64("SELECT count(*) FROM sqlite_master", "schema version");
  if (!tables.ok()) return tables.error();
  if (*tables != 0) {
    return Error(ErrorCode::kCorrupt,
                 fmt::format("{}: not an atmhealth event store: {} tables and no schema version",
                             database_.path(), *tables));
  }
  // A new file. Incremental vacuum lets ReleaseFreePages() give the
  // pages of deleted rows back to the disk. The setting only takes before
  // the first page is written (switching to WAL writes one); a file left
  // empty by an earlier, interrupted creation needs a VACUUM for it.
  if (Status s = database_.Execute("PRAGMA auto_vacuum = INCREMENTAL", "creating the schema");
      !s.ok()) {
    return s;
  }
  Result<std::int64_t> auto_vacuum =
      database_.QueryInt64("PRAGMA auto_vacuum", "creating the schema");
  if (!auto_vacuum.ok()) return auto_vacuum.error();
  if (*auto_vacuum != 2) return database_.Execute("VACUUM", "creating the schema");
  return OkStatus();
}

Status SqliteEventStore::EnableWal() {
  Result<std::string> journal_mode =
      database_.QueryText("PRAGMA journal_mode = WAL", "switching to WAL");
  if (!journal_mode.ok()) return journal_mode.error();
  if (*journal_mode != "wal") {
    return Error(ErrorCode::kIo, fmt::format("{}: switching to WAL: the file stays in {} mode",
                                             database_.path(), *journal_mode));
  }
  Result<std::int64_t> page_size = database_.QueryInt64("PRAGMA page_size", "open");
  if (!page_size.ok()) return page_size.error();
  page_size_ = *page_size;
  // The WAL is bounded in proportion to the buffer: checkpointed after about
  // a quarter of max_bytes, and cut back to that after each checkpoint.
  const std::uint64_t wal_bytes = std::clamp(options_.max_bytes / 4, kMinWalBytes, kMaxWalBytes);
  // FULL: a commit is durable when Commit() returns, even across power loss.
  // Group commit pays that fsync once per batch, not once per event.
  return database_.Execute(
      fmt::format("PRAGMA synchronous = FULL; PRAGMA journal_size_limit = {}; "
                  "PRAGMA wal_autocheckpoint = {}",
                  wal_bytes, wal_bytes / static_cast<std::uint64_t>(page_size_)),
      "open");
}

Status SqliteEventStore::Migrate() {
  Result<std::int64_t> version = database_.QueryInt64("PRAGMA user_version", "schema version");
  if (!version.ok()) return version.error();
  for (std::int64_t from = *version; from < kEventStoreSchemaVersion; ++from) {
    const std::string what = fmt::format("migrating the schema to version {}", from + 1);
    Result<platform::SqliteTransaction> transaction =
        platform::SqliteTransaction::Begin(database_, what);
    if (!transaction.ok()) return transaction.error();
    if (Status s = database_.Execute(kMigrations[from], what); !s.ok()) return s;
    if (*version == 0 && from + 1 == kBufferIdSchemaVersion) {
      // A new file: its identity is made with it, in the same transaction.
      if (Status s = database_.Execute(
              fmt::format("UPDATE meta SET buffer_id = '{}'", wire::NewBufferId()), what);
          !s.ok()) {
        return s;
      }
    }
    if (Status s = database_.Execute(fmt::format("PRAGMA user_version = {}", from + 1), what);
        !s.ok()) {
      return s;
    }
    if (Status s = transaction->Commit(); !s.ok()) return s;
  }
  return OkStatus();
}

Status SqliteEventStore::PrepareStatements() {
  struct {
    platform::SqliteStatement* statement;
    const char* sql;
  } const statements[] = {
      {&insert_event_,
       "INSERT INTO events (seq, severity, kind, state, wall_time_unix_ns, payload) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&update_meta_, "UPDATE meta SET last_seq = ?1, dropped_total = ?2 WHERE id = 1"},
      {&update_delivered_, "UPDATE meta SET delivered_seq = ?1 WHERE id = 1"},
      {&read_after_, "SELECT seq, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
      {&select_delivered_, "SELECT seq, length(payload) FROM events WHERE seq <= ?1 ORDER BY seq"},
      {&select_undelivered_of_class_,
       "SELECT e.seq, length(e.payload), coalesce(t.alert_key, '') FROM events e "
       "LEFT JOIN latest_transitions t ON t.seq = e.seq "
       "WHERE e.severity = ?1 AND e.seq > ?2 ORDER BY e.seq"},
      {&delete_delivered_, "DELETE FROM events WHERE seq <= ?1"},
      {&delete_event_, "DELETE FROM events WHERE seq = ?1"},
      {&upsert_latest_transition_,
       "INSERT INTO latest_transitions (alert_key, seq) VALUES (?1, ?2) "
       "ON CONFLICT (alert_key) DO UPDATE SET seq = excluded.seq"},
      {&prune_latest_transitions_, "DELETE FROM latest_transitions WHERE seq <= ?1"},
      {&select_event_, "SELECT payload FROM events WHERE seq = ?1"},
      {&insert_set_aside_,
       "INSERT OR REPLACE INTO set_aside (seq, set_aside_unix_ns, reason, payload) "
       "VALUES (?1, ?2, ?3, ?4)"},
      {&update_set_aside_total_, "UPDATE meta SET set_aside_total = ?1 WHERE id = 1"},
      {&count_between_, "SELECT count(*) FROM events WHERE seq > ?1 AND seq <= ?2"},
      {&oldest_undelivered_,
       "SELECT wall_time_unix_ns, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1"},
      {&freelist_count_, "PRAGMA freelist_count"},
      {&upsert_firing_alert_,
       "INSERT INTO firing_alerts (alert_key, seq, payload) VALUES (?1, ?2, ?3) "
       "ON CONFLICT (alert_key) DO UPDATE SET seq = excluded.seq, payload = excluded.payload"},
      {&delete_firing_alert_, "DELETE FROM firing_alerts WHERE alert_key = ?1"},
      {&select_firing_alerts_, "SELECT payload FROM firing_alerts ORDER BY seq"},
      {&select_baseline_,
       "SELECT hour_of_week, weeks, mean_tps FROM throughput_baseline ORDER BY hour_of_week"},
      {&upsert_baseline_,
       "INSERT INTO throughput_baseline (hour_of_week, weeks, mean_tps, updated_unix_ns) "
       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (hour_of_week) DO UPDATE SET weeks = excluded.weeks, "
       "mean_tps = excluded.mean_tps, updated_unix_ns = excluded.updated_unix_ns"},
  };
  for (const auto& [statement, sql] : statements) {
    Result<platform::SqliteStatement> prepared = database_.Prepare(sql, "preparing statements");
    if (!prepared.ok()) return prepared.error();
    *statement = std::move(prepared).value();
  }
  return OkStatus();
}

Status SqliteEventStore::LoadState() {
  {
    Result<platform::SqliteStatement> meta = database_.Prepare(
        "SELECT last_seq, delivered_seq, dropped_total, buffer_id, buffer_base_seq, "
        "set_aside_total FROM meta WHERE id = 1",
        "reading meta");
    if (!meta.ok()) return meta.error();
    platform::SqliteQuery query(database_, *meta);
    Result<bool> row = query.Step("reading meta");
    if (!row.ok()) return row.error();
    if (!*row) {
      return Error(ErrorCode::kCorrupt,
                   fmt::format("{}: meta: the row is missing", database_.path()));
    }
    last_seq_ = static_cast<std::uint64_t>(query.ColumnInt64(0));
    delivered_seq_ = static_cast<std::uint64_t>(query.ColumnInt64(1));
    dropped_total_ = static_cast<std::uint64_t>(query.ColumnInt64(2));
    buffer_id_ = std::string(query.ColumnText(3));
    buffer_base_seq_ = static_cast<std::uint64_t>(query.ColumnInt64(4));
    set_aside_total_ = static_cast<std::uint64_t>(query.ColumnInt64(5));
  }
  if (delivered_seq_ > last_seq_) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: meta: delivered_seq {} is above last_seq {}",
                                                  database_.path(), delivered_seq_, last_seq_));
  }
  committed_seq_ = last_seq_;
  {
    // The only full scan: the byte count is kept in memory from here on.
    Result<platform::SqliteStatement> totals = database_.Prepare(
        "SELECT count(*), coalesce(sum(length(payload)), 0), coalesce(max(seq), 0) FROM events",
        "counting events");
    if (!totals.ok()) return totals.error();
    platform::SqliteQuery query(database_, *totals);
    Result<bool> row = query.Step("counting events");
    if (!row.ok()) return row.error();
    stored_rows_ = static_cast<std::uint64_t>(query.ColumnInt64(0));
    stored_bytes_ =
        static_cast<std::uint64_t>(query.ColumnInt64(1)) + stored_rows_ * kEventRowOverheadBytes;
    const auto max_seq = static_cast<std::uint64_t>(query.ColumnInt64(2));
    if (max_seq > last_seq_) {
      return Error(ErrorCode::kCorrupt, fmt::format("{}: events: seq {} is above meta.last_seq {}",
                                                    database_.path(), max_seq, last_seq_));
    }
  }
  {
    platform::SqliteQuery query(database_, count_between_);
    query.BindInt64(1, AsInt64(delivered_seq_)).BindInt64(2, AsInt64(last_seq_));
    Result<bool> row = query.Step("counting undelivered events");
    if (!row.ok()) return row.error();
    stored_undelivered_rows_ = static_cast<std::uint64_t>(query.ColumnInt64(0));
  }
  RefreshOldestUndelivered();
  return OkStatus();
}

SqliteEventStore::PendingEvent SqliteEventStore::ToPending(const v1::Event& event) {
  PendingEvent pending;
  pending.seq = event.seq();
  pending.drop_class = DropClassOf(event.severity());
  pending.kind = event.kind();
  pending.state = event.state();
  pending.wall_time_unix_ns = event.wall_time_unix_ns();
  pending.alert_key = event.alert_key();
  pending.payload = event.SerializeAsString();
  return pending;
}

std::uint64_t SqliteEventStore::Append(v1::Event event) {
  // The sequence ends at 2^63-1 (and one is kept for a drop notice): the
  // collector refuses anything above. At a million events a second that is
  // 290,000 years away; if it ever comes, events are dropped, not wrapped.
  if (last_seq_ >= wire::kMaxSequence - 1) {
    ++dropped_total_;
    if (!sequence_exhausted_logged_) {
      spdlog::error(
          "{}: the sequence reached its end ({}); new events are dropped: move this "
          "buffer aside so that a new one is created",
          database_.path(), last_seq_);
      sequence_exhausted_logged_ = true;
    }
    return 0;
  }
  const std::uint64_t seq = ++last_seq_;
  event.set_seq(seq);
  PendingEvent pending = ToPending(event);
  pending_bytes_ += pending.stored_bytes();
  pending_[pending.drop_class].push_back(std::move(pending));
  while (pending_events() > 1 && (pending_events() > options_.max_pending_events ||
                                  pending_bytes_ > options_.max_pending_bytes)) {
    DropOnePendingEvent();
  }
  return seq;
}

void SqliteEventStore::DropOnePendingEvent() {
  for (auto& queue : pending_) {
    if (queue.empty()) continue;
    const PendingEvent& victim = queue.front();
    ++unrecorded_drops_.pending_overflow;
    unrecorded_drops_.Add(victim.seq);
    ++dropped_total_;
    pending_bytes_ -= victim.stored_bytes();
    if (unrecorded_drops_.pending_overflow == 1) {
      spdlog::warn(
          "{}: more than {} events or {} bytes wait in memory; dropping the oldest of the "
          "lowest severity, starting with seq {}",
          database_.path(), options_.max_pending_events, options_.max_pending_bytes, victim.seq);
    }
    queue.pop_front();
    return;
  }
}

Status SqliteEventStore::Commit() {
  if (pending_events() == 0 && unrecorded_drops_.count() == 0 &&
      stored_bytes_ <= options_.max_bytes) {
    degraded_ = false;  // nothing waits in memory
    return OkStatus();
  }
  Status written = WriteQueued();
  if (!written.ok() && written.error().code() == ErrorCode::kNoSpace) {
    // The reserve first: on a disk at 100 % even deleting delivered events
    // needs room (the WAL, then the checkpoint that shrinks the file).
    const bool released = reserve_.Release();
    if (released) {
      // A disk that stays nearly full gives the reserve back and takes it
      // again at many commits: said once a minute at most.
      if (auto releases = reserve_releases_.Occurred()) {
        spdlog::warn("{}: disk full: gave back the {}-byte reserve {} to make room{}",
                     database_.path(), reserve_.bytes(), reserve_.path(),
                     platform::RepeatedCondition::Note(*releases));
      }
    }
    if (ReclaimDeliveredHistory() || released) written = WriteQueued();
  }
  if (!written.ok()) {
    if (auto attempts = commit_failures_.Occurred()) {
      spdlog::warn(
          "{}; degraded: {} events wait in memory (at most {} or {} bytes) until a commit "
          "succeeds{}",
          written.error().message(), pending_events(), options_.max_pending_events,
          options_.max_pending_bytes, platform::RepeatedCondition::Note(*attempts));
    }
    degraded_ = true;
    return written;
  }
  if (auto attempts = commit_failures_.Cleared()) {
    spdlog::info("{}: commits succeed again after {} failed attempts; degraded mode over",
                 database_.path(), *attempts);
  }
  degraded_ = false;
  TakeReserve();
  return OkStatus();
}

Status SqliteEventStore::WriteQueued() {
  Result<platform::SqliteTransaction> transaction =
      platform::SqliteTransaction::Begin(database_, "commit");
  if (!transaction.ok()) return transaction.error();

  Result<CapEviction> planned = PlanCapEviction();
  if (!planned.ok()) return planned.error();
  const CapEviction& eviction = *planned;
  if (Status deleted = DeleteEvicted(eviction); !deleted.ok()) return deleted;

  std::uint64_t inserted_rows = 0;
  std::uint64_t inserted_bytes = 0;
  auto insert = [&](const PendingEvent& event) -> Status {
    platform::SqliteQuery query(database_, insert_event_);
    query.BindInt64(1, AsInt64(event.seq))
        .BindInt64(2, event.drop_class + 1)
        .BindInt64(3, event.kind)
        .BindInt64(4, event.state)
        .BindInt64(5, event.wall_time_unix_ns)
        .BindBlob(6, event.payload);
    if (Status s = query.Run("commit"); !s.ok()) return s;
    if (Status s = TrackFiringAlert(event); !s.ok()) return s;
    ++inserted_rows;
    inserted_bytes += event.stored_bytes();
    return OkStatus();
  };
  // The per-class queues merged back into seq order, minus what the cap drops.
  std::array<std::size_t, kDropClasses> next{};
  while (true) {
    int oldest = -1;
    for (int c = 0; c < kDropClasses; ++c) {
      if (next[c] == pending_[c].size()) continue;
      if (oldest < 0 || pending_[c][next[c]].seq < pending_[oldest][next[oldest]].seq) oldest = c;
    }
    if (oldest < 0) break;
    const PendingEvent& event = pending_[oldest][next[oldest]++];
    if (eviction.pending_dropped.count(event.seq) != 0) continue;
    if (Status s = insert(event); !s.ok()) return s;
  }

  DropTally drops = unrecorded_drops_;
  drops.over_cap += eviction.tally.over_cap;
  if (eviction.tally.count() > 0) {
    drops.Add(eviction.tally.first_seq);
    drops.Add(eviction.tally.last_seq);
  }
  std::uint64_t last_seq = last_seq_;
  if (drops.count() > 0 && last_seq < wire::kMaxSequence) {
    // Written in the same transaction as the drop itself: no drop without
    // its record.
    if (Status s = insert(MakeDropNotice(++last_seq, drops)); !s.ok()) return s;
  }
  const std::uint64_t dropped_total = dropped_total_ + eviction.tally.over_cap;
  {
    platform::SqliteQuery query(database_, update_meta_);
    query.BindInt64(1, AsInt64(last_seq)).BindInt64(2, AsInt64(dropped_total));
    if (Status s = query.Run("commit"); !s.ok()) return s;
  }
  if (Status s = transaction->Commit(); !s.ok()) return s;

  // Durable: now memory follows.
  stored_rows_ = stored_rows_ - eviction.delivered_rows - eviction.undelivered_rows + inserted_rows;
  stored_undelivered_rows_ = stored_undelivered_rows_ - eviction.undelivered_rows + inserted_rows;
  stored_bytes_ =
      stored_bytes_ - eviction.delivered_bytes - eviction.undelivered_bytes + inserted_bytes;
  for (auto& queue : pending_) queue.clear();
  pending_bytes_ = 0;
  last_seq_ = last_seq;
  committed_seq_ = last_seq;
  dropped_total_ = dropped_total;
  unrecorded_drops_ = DropTally{};
  if (drops.count() > 0) LogDrops(drops, last_seq);
  RefreshOldestUndelivered();
  if (eviction.delivered_rows + eviction.undelivered_rows > 0) {
    // Free pages are kept for the next inserts, up to a fraction of the cap.
    ReleaseFreePages(static_cast<std::int64_t>(options_.max_bytes / kFreePagesKeptDivisor) /
                     page_size_);
  }
  return OkStatus();
}

void SqliteEventStore::LogDrops(const DropTally& drops, std::uint64_t notice_seq) {
  // Over the cap with the collector away, every commit drops a few events;
  // the notices record each drop, the log says it once a minute.
  const auto dropped = drop_log_.Occurred(drops.count());
  if (!dropped) return;
  spdlog::warn(
      "{}: dropped {} undelivered events since the last report, lately seq {} to {} ({} over "
      "the {}-byte cap, {} past {} pending), recorded as seq {}; {} dropped in all",
      database_.path(), *dropped, drops.first_seq, drops.last_seq, drops.over_cap,
      options_.max_bytes, drops.pending_overflow, options_.max_pending_events, notice_seq,
      dropped_total_);
}

void SqliteEventStore::LogHousekeepingFailure(const Error& error) {
  if (auto failures = housekeeping_failures_.Occurred()) {
    spdlog::warn("{}{}", error.message(), platform::RepeatedCondition::Note(*failures));
  }
}

void SqliteEventStore::TakeReserve() {
  if (reserve_.held() || reserve_.bytes() == 0) return;
  if (Status taken = reserve_.Take(); !taken.ok()) {
    // Expected while the disk stays full; every successful commit tries again.
    spdlog::debug("{}", taken.error().message());
    return;
  }
  housekeeping_failures_.Cleared();
  spdlog::log(reserve_releases_.active() ? spdlog::level::debug : spdlog::level::info,
              "{}: holding {} bytes of the disk in {} for the next time it fills", database_.path(),
              reserve_.bytes(), reserve_.path());
}

Result<SqliteEventStore::CapEviction> SqliteEventStore::PlanCapEviction() {
  CapEviction eviction;
  std::uint64_t total = stored_bytes_ + pending_bytes_;
  bool needs_notice = unrecorded_drops_.count() > 0;
  auto over_cap = [&] {
    return total + (needs_notice ? kDropNoticeReserveBytes : 0) > options_.max_bytes;
  };
  if (!over_cap()) return eviction;

  // Delivered history first: the collector has it already.
  {
    platform::SqliteQuery query(database_, select_delivered_);
    query.BindInt64(1, AsInt64(delivered_seq_));
    while (over_cap()) {
      Result<bool> row = query.Step("commit: choosing delivered events to delete");
      if (!row.ok()) return row.error();
      if (!*row) break;
      const std::uint64_t bytes =
          static_cast<std::uint64_t>(query.ColumnInt64(1)) + kEventRowOverheadBytes;
      eviction.delivered_through = static_cast<std::uint64_t>(query.ColumnInt64(0));
      ++eviction.delivered_rows;
      eviction.delivered_bytes += bytes;
      total -= bytes;
    }
  }
  // Then undelivered events, lowest severity first, oldest first within one:
  // stored ones (older) before pending ones. The latest firing or resolved
  // event of each alert key is never dropped: only transitions a later one
  // superseded go. Pending events are newer than stored ones, so a key's
  // latest pending transition supersedes its stored one.
  std::map<std::string, std::uint64_t> latest_pending;
  for (const auto& queue : pending_) {
    for (const PendingEvent& event : queue) {
      if (event.alert_key.empty() ||
          (event.state != v1::ALERT_STATE_FIRING && event.state != v1::ALERT_STATE_RESOLVED)) {
        continue;
      }
      std::uint64_t& latest = latest_pending[event.alert_key];
      latest = std::max(latest, event.seq);
    }
  }
  for (int c = 0; c < kDropClasses && over_cap(); ++c) {
    needs_notice = true;
    {
      platform::SqliteQuery query(database_, select_undelivered_of_class_);
      query.BindInt64(1, c + 1).BindInt64(2, AsInt64(delivered_seq_));
      while (over_cap()) {
        Result<bool> row = query.Step("commit: choosing undelivered events to drop");
        if (!row.ok()) return row.error();
        if (!*row) break;
        const std::string_view latest_of = query.ColumnText(2);
        if (!latest_of.empty() && latest_pending.count(std::string(latest_of)) == 0) {
          continue;  // the latest transition of its alert
        }
        const auto seq = static_cast<std::uint64_t>(query.ColumnInt64(0));
        const std::uint64_t bytes =
            static_cast<std::uint64_t>(query.ColumnInt64(1)) + kEventRowOverheadBytes;
        eviction.undelivered_seqs.push_back(seq);
        ++eviction.undelivered_rows;
        eviction.undelivered_bytes += bytes;
        ++eviction.tally.over_cap;
        eviction.tally.Add(seq);
        total -= bytes;
      }
    }
    for (const PendingEvent& event : pending_[c]) {
      if (!over_cap()) break;
      if (!event.alert_key.empty()) {
        const auto latest = latest_pending.find(event.alert_key);
        if (latest != latest_pending.end() && latest->second == event.seq) continue;
      }
      eviction.pending_dropped.insert(event.seq);
      ++eviction.tally.over_cap;
      eviction.tally.Add(event.seq);
      total -= event.stored_bytes();
    }
  }
  // Everything may be gone now, but the notice alone always fits:
  // max_bytes >= kEventStoreMinBytes > kDropNoticeReserveBytes.
  return eviction;
}

Status SqliteEventStore::DeleteEvicted(const CapEviction& eviction) {
  if (eviction.delivered_through > 0) {
    platform::SqliteQuery query(database_, delete_delivered_);
    query.BindInt64(1, AsInt64(eviction.delivered_through));
    if (Status s = query.Run("commit: deleting delivered events"); !s.ok()) return s;
  }
  for (const std::uint64_t seq : eviction.undelivered_seqs) {
    platform::SqliteQuery query(database_, delete_event_);
    query.BindInt64(1, AsInt64(seq));
    if (Status s = query.Run("commit: dropping undelivered events"); !s.ok()) return s;
  }
  return OkStatus();
}

bool SqliteEventStore::ReclaimDeliveredHistory() {
  const std::uint64_t rows_before = stored_rows_;
  const std::uint64_t bytes_before = stored_bytes_;
  // A few rows per transaction, with a checkpoint after each: the WAL then
  // starts over within the room it already has on the disk instead of
  // growing, and one big delete would need room for about half the pages it
  // frees.
  while (stored_rows_ > stored_undelivered_rows_) {
    if (Status s = DeleteOldestDelivered(kReclaimRowsPerStep); !s.ok()) {
      LogHousekeepingFailure(s.error());
      break;
    }
    Checkpoint("RESTART");
  }
  if (stored_rows_ == rows_before) return false;
  spdlog::warn("{}: disk full: deleted {} delivered events ({} bytes) to make room",
               database_.path(), rows_before - stored_rows_, bytes_before - stored_bytes_);
  // Pages freed inside the file only help the file; the WAL needs room on
  // the disk itself.
  ReleaseFreePages(0);
  Checkpoint("TRUNCATE");
  return true;
}

Status SqliteEventStore::DeleteOldestDelivered(std::size_t max_rows) {
  const char* const what = "disk full: deleting delivered events";
  Result<platform::SqliteTransaction> transaction =
      platform::SqliteTransaction::Begin(database_, what);
  if (!transaction.ok()) return transaction.error();
  std::uint64_t through = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  {
    platform::SqliteQuery query(database_, select_delivered_);
    query.BindInt64(1, AsInt64(delivered_seq_));
    while (rows < max_rows) {
      Result<bool> row = query.Step(what);
      if (!row.ok()) return row.error();
      if (!*row) break;
      through = static_cast<std::uint64_t>(query.ColumnInt64(0));
      ++rows;
      bytes += static_cast<std::uint64_t>(query.ColumnInt64(1)) + kEventRowOverheadBytes;
    }
  }
  if (rows == 0) return OkStatus();
  platform::SqliteQuery query(database_, delete_delivered_);
  query.BindInt64(1, AsInt64(through));
  if (Status s = query.Run(what); !s.ok()) return s;
  if (Status s = transaction->Commit(); !s.ok()) return s;
  stored_rows_ -= rows;
  stored_bytes_ -= bytes;
  return OkStatus();
}

void SqliteEventStore::ReleaseFreePages(std::int64_t kept_pages) {
  // A few pages per step, with a checkpoint after each, for the same reason
  // as in ReclaimDeliveredHistory(); each complete checkpoint also cuts the
  // file down to its new size.
  while (true) {
    std::int64_t free_pages = 0;
    {
      platform::SqliteQuery query(database_, freelist_count_);
      Result<bool> row = query.Step("counting free pages");
      if (!row.ok() || !*row) return;
      free_pages = query.ColumnInt64(0);
    }
    if (free_pages <= kept_pages) return;
    const std::int64_t step = std::min<std::int64_t>(free_pages - kept_pages, kVacuumPagesPerStep);
    Status released = database_.Execute(fmt::format("PRAGMA incremental_vacuum({})", step),
                                        "releasing free pages");
    if (!released.ok()) {
      LogHousekeepingFailure(released.error());
      return;
    }
    Checkpoint("RESTART");
  }
}

void SqliteEventStore::Checkpoint(const char* mode) {
  Status done = database_.Execute(fmt::format("PRAGMA wal_checkpoint({})", mode), "checkpoint");
  if (!done.ok()) LogHousekeepingFailure(done.error());
}

SqliteEventStore::PendingEvent SqliteEventStore::MakeDropNotice(std::uint64_t seq,
                                                                const DropTally& tally) const {
  v1::Event notice =
      AgentNotice(clock_, v1::SEVERITY_WARNING, v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE,
                  kDropNoticeSubject, "");
  notice.set_seq(seq);
  notice.set_value(static_cast<double>(tally.count()));
  std::string why;
  if (tally.over_cap > 0) {
    why =
        fmt::format("{} to stay under the {}-byte buffer cap", tally.over_cap, options_.max_bytes);
  }
  if (tally.pending_overflow > 0) {
    if (!why.empty()) why += ", ";
    why += fmt::format(
        "{} past {} events waiting in memory (or {} bytes) while the disk refused writes",
        tally.pending_overflow, options_.max_pending_events, options_.max_pending_bytes);
  }
  notice.set_summary(fmt::format("event buffer dropped {} undelivered events, seq {} to {}: {}",
                                 tally.count(), tally.first_seq, tally.last_seq, why));
  for (const auto& [key, value] : {std::pair{"dropped.first_seq", tally.first_seq},
                                   std::pair{"dropped.last_seq", tally.last_seq},
                                   std::pair{"dropped.over_cap", tally.over_cap},
                                   std::pair{"dropped.pending_overflow", tally.pending_overflow},
                                   std::pair{"buffer.limit_bytes", options_.max_bytes}}) {
    v1::ContextEntry* entry = notice.add_context();
    entry->set_key(key);
    entry->set_value(std::to_string(value));
  }
  return ToPending(notice);
}

Result<std::vector<v1::Event>> SqliteEventStore::ReadAfter(std::uint64_t after_seq,
                                                           std::size_t max_events,
                                                           std::size_t max_bytes) {
  std::vector<v1::Event> events;
  if (max_events == 0) return events;
  platform::SqliteQuery query(database_, read_after_);
  query.BindInt64(1, AsInt64(after_seq)).BindInt64(2, AsInt64(max_events));
  std::size_t bytes = 0;
  while (true) {
    Result<bool> row = query.Step("reading events");
    if (!row.ok()) return row.error();
    if (!*row) break;
    const auto seq = static_cast<std::uint64_t>(query.ColumnInt64(0));
    const std::string_view payload = query.ColumnBlob(1);
    if (!events.empty() && bytes + payload.size() > max_bytes) break;
    v1::Event& event = events.emplace_back();
    if (!event.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
        event.seq() != seq) {
      return Error(
          ErrorCode::kCorrupt,
          fmt::format("{}: events: seq {}: the payload is not that event", database_.path(), seq));
    }
    bytes += payload.size();
  }
  return events;
}

Status SqliteEventStore::MarkDelivered(std::uint64_t seq) {
  seq = std::min(seq, committed_seq_);
  if (seq <= delivered_seq_) return OkStatus();
  std::uint64_t newly_delivered_rows = 0;
  {
    platform::SqliteQuery query(database_, count_between_);
    query.BindInt64(1, AsInt64(delivered_seq_)).BindInt64(2, AsInt64(seq));
    Result<bool> row = query.Step("marking delivered");
    if (!row.ok()) return row.error();
    newly_delivered_rows = static_cast<std::uint64_t>(query.ColumnInt64(0));
  }
  {
    platform::SqliteQuery query(database_, update_delivered_);
    query.BindInt64(1, AsInt64(seq));
    if (Status s = query.Run("marking delivered"); !s.ok()) return s;
  }
  {
    // A delivered transition needs no protection from the cap any more.
    platform::SqliteQuery query(database_, prune_latest_transitions_);
    query.BindInt64(1, AsInt64(seq));
    if (Status s = query.Run("marking delivered"); !s.ok()) return s;
  }
  delivered_seq_ = seq;
  stored_undelivered_rows_ -= newly_delivered_rows;
  RefreshOldestUndelivered();
  return OkStatus();
}

Status SqliteEventStore::RenewBufferId() {
  const std::string id = wire::NewBufferId();
  Status renewed = database_.Execute(
      fmt::format("UPDATE meta SET buffer_id = '{}', buffer_base_seq = {} WHERE id = 1", id,
                  AsInt64(delivered_seq_)),
      "renewing the buffer id");
  if (!renewed.ok()) return renewed;
  spdlog::warn("{}: buffer id {} renewed as {}; events above seq {} are sent under the new id",
               database_.path(), buffer_id_.empty() ? "(none)" : buffer_id_, id, delivered_seq_);
  buffer_id_ = id;
  buffer_base_seq_ = delivered_seq_;
  return OkStatus();
}

Status SqliteEventStore::SetAside(std::uint64_t seq, const std::string& reason) {
  const char* const what = "setting an event aside";
  Result<platform::SqliteTransaction> transaction =
      platform::SqliteTransaction::Begin(database_, what);
  if (!transaction.ok()) return transaction.error();
  std::string payload;
  {
    platform::SqliteQuery query(database_, select_event_);
    query.BindInt64(1, AsInt64(seq));
    Result<bool> row = query.Step(what);
    if (!row.ok()) return row.error();
    if (!*row) return OkStatus();  // dropped or never committed: nothing to set aside
    payload = std::string(query.ColumnBlob(0));
  }
  const std::string cut_reason = wire::SchemaText(reason, wire::kMaxContextValueBytes);
  {
    platform::SqliteQuery query(database_, insert_set_aside_);
    query.BindInt64(1, AsInt64(seq))
        .BindInt64(2, platform::UnixNanos(clock_.WallNow()))
        .BindText(3, cut_reason)
        .BindBlob(4, payload);
    if (Status s = query.Run(what); !s.ok()) return s;
  }
  {
    platform::SqliteQuery query(database_, delete_event_);
    query.BindInt64(1, AsInt64(seq));
    if (Status s = query.Run(what); !s.ok()) return s;
  }
  {
    platform::SqliteQuery query(database_, update_set_aside_total_);
    query.BindInt64(1, AsInt64(set_aside_total_ + 1));
    if (Status s = query.Run(what); !s.ok()) return s;
  }
  if (Status s = transaction->Commit(); !s.ok()) return s;
  ++set_aside_total_;
  --stored_rows_;
  if (seq > delivered_seq_) --stored_undelivered_rows_;
  stored_bytes_ -= payload.size() + kEventRowOverheadBytes;
  RefreshOldestUndelivered();

  v1::Event event;
  event.ParseFromString(payload);
  spdlog::error("{}: event seq {} ({}) set aside after repeated refusals: {}", database_.path(),
                seq, wire::ShortName(event.kind()), cut_reason);
  v1::Event notice = AgentNotice(
      clock_, v1::SEVERITY_WARNING, v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY,
      kDropNoticeSubject,
      wire::SchemaText(
          fmt::format(
              "event seq {} ({} {}) set aside: the collector refused it again and again: {}", seq,
              wire::ShortName(event.kind()), event.alert_key(), cut_reason),
          wire::kMaxSummaryBytes));
  notice.set_value(static_cast<double>(set_aside_total_));
  for (const auto& [key, value] : {std::pair{std::string("set_aside.seq"), std::to_string(seq)},
                                   std::pair{std::string("set_aside.alert_key"), event.alert_key()},
                                   std::pair{std::string("set_aside.reason"), cut_reason}}) {
    v1::ContextEntry* entry = notice.add_context();
    entry->set_key(key);
    entry->set_value(wire::SchemaText(value, wire::kMaxContextValueBytes));
  }
  Append(std::move(notice));
  return OkStatus();
}

void SqliteEventStore::RefreshOldestUndelivered() {
  platform::SqliteQuery query(database_, oldest_undelivered_);
  query.BindInt64(1, AsInt64(delivered_seq_));
  Result<bool> row = query.Step("finding the oldest undelivered event");
  if (!row.ok()) {
    spdlog::warn("{}", row.error().message());  // Stats() keeps the previous value
    return;
  }
  oldest_stored_undelivered_unix_ns_ =
      *row ? std::optional<std::int64_t>(query.ColumnInt64(0)) : std::nullopt;
  oldest_stored_undelivered_monotonic_ns_ = 0;
  oldest_stored_undelivered_boot_id_.clear();
  if (*row) {
    const std::string_view payload = query.ColumnBlob(1);
    if (v1::Event event; event.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      oldest_stored_undelivered_monotonic_ns_ = event.monotonic_ns();
      oldest_stored_undelivered_boot_id_ = event.boot_id();
    }
  }
}

std::uint64_t SqliteEventStore::pending_events() const {
  std::uint64_t count = 0;
  for (const auto& queue : pending_) count += queue.size();
  return count;
}

Status SqliteEventStore::TrackFiringAlert(const PendingEvent& event) {
  if (event.alert_key.empty()) return OkStatus();
  // A watched file's latest change notice holds its change rule's state (the
  // fingerprint): kept like a firing alert, so a restart compares with it.
  const bool change =
      event.state == v1::ALERT_STATE_NOTICE && event.kind == v1::ALERT_KIND_CONFIG_CHANGE;
  if (event.state == v1::ALERT_STATE_FIRING || event.state == v1::ALERT_STATE_RESOLVED || change) {
    platform::SqliteQuery query(database_, upsert_latest_transition_);
    query.BindText(1, event.alert_key).BindInt64(2, AsInt64(event.seq));
    if (Status s = query.Run("commit: latest transition"); !s.ok()) return s;
  }
  if (event.state == v1::ALERT_STATE_FIRING || change) {
    platform::SqliteQuery query(database_, upsert_firing_alert_);
    query.BindText(1, event.alert_key).BindInt64(2, AsInt64(event.seq)).BindBlob(3, event.payload);
    return query.Run("commit: firing alert");
  }
  if (event.state == v1::ALERT_STATE_RESOLVED) {
    platform::SqliteQuery query(database_, delete_firing_alert_);
    query.BindText(1, event.alert_key);
    return query.Run("commit: resolved alert");
  }
  return OkStatus();
}

Result<std::vector<v1::Event>> SqliteEventStore::FiringAlerts() {
  std::vector<v1::Event> firing;
  platform::SqliteQuery query(database_, select_firing_alerts_);
  for (;;) {
    Result<bool> row = query.Step("reading firing alerts");
    if (!row.ok()) return row.error();
    if (!*row) break;
    const std::string_view payload = query.ColumnBlob(0);
    if (!firing.emplace_back().ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return Error(ErrorCode::kCorrupt,
                   fmt::format("{}: firing_alerts: a payload does not parse", database_.path()));
    }
  }
  return firing;
}

Result<std::vector<BaselineHour>> SqliteEventStore::LoadThroughputBaseline() {
  std::vector<BaselineHour> hours;
  platform::SqliteQuery query(database_, select_baseline_);
  for (;;) {
    Result<bool> row = query.Step("reading the throughput baseline");
    if (!row.ok()) return row.error();
    if (!*row) break;
    BaselineHour& hour = hours.emplace_back();
    hour.hour_of_week = static_cast<int>(query.ColumnInt64(0));
    hour.weeks = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
        query.ColumnInt64(1), 0, std::numeric_limits<std::uint32_t>::max()));
    hour.mean_tps = query.ColumnDouble(2);
  }
  return hours;
}

Status SqliteEventStore::SaveThroughputBaselineHour(const BaselineHour& hour) {
  if (hour.hour_of_week < 0 || hour.hour_of_week >= BaselineHour::kHoursPerWeek ||
      !std::isfinite(hour.mean_tps)) {
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: throughput baseline: hour {} at {} tps is not an hour of the week",
                    database_.path(), hour.hour_of_week, hour.mean_tps));
  }
  // One statement: SQLite makes it its own transaction.
  platform::SqliteQuery query(database_, upsert_baseline_);
  query.BindInt64(1, hour.hour_of_week)
      .BindInt64(2, hour.weeks)
      .BindDouble(3, hour.mean_tps)
      .BindInt64(4, platform::UnixNanos(clock_.WallNow()));
  return query.Run("saving the throughput baseline");
}

EventStoreStats SqliteEventStore::Stats() const {
  EventStoreStats stats;
  stats.buffer_id = buffer_id_;
  stats.buffer_base_seq = buffer_base_seq_;
  stats.set_aside_total = set_aside_total_;
  stats.last_seq = last_seq_;
  stats.committed_seq = committed_seq_;
  stats.delivered_seq = delivered_seq_;
  stats.pending_events = pending_events();
  stats.backlog_events = stored_undelivered_rows_ + stats.pending_events;
  stats.stored_bytes = stored_bytes_;
  stats.limit_bytes = options_.max_bytes;
  stats.dropped_total = dropped_total_;
  stats.oldest_undelivered_unix_ns = oldest_stored_undelivered_unix_ns_;
  stats.oldest_undelivered_monotonic_ns = oldest_stored_undelivered_monotonic_ns_;
  stats.oldest_undelivered_boot_id = oldest_stored_undelivered_boot_id_;
  if (!stats.oldest_undelivered_unix_ns) {
    const PendingEvent* oldest = nullptr;
    for (const auto& queue : pending_) {
      if (!queue.empty() && (oldest == nullptr || queue.front().seq < oldest->seq)) {
        oldest = &queue.front();
      }
    }
    if (oldest != nullptr) {
      stats.oldest_undelivered_unix_ns = oldest->wall_time_unix_ns;
      if (v1::Event event;
          event.ParseFromArray(oldest->payload.data(), static_cast<int>(oldest->payload.size()))) {
        stats.oldest_undelivered_monotonic_ns = event.monotonic_ns();
        stats.oldest_undelivered_boot_id = event.boot_id();
      }
    }
  }
  stats.degraded = degraded_;
  return stats;
}

}  // namespace atmhealth::agent
