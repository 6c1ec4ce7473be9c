// The collector's store in an embedded SQLite file: the default for a
// single collector. docs/collector-database.md documents the tables, so that
// operators can query them with plain SQL.
#ifndef ATMHEALTH_COLLECTOR_STORE_SQLITE_COLLECTOR_STORE_H_
#define ATMHEALTH_COLLECTOR_STORE_SQLITE_COLLECTOR_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/store/collector_store.h"
#include "collector/store/store_rows.h"
#include "platform/sqlite_database.h"

namespace atmhealth::collector {

struct SqliteCollectorStoreOptions {
  // How long a write waits for another connection (an operator's sqlite3
  // shell, a reporting job) to release the database before it fails with
  // kUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // bytes; after a checkpoint the write-ahead log is truncated back to this,
  // so one burst does not keep its disk space forever.
  std::int64_t wal_size_limit_bytes = 64 * 1024 * 1024;
  // A heartbeat is kept in heartbeat_history when the device's last row
  // there is older than this; 0: no history (the latest is always kept).
  std::chrono::milliseconds heartbeat_history{0};
};

// Every method runs in one transaction and returns only once it is durable
// (WAL, synchronous=FULL) or rolled back; inside a group, durable with the
// group's commit. Not thread-safe, like CollectorStore.
//
// A device and its buffer exist from their first Hello on: StoreEvents and
// RecordHeartbeat for a device (or buffer) that never said Hello fail with
// kNotFound and store nothing.
class SqliteCollectorStore final : public CollectorStore {
 public:
  static Result<std::unique_ptr<SqliteCollectorStore>> Open(
      const std::string& path, const SqliteCollectorStoreOptions& options);

  // kInvalidArgument when the device id is not 1..64 of [A-Za-z0-9._-].
  Result<std::uint64_t> RecordHello(const v1::Hello& hello, std::string_view peer,
                                    std::int64_t now_unix_ns) override;
  // kInvalidArgument, and nothing stored, when any seq is 0 or above the
  // largest SQLite integer (2^63 - 1).
  Result<StoredBatch> StoreEvents(std::string_view device_id, std::string_view buffer_id,
                                  const std::vector<v1::Event>& events,
                                  std::int64_t now_unix_ns) override;
  // Replaces the device's heartbeat row and its device_services rows with
  // what this heartbeat reports, and keeps a heartbeat_history row when the
  // device has none within the history's resolution; a service's
  // since_unix_ns changes only when its state does. kInvalidArgument when a service or its state is
  // unspecified.
  Status RecordHeartbeat(std::string_view device_id, const v1::Heartbeat& heartbeat,
                         std::int64_t now_unix_ns) override;
  // One transaction (BEGIN IMMEDIATE ... COMMIT) around the group; each
  // call in it is a savepoint.
  Status BeginGroup() override;
  Status CommitGroup() override;

 private:
  explicit SqliteCollectorStore(platform::SqliteDatabase database)
      : database_(std::move(database)) {}
  Status PrepareStatements();
  // A run of consecutive events of one alert in one state, in one batch:
  // its row changes as by the run's first event, with the last one's seq
  // and severity.
  struct PendingAlert {
    std::string alert_key;
    std::string state;
    std::string severity;  // of the last event
    std::int64_t since_seq = 0;
    std::int64_t since_wall_time_unix_ns = 0;
    std::int64_t last_seq = 0;
  };
  // Runs of different alerts open at once at most; beyond, an event's
  // alert is upserted by itself.
  static constexpr std::size_t kMaxPendingAlerts = 64;

  // True if stored now, false if stored before. Needs insert_what_ and
  // alert_what_ set for the batch; `late`: below an event stored before it.
  // Its alert change joins pending_alerts_, which StoreEvents upserts at
  // the end of the batch.
  Result<bool> InsertEvent(std::string_view device_id, std::string_view buffer_id,
                           const v1::Event& event, std::int64_t now_unix_ns, bool late);
  Status UpsertAlert(std::string_view device_id, std::string_view buffer_id,
                     const PendingAlert& run, std::int64_t now_unix_ns);
  // `what_` made "<prefix><seq>" for the messages of one event's statement.
  std::string_view EventWhat(std::string_view prefix, std::int64_t seq);

  // Declared first so that it is destroyed last, after the statements.
  platform::SqliteDatabase database_;
  std::int64_t heartbeat_history_ns_ = 0;  // SqliteCollectorStoreOptions::heartbeat_history
  platform::SqliteStatement upsert_device_;
  platform::SqliteStatement upsert_buffer_;
  platform::SqliteStatement set_device_seq_;
  platform::SqliteStatement select_buffer_seq_;
  platform::SqliteStatement advance_buffer_seq_;
  platform::SqliteStatement touch_device_seq_;
  platform::SqliteStatement touch_device_;
  platform::SqliteStatement insert_event_;
  platform::SqliteStatement upsert_alert_;
  platform::SqliteStatement replace_heartbeat_;
  platform::SqliteStatement keep_heartbeat_history_;
  platform::SqliteStatement upsert_service_;
  platform::SqliteStatement delete_unreported_services_;
  // Reused for every event so that storing one allocates nothing once the
  // strings have grown to the size of the events.
  EventColumns columns_;
  std::vector<PendingAlert> pending_alerts_;  // of the batch being stored
  std::string what_;
  std::string insert_what_;  // 'store batch of "<device>": insert seq ' of the batch
  std::string alert_what_;   // 'store batch of "<device>": update alert of seq '
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_SQLITE_COLLECTOR_STORE_H_
