// The agent's event buffer read from outside the daemon, for atmhealthctl:
// the SQLite file opened read-only (never created, migrated or written), so
// it can be read while the daemon runs, after it stopped and after it
// crashed. Every read is one short statement (a page of rows) in its own
// read transaction, so a reader never holds a snapshot that would stop the
// daemon's WAL checkpoints.
//
// The schema is the one agent/store/sqlite_event_store.h writes; this reads
// the events table (payload: the serialized v1::Event) and meta.delivered_seq.
#ifndef ATMHEALTH_TOOLS_CTL_EVENT_HISTORY_H_
#define ATMHEALTH_TOOLS_CTL_EVENT_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "atmhealth/v1/event.pb.h"
#include "platform/sqlite_database.h"
#include "platform/status.h"

namespace atmhealth::ctl {

// Which events to show. Unset fields match everything.
struct EventFilter {
  std::optional<std::int64_t> since_unix_ns;  // wall time at detection, inclusive
  std::optional<std::int64_t> until_unix_ns;  // inclusive
  // This severity and above (a warning filter shows warnings and criticals).
  std::optional<v1::Severity> min_severity;
  std::vector<v1::AlertKind> kinds;  // any of these
  std::optional<v1::AlertState> state;
  std::string alert_key;  // exactly this "<kind>:<subject>"

  bool Matches(const v1::Event& event) const;
};

struct StoredEvent {
  v1::Event event;
  bool delivered = false;  // the collector acknowledged it
};

// What the buffer holds, for a diagnostic bundle. Read in a few short
// statements, so the numbers may be a commit apart while the daemon writes.
struct BufferSummary {
  std::int64_t schema_version = 0;  // PRAGMA user_version of the file
  std::uint64_t events = 0;         // rows in the events table
  std::uint64_t first_seq = 0;      // 0 when empty
  std::uint64_t last_seq = 0;
  std::uint64_t delivered_seq = 0;  // the collector acknowledged up to here
  std::int64_t oldest_unix_ns = 0;  // detection wall time of first_seq; 0 when empty
  std::int64_t newest_unix_ns = 0;  // of last_seq
};

class EventHistory {
 public:
  // Rows read per statement: small enough that a page is a short read.
  static constexpr std::size_t kPageRows = 256;

  // Opens the buffer at `path`: kNotFound when there is none, kUnavailable
  // when the file is still empty (the daemon is creating it), kCorrupt when
  // it is not an atmhealth event buffer, kInvalidArgument when its schema is
  // newer than this program knows.
  static Result<EventHistory> Open(const std::string& path);

  // Matching events with seq > `after_seq`, oldest first, at most
  // `max_events` (0: no limit).
  Result<std::vector<StoredEvent>> After(std::uint64_t after_seq, const EventFilter& filter,
                                         std::size_t max_events);
  // The `count` newest matching events, oldest first.
  Result<std::vector<StoredEvent>> Last(std::size_t count, const EventFilter& filter);
  // The highest sequence stored now (0 when empty): where `tail` starts.
  Result<std::uint64_t> LastSeq();
  // Matching events newest first, one page of rows in memory at a time,
  // until `visit` returns false or the oldest was visited.
  Status NewestFirst(const EventFilter& filter, const std::function<bool(StoredEvent&)>& visit);
  Result<BufferSummary> Summary();

  const std::string& path() const { return database_.path(); }

 private:
  explicit EventHistory(platform::SqliteDatabase database) : database_(std::move(database)) {}
  Status CheckSchema();
  Status Prepare();
  // One page of rows after (ascending) or before (descending) `seq`,
  // appended to `out` when they match. Returns how many rows were read and
  // the last seq read.
  struct PageEnd {
    std::size_t rows = 0;
    std::uint64_t last_seq = 0;
  };
  Result<PageEnd> ReadPage(platform::SqliteStatement& statement, std::uint64_t seq,
                           const EventFilter& filter, std::vector<StoredEvent>& out);

  platform::SqliteDatabase database_;
  // Declared after database_ so that they are finalized before it closes.
  platform::SqliteStatement page_after_;
  platform::SqliteStatement page_before_;
};

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_EVENT_HISTORY_H_
