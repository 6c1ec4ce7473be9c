// The collector's store in PostgreSQL: for fleets, where several collectors
// behind one address share one database. Same interface, same tables and
// same meaning as the SQLite store (docs/collector-database.md,
// docs/collector-postgresql.md); what both check and compute for a message
// is shared (collector/store/store_rows.h).
//
// Exactly once per (device, buffer, seq) is the events table's primary key
// (INSERT ... ON CONFLICT DO NOTHING), so it holds whichever collector
// stores a batch, and when two store the same one at once. A batch is a few
// statements whatever its size (its rows go as arrays), a heartbeat and a
// Hello one each: a statement is a round trip to the server. A batch locks its
// buffer's row (SELECT ... FOR UPDATE) for its transaction, so the batches
// of one buffer are stored one after another even from two collectors, and
// what a batch counts as new, resent or late is exact.
//
// A transaction that moves an alert NOTIFYs the other collectors
// (collector/store/pg_change_listener.h), whose live streams then show it.
//
// Group commit as in SQLite: one transaction from BeginGroup to CommitGroup,
// each call a savepoint in it. The connection comes back after the server
// restarts (collector/store/pg_connection.h); while it cannot, every call
// fails with kUnavailable and nothing is acknowledged.
#ifndef ATMHEALTH_COLLECTOR_STORE_PG_COLLECTOR_STORE_H_
#define ATMHEALTH_COLLECTOR_STORE_PG_COLLECTOR_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collector/store/collector_store.h"
#include "collector/store/pg_connection.h"

namespace atmhealth::collector {

struct PgCollectorStoreOptions {
  PgConnectionOptions connection;
  // As SqliteCollectorStoreOptions::heartbeat_history.
  std::chrono::milliseconds heartbeat_history{0};
};

class PgCollectorStore final : public CollectorStore {
 public:
  // Connects and migrates the schema; kUnavailable when the server cannot
  // be reached (the collector does not start without its database).
  static Result<std::unique_ptr<CollectorStore>> Open(const PgCollectorStoreOptions& options);

  Result<std::uint64_t> RecordHello(const v1::Hello& hello, std::string_view peer,
                                    std::int64_t now_unix_ns) override;
  Result<StoredBatch> StoreEvents(std::string_view device_id, std::string_view buffer_id,
                                  const std::vector<v1::Event>& events,
                                  std::int64_t now_unix_ns) override;
  Status RecordHeartbeat(std::string_view device_id, const v1::Heartbeat& heartbeat,
                         std::int64_t now_unix_ns) override;
  Status BeginGroup() override;
  Status CommitGroup() override;

  ~PgCollectorStore() override;

 private:
  explicit PgCollectorStore(const PgCollectorStoreOptions& options);

  // Runs `body(transaction)` as one unit: a savepoint of the open group, or
  // a transaction of its own outside a group. A body that returns an error
  // takes back its own work only.
  template <typename T, typename Body>
  Result<T> InUnit(std::string_view what, Body body);
  PgConnection connection_;
  std::int64_t heartbeat_history_ns_ = 0;
  // The open group's transaction; null outside a group, and after the
  // connection broke inside one (group_lost_ then says so).
  std::unique_ptr<pqxx::work> group_;
  bool group_lost_ = false;
  std::uint64_t savepoints_ = 0;  // names the savepoints of a group
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_PG_COLLECTOR_STORE_H_
