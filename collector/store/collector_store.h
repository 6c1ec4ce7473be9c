// Where the collector keeps what agents send: devices, events (exactly once
// per device and sequence) and heartbeats. SQLite embedded by default;
// PostgreSQL for fleets sits behind the same interface.
#ifndef ATMHEALTH_COLLECTOR_STORE_COLLECTOR_STORE_H_
#define ATMHEALTH_COLLECTOR_STORE_COLLECTOR_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "atmhealth/v1/event.pb.h"
#include "atmhealth/v1/session.pb.h"
#include "platform/status.h"

namespace atmhealth::collector {

// Not thread-safe: the ingest layer calls it from its one store thread.
class CollectorStore {
 public:
  virtual ~CollectorStore() = default;

  // Opens or creates a SQLite database at `path` (WAL, synchronous=FULL so an
  // acknowledged event survives power loss), migrating its schema.
  static Result<std::unique_ptr<CollectorStore>> OpenSqlite(const std::string& path);

  // Records a device saying Hello: creates it or updates its site, kind,
  // agent version and peer address. Returns the highest sequence stored for
  // it (0 when none).
  virtual Result<std::uint64_t> RecordHello(const v1::Hello& hello, std::string_view peer,
                                            std::int64_t now_unix_ns) = 0;

  // Stores the events of one batch in one transaction, each at most once
  // (unique on device and seq: a resent event is ignored), and updates the
  // device's last-seen time. Returns the highest sequence stored for the device
  // once the transaction is durable: the value to acknowledge.
  virtual Result<std::uint64_t> StoreEvents(std::string_view device_id,
                                            const std::vector<v1::Event>& events,
                                            std::int64_t now_unix_ns) = 0;

  // Records a heartbeat: the device's service states, the agent's health, and
  // last-seen time.
  virtual Status RecordHeartbeat(std::string_view device_id, const v1::Heartbeat& heartbeat,
                                 std::int64_t now_unix_ns) = 0;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_COLLECTOR_STORE_H_
