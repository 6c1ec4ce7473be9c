// The agent's event buffer: every event the agent records, kept in SQLite
// until the collector has acknowledged it, surviving kill -9, power loss and
// a full disk.
#ifndef ATMHEALTH_AGENT_STORE_EVENT_STORE_H_
#define ATMHEALTH_AGENT_STORE_EVENT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/store/throughput_baseline.h"
#include "atmhealth/v1/event.pb.h"
#include "platform/clock.h"
#include "platform/status.h"

namespace atmhealth::agent {

struct EventStoreOptions {
  std::string path;                            // SQLite file; its directory must exist
  std::uint64_t max_bytes = 64 * 1024 * 1024;  // cap of the stored events, bytes
  // Events held in memory while the disk cannot take them (disk full, I/O
  // error). Past this, the lowest-severity pending events are dropped first
  // and the drop is recorded.
  std::size_t max_pending_events = 10000;
  // The same wait bounded by memory, bytes (serialized events and their row
  // overhead): whichever limit is reached first applies. One event always
  // stays, however large.
  std::uint64_t max_pending_bytes = 8 * 1024 * 1024;
  // Room held on the buffer's disk in "<path>.reserve", bytes, beyond
  // max_bytes: given back when a commit finds the disk full, so that the
  // store can delete delivered events and commit again, and taken again once
  // the disk has room. 0: none.
  std::uint64_t disk_reserve_bytes = 1024 * 1024;
};

struct EventStoreStats {
  // The buffer's random id (Hello.buffer_id): 32 hex digits, made with the
  // file; empty for a buffer created before buffer ids existed.
  std::string buffer_id;
  // Events up to this seq were delivered under an earlier id of this file
  // (see RenewBufferId); 0 for a buffer that kept its first id.
  std::uint64_t buffer_base_seq = 0;
  std::uint64_t set_aside_total = 0;  // events set aside (SetAside) since the buffer was created
  std::uint64_t last_seq = 0;         // highest sequence assigned (committed or pending)
  std::uint64_t committed_seq = 0;    // highest sequence durably stored
  std::uint64_t delivered_seq = 0;    // highest sequence the collector acknowledged
  std::uint64_t backlog_events = 0;   // stored or pending events above delivered_seq
  std::uint64_t stored_bytes = 0;     // bytes of stored events (payload and row overhead)
  std::uint64_t limit_bytes = 0;      // the configured cap
  std::uint64_t pending_events = 0;   // events waiting for the next commit
  std::uint64_t dropped_total = 0;    // events dropped since the store was created
  // The oldest undelivered event's detection time: wall clock, and the
  // monotonic clock (0: unknown) of the boot it names (empty: unknown), by
  // which its age is measured in this boot (see UndeliveredAgeMs).
  std::optional<std::int64_t> oldest_undelivered_unix_ns;
  std::int64_t oldest_undelivered_monotonic_ns = 0;
  std::string oldest_undelivered_boot_id;
  bool degraded = false;  // the last commit failed; events wait in memory
};

// Not thread-safe: owned by one thread (the agent's store thread or a test).
// It also keeps, in the same file, the throughput watcher's baseline
// (ThroughputBaselineStore): one file, one owner.
class EventStore : public ThroughputBaselineStore {
 public:
  virtual ~EventStore() = default;

  // Opens or creates the store, in WAL mode, checking its integrity. The
  // sequence continues from the highest ever assigned, even if every row was
  // deleted since.
  static Result<std::unique_ptr<EventStore>> Open(const EventStoreOptions& options,
                                                  platform::Clock& clock);

  // Assigns the next sequence to `event` and queues it for the next Commit
  // (group commit). Returns the sequence. Never fails: when the disk refuses,
  // events wait in memory, bounded by max_pending_events and
  // max_pending_bytes.
  virtual std::uint64_t Append(v1::Event event) = 0;

  // Writes every queued event in one transaction. On failure (kNoSpace, kIo)
  // the events stay queued, the store is marked degraded, and the next Commit
  // retries; when over max_bytes, delivered events are deleted first, then the
  // lowest severities, alerts last, and each drop is itself recorded as an
  // ALERT_KIND_AGENT_HEALTH notice.
  virtual Status Commit() = 0;

  // Committed events with seq > after_seq, in order, at most max_events and
  // about max_bytes of payload (always at least one event if any).
  virtual Result<std::vector<v1::Event>> ReadAfter(std::uint64_t after_seq, std::size_t max_events,
                                                   std::size_t max_bytes) = 0;

  // The collector stored every event up to and including `seq`. The mark
  // never goes back; a lower seq is ignored.
  virtual Status MarkDelivered(std::uint64_t seq) = 0;

  // Gives the buffer a new random id, persisted, for when the collector
  // holds more of this buffer's id than the file ever committed: the file
  // was restored from an older copy, and under the old id its next events
  // would be taken for ones already stored. Events keep their sequences;
  // those up to delivered_seq were delivered under the old id and are not
  // sent again (Stats().buffer_base_seq).
  virtual Status RenewBufferId() = 0;

  // Takes the committed event `seq` out of the events to send, because the
  // collector refused it again and again: it moves to the set_aside table
  // with `reason`, set_aside_total grows, and an ALERT_KIND_AGENT_HEALTH
  // notice saying so is appended. Nothing happens if `seq` is not stored.
  virtual Status SetAside(std::uint64_t seq, const std::string& reason) = 0;

  // The latest firing event of every alert still firing according to the
  // committed events, in seq order: a restarted agent starts its rules from
  // these, so an alert that fired before a crash resolves once its condition
  // clears. Kept apart from the events, so eviction does not forget them.
  // With them, the latest config_change notice of every watched file: its
  // fingerprint is what the file's change rule compares with after a
  // restart.
  virtual Result<std::vector<v1::Event>> FiringAlerts() = 0;

  virtual EventStoreStats Stats() const = 0;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_STORE_EVENT_STORE_H_
