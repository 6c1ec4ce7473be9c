#include "tools/ctl/event_history.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "agent/store/sqlite_event_store.h"

namespace atmhealth::ctl {
namespace {

// How long a read waits while the daemon rebuilds the WAL index (after its
// own crash, say); readers are otherwise never blocked by the writer.
constexpr std::chrono::milliseconds kBusyTimeout{2000};

// The filters SQL can apply from the indexed columns; the rest is checked on
// the decoded event. ?1 the seq bound, ?2/?3 the time range, ?4 the lowest
// severity (the column holds the drop class: 1 info, 2 warning, 3 critical),
// ?5 the state or 0, ?6 the page size.
constexpr char kSelectColumns[] =
    "SELECT seq, payload, seq <= (SELECT delivered_seq FROM meta) FROM events "
    "WHERE wall_time_unix_ns BETWEEN ?2 AND ?3 AND severity >= ?4 AND (?5 = 0 OR state = ?5) ";

}  // namespace

bool EventFilter::Matches(const v1::Event& event) const {
  if (since_unix_ns && event.wall_time_unix_ns() < *since_unix_ns) return false;
  if (until_unix_ns && event.wall_time_unix_ns() > *until_unix_ns) return false;
  if (min_severity && event.severity() < *min_severity) return false;
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), event.kind()) == kinds.end()) {
    return false;
  }
  if (state && event.state() != *state) return false;
  if (!alert_key.empty() && event.alert_key() != alert_key) return false;
  return true;
}

Result<EventHistory> EventHistory::Open(const std::string& path) {
  Result<platform::SqliteDatabase> database =
      platform::SqliteDatabase::OpenReadOnly(path, kBusyTimeout);
  if (!database.ok()) {
    if (database.error().code() == ErrorCode::kNotFound) {
      return Error(ErrorCode::kNotFound,
                   fmt::format("{}: no event buffer there (is [store] path right?)", path));
    }
    return database.error();
  }
  EventHistory history(std::move(database).value());
  if (Status s = history.CheckSchema(); !s.ok()) return s.error();
  if (Status s = history.Prepare(); !s.ok()) return s.error();
  return history;
}

Status EventHistory::CheckSchema() {
  // Plain reads, as the daemon does: an I/O error is an error code, not SIGBUS.
  if (Status s = database_.Execute("PRAGMA mmap_size = 0", "open"); !s.ok()) return s;
  Result<std::int64_t> version = database_.QueryInt64("PRAGMA user_version", "schema version");
  if (!version.ok()) return version.error();
  if (*version == 0) {
    Result<std::int64_t> tables =
        database_.QueryInt64("SELECT count(*) FROM sqlite_master", "schema version");
    if (!tables.ok()) return tables.error();
    // The daemon makes the file, then its schema: between the two, or when
    // it could not finish, the file is empty.
    if (*tables == 0) {
      return Error(ErrorCode::kUnavailable,
                   fmt::format("{}: the buffer has no schema yet (atmhealthd is creating it, or "
                               "stopped before it could); no events to show",
                               path()));
    }
    return Error(ErrorCode::kCorrupt,
                 fmt::format("{}: not an atmhealth event buffer (no schema version)", path()));
  }
  if (*version > agent::kEventStoreSchemaVersion) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: schema version {} is newer than this atmhealthctl's {}; use "
                             "the atmhealthctl of the agent that wrote it",
                             path(), *version, agent::kEventStoreSchemaVersion));
  }
  return OkStatus();
}

Status EventHistory::Prepare() {
  Result<platform::SqliteStatement> after = database_.Prepare(
      std::string(kSelectColumns) + "AND seq > ?1 ORDER BY seq LIMIT ?6", "read events");
  if (!after.ok()) return after.error();
  page_after_ = std::move(after).value();
  Result<platform::SqliteStatement> before = database_.Prepare(
      std::string(kSelectColumns) + "AND seq < ?1 ORDER BY seq DESC LIMIT ?6", "read events");
  if (!before.ok()) return before.error();
  page_before_ = std::move(before).value();
  return OkStatus();
}

Result<EventHistory::PageEnd> EventHistory::ReadPage(platform::SqliteStatement& statement,
                                                     std::uint64_t seq, const EventFilter& filter,
                                                     std::vector<StoredEvent>& out) {
  // One statement, one implicit read transaction, ended (the statement
  // reset) when `query` goes out of scope.
  platform::SqliteQuery query(database_, statement);
  query
      .BindInt64(1, static_cast<std::int64_t>(
                        std::min<std::uint64_t>(seq, std::numeric_limits<std::int64_t>::max())))
      .BindInt64(2, filter.since_unix_ns.value_or(std::numeric_limits<std::int64_t>::min()))
      .BindInt64(3, filter.until_unix_ns.value_or(std::numeric_limits<std::int64_t>::max()))
      .BindInt64(4, filter.min_severity.value_or(v1::SEVERITY_UNSPECIFIED))
      .BindInt64(5, filter.state.value_or(v1::ALERT_STATE_UNSPECIFIED))
      .BindInt64(6, static_cast<std::int64_t>(kPageRows));
  PageEnd end;
  while (true) {
    Result<bool> row = query.Step("read events");
    if (!row.ok()) return row.error();
    if (!*row) break;
    ++end.rows;
    end.last_seq = static_cast<std::uint64_t>(query.ColumnInt64(0));
    const std::string_view payload = query.ColumnBlob(1);
    StoredEvent stored;
    if (!stored.event.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return Error(ErrorCode::kCorrupt,
                   fmt::format("{}: event {}: payload does not decode", path(), end.last_seq));
    }
    stored.delivered = query.ColumnInt64(2) != 0;
    if (filter.Matches(stored.event)) out.push_back(std::move(stored));
  }
  return end;
}

Result<std::vector<StoredEvent>> EventHistory::After(std::uint64_t after_seq,
                                                     const EventFilter& filter,
                                                     std::size_t max_events) {
  std::vector<StoredEvent> events;
  std::uint64_t seq = after_seq;
  while (max_events == 0 || events.size() < max_events) {
    Result<PageEnd> page = ReadPage(page_after_, seq, filter, events);
    if (!page.ok()) return page.error();
    if (page->rows == 0) break;
    seq = page->last_seq;
  }
  if (max_events != 0 && events.size() > max_events) events.resize(max_events);
  return events;
}

Result<std::vector<StoredEvent>> EventHistory::Last(std::size_t count, const EventFilter& filter) {
  std::vector<StoredEvent> newest_first;
  std::uint64_t seq = std::numeric_limits<std::int64_t>::max();
  while (newest_first.size() < count) {
    Result<PageEnd> page = ReadPage(page_before_, seq, filter, newest_first);
    if (!page.ok()) return page.error();
    if (page->rows == 0) break;
    seq = page->last_seq;
  }
  if (newest_first.size() > count) newest_first.resize(count);
  std::reverse(newest_first.begin(), newest_first.end());
  return newest_first;
}

Status EventHistory::NewestFirst(const EventFilter& filter,
                                 const std::function<bool(StoredEvent&)>& visit) {
  std::uint64_t seq = std::numeric_limits<std::int64_t>::max();
  std::vector<StoredEvent> page;
  while (true) {
    page.clear();
    Result<PageEnd> end = ReadPage(page_before_, seq, filter, page);
    if (!end.ok()) return end.error();
    if (end->rows == 0) return OkStatus();
    seq = end->last_seq;
    for (StoredEvent& stored : page) {
      if (!visit(stored)) return OkStatus();
    }
  }
}

Result<BufferSummary> EventHistory::Summary() {
  BufferSummary summary;
  struct Query {
    const char* sql;
    std::int64_t* target;
  };
  std::int64_t events = 0, first = 0, last = 0, delivered = 0;
  for (const Query& query : {
           Query{"PRAGMA user_version", &summary.schema_version},
           Query{"SELECT count(*) FROM events", &events},
           Query{"SELECT coalesce(min(seq), 0) FROM events", &first},
           Query{"SELECT coalesce(max(seq), 0) FROM events", &last},
           Query{"SELECT delivered_seq FROM meta", &delivered},
           Query{"SELECT coalesce((SELECT wall_time_unix_ns FROM events ORDER BY seq LIMIT 1), 0)",
                 &summary.oldest_unix_ns},
           Query{
               "SELECT coalesce((SELECT wall_time_unix_ns FROM events ORDER BY seq DESC LIMIT 1), "
               "0)",
               &summary.newest_unix_ns},
       }) {
    Result<std::int64_t> value = database_.QueryInt64(query.sql, "buffer summary");
    if (!value.ok()) return value.error();
    *query.target = *value;
  }
  summary.events = static_cast<std::uint64_t>(events);
  summary.first_seq = static_cast<std::uint64_t>(first);
  summary.last_seq = static_cast<std::uint64_t>(last);
  summary.delivered_seq = static_cast<std::uint64_t>(delivered);
  return summary;
}

Result<std::uint64_t> EventHistory::LastSeq() {
  Result<std::int64_t> seq =
      database_.QueryInt64("SELECT coalesce(max(seq), 0) FROM events", "read events");
  if (!seq.ok()) return seq.error();
  return static_cast<std::uint64_t>(*seq);
}

}  // namespace atmhealth::ctl
