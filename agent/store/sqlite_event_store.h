// The EventStore on SQLite: one WAL-mode file, group commit, a byte cap that
// drops delivered history first and alerts last, and a full disk handled by
// holding events in memory until it has room again.
//
// Schema (PRAGMA user_version 1):
//   events(seq INTEGER PRIMARY KEY, severity, kind, state, wall_time_unix_ns,
//          payload BLOB)   payload is the serialized v1::Event; severity is
//                          its drop class: 1 info (also unspecified values),
//                          2 warning, 3 critical (also anything above)
//   meta(last_seq, delivered_seq, dropped_total, buffer_id, buffer_base_seq,
//        set_aside_total)   exactly one row
//   firing_alerts(alert_key, seq, payload)   the latest firing event per alert
//   latest_transitions(alert_key, seq)   the latest undelivered firing or
//                          resolved event per alert key: never dropped
//   set_aside(seq, set_aside_unix_ns, reason, payload)   events the collector
//                          refused again and again
//   throughput_baseline(hour_of_week, weeks, mean_tps, updated_unix_ns)   the
//                          usual transaction rate of each hour of the week
//                          (version 4), at most 168 rows
#ifndef ATMHEALTH_AGENT_STORE_SQLITE_EVENT_STORE_H_
#define ATMHEALTH_AGENT_STORE_SQLITE_EVENT_STORE_H_

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/store/event_store.h"
#include "platform/disk_reserve.h"
#include "platform/repeated_condition.h"
#include "platform/sqlite_database.h"

namespace atmhealth::agent {

// The schema version this code writes, kept in PRAGMA user_version.
inline constexpr int kEventStoreSchemaVersion = 4;
// What one stored row costs besides its payload (the other columns, the
// b-tree cell and the severity index entry), bytes. Counted in stored_bytes.
inline constexpr std::uint64_t kEventRowOverheadBytes = 64;
// The smallest max_bytes accepted: room for a few events and a drop notice.
inline constexpr std::uint64_t kEventStoreMinBytes = 16 * 1024;

class SqliteEventStore final : public EventStore {
 public:
  static Result<std::unique_ptr<SqliteEventStore>> Open(const EventStoreOptions& options,
                                                        platform::Clock& clock);

  std::uint64_t Append(v1::Event event) override;
  Status Commit() override;
  Result<std::vector<v1::Event>> ReadAfter(std::uint64_t after_seq, std::size_t max_events,
                                           std::size_t max_bytes) override;
  Status MarkDelivered(std::uint64_t seq) override;
  Status RenewBufferId() override;
  Status SetAside(std::uint64_t seq, const std::string& reason) override;
  Result<std::vector<v1::Event>> FiringAlerts() override;
  Result<std::vector<BaselineHour>> LoadThroughputBaseline() override;
  Status SaveThroughputBaselineHour(const BaselineHour& hour) override;
  EventStoreStats Stats() const override;

 private:
  // Which events go first when something must be dropped, lowest first:
  // 0 info (and unspecified), 1 warning, 2 critical (and anything above).
  static constexpr int kDropClasses = 3;

  // An appended event waiting for the next Commit.
  struct PendingEvent {
    std::uint64_t seq = 0;
    int drop_class = 0;  // stored in the severity column as drop_class + 1
    int kind = 0;
    int state = 0;
    std::int64_t wall_time_unix_ns = 0;
    std::string alert_key;  // empty for events that belong to no alert
    std::string payload;    // serialized v1::Event, seq included
    std::uint64_t stored_bytes() const { return payload.size() + kEventRowOverheadBytes; }
  };

  // Undelivered events dropped but not yet written down in a drop notice.
  struct DropTally {
    std::uint64_t over_cap = 0;          // evicted to stay under max_bytes
    std::uint64_t pending_overflow = 0;  // dropped past max_pending_events
    std::uint64_t first_seq = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t last_seq = 0;
    std::uint64_t count() const { return over_cap + pending_overflow; }
    void Add(std::uint64_t seq) {
      first_seq = std::min(first_seq, seq);
      last_seq = std::max(last_seq, seq);
    }
  };

  // What one commit deletes and drops to stay under max_bytes. Computed
  // inside the commit's transaction and applied to memory only once the
  // transaction is durable.
  struct CapEviction {
    std::uint64_t delivered_through = 0;  // delivered rows with seq <= this go; 0: none
    std::uint64_t delivered_rows = 0;
    std::uint64_t delivered_bytes = 0;
    // Undelivered stored rows that go. The latest transition of an alert
    // key never does: a dropped resolve would leave the alert firing at the
    // collector forever.
    std::vector<std::uint64_t> undelivered_seqs;
    std::uint64_t undelivered_rows = 0;
    std::uint64_t undelivered_bytes = 0;
    // Pending events that are dropped, by seq.
    std::set<std::uint64_t> pending_dropped;
    DropTally tally;  // the undelivered ones, stored or pending
  };

  SqliteEventStore(const EventStoreOptions& options, platform::Clock& clock,
                   platform::SqliteDatabase database);
  static PendingEvent ToPending(const v1::Event& event);

  // Open steps, in order.
  Status CheckFile();
  Status EnableWal();
  Status Migrate();
  Status PrepareStatements();
  Status LoadState();

  // One attempt at writing everything queued, in one transaction.
  Status WriteQueued();
  Result<CapEviction> PlanCapEviction();
  Status DeleteEvicted(const CapEviction& eviction);
  // On a full disk: deletes delivered rows and gives their pages back to the
  // filesystem, so that the retry has room. True if anything was deleted.
  bool ReclaimDeliveredHistory();
  Status DeleteOldestDelivered(std::size_t max_rows);
  // Gives free pages beyond `kept_pages` back to the filesystem.
  void ReleaseFreePages(std::int64_t kept_pages);
  // PRAGMA wal_checkpoint(mode); a failure is logged, nothing more.
  void Checkpoint(const char* mode);
  // Logs a failure of the disk-full housekeeping, once a minute at most.
  void LogHousekeepingFailure(const Error& error);
  // Holds the disk reserve again if there is room; quiet when there is not.
  void TakeReserve();
  void DropOnePendingEvent();
  // Keeps firing_alerts in step with a committed event; in its transaction.
  Status TrackFiringAlert(const PendingEvent& event);
  PendingEvent MakeDropNotice(std::uint64_t seq, const DropTally& tally) const;
  void RefreshOldestUndelivered();
  void LogDrops(const DropTally& drops, std::uint64_t notice_seq);
  std::uint64_t pending_events() const;

  EventStoreOptions options_;
  platform::Clock& clock_;
  platform::SqliteDatabase database_;
  std::int64_t page_size_ = 4096;

  // Declared after database_ so that they are finalized before it closes.
  platform::SqliteStatement insert_event_;
  platform::SqliteStatement update_meta_;
  platform::SqliteStatement update_delivered_;

  platform::SqliteStatement read_after_;
  platform::SqliteStatement select_delivered_;
  platform::SqliteStatement select_undelivered_of_class_;
  platform::SqliteStatement delete_delivered_;
  platform::SqliteStatement delete_event_;
  platform::SqliteStatement upsert_latest_transition_;
  platform::SqliteStatement prune_latest_transitions_;
  platform::SqliteStatement select_event_;
  platform::SqliteStatement insert_set_aside_;
  platform::SqliteStatement update_set_aside_total_;
  platform::SqliteStatement count_between_;
  platform::SqliteStatement oldest_undelivered_;
  platform::SqliteStatement freelist_count_;
  platform::SqliteStatement upsert_firing_alert_;
  platform::SqliteStatement delete_firing_alert_;
  platform::SqliteStatement select_firing_alerts_;
  platform::SqliteStatement select_baseline_;
  platform::SqliteStatement upsert_baseline_;

  std::string buffer_id_;
  std::uint64_t buffer_base_seq_ = 0;
  std::uint64_t set_aside_total_ = 0;
  bool sequence_exhausted_logged_ = false;
  std::uint64_t last_seq_ = 0;       // highest assigned; persisted at each commit
  std::uint64_t committed_seq_ = 0;  // every seq up to here is stored or was dropped
  std::uint64_t delivered_seq_ = 0;
  std::uint64_t dropped_total_ = 0;  // includes pending drops not yet persisted
  std::uint64_t stored_rows_ = 0;
  std::uint64_t stored_undelivered_rows_ = 0;
  std::uint64_t stored_bytes_ = 0;  // payloads plus kEventRowOverheadBytes per row
  std::optional<std::int64_t> oldest_stored_undelivered_unix_ns_;
  std::int64_t oldest_stored_undelivered_monotonic_ns_ = 0;
  std::string oldest_stored_undelivered_boot_id_;

  // Appended, not yet committed: one queue per drop class, each in seq order.
  std::array<std::deque<PendingEvent>, kDropClasses> pending_;
  std::uint64_t pending_bytes_ = 0;
  DropTally unrecorded_drops_;  // dropped from pending_, awaiting their notice
  bool degraded_ = false;
  platform::RepeatedCondition drop_log_;  // drops: logged once a minute at most
  // Room held on the buffer's disk, given back when a commit finds the disk
  // full (see platform/disk_reserve.h), taken again once there is room.
  platform::DiskReserve reserve_;
  platform::RepeatedCondition reserve_releases_;
  // Commits that fail, and the disk-full housekeeping that fails with them:
  // logged when they start, summarised once a minute, and when they end.
  platform::RepeatedCondition commit_failures_;
  platform::RepeatedCondition housekeeping_failures_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_STORE_SQLITE_EVENT_STORE_H_
