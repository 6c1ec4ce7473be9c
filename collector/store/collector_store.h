// Where the collector keeps what agents send: devices, their event buffers,
// events (exactly once per device, buffer and sequence) and heartbeats. SQLite embedded by default;
// PostgreSQL for fleets sits behind the same interface.
#ifndef ATMHEALTH_COLLECTOR_STORE_COLLECTOR_STORE_H_
#define ATMHEALTH_COLLECTOR_STORE_COLLECTOR_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "atmhealth/v1/event.pb.h"
#include "atmhealth/v1/session.pb.h"
#include "platform/status.h"

namespace atmhealth::collector {

// A sequence range that never arrived: the buffer's events first..last
// (inclusive) were skipped over by a later one.
struct SequenceGap {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

// What storing one batch did.
struct StoredBatch {
  // Highest sequence stored for the device and buffer once the transaction
  // is durable: the value to acknowledge.
  std::uint64_t last_stored_seq = 0;
  std::uint64_t inserted = 0;    // events stored by this batch
  std::uint64_t duplicates = 0;  // events stored before (resent): not stored again
  std::uint64_t late = 0;        // of `inserted`, events below the highest stored: gap fillers
  std::uint64_t gap_ranges = 0;  // gaps this batch opened
  std::uint64_t gap_events = 0;  // sequences skipped over by this batch, in all gaps
  // The gaps this batch opened, the first kMaxReportedGaps of them.
  std::vector<SequenceGap> gaps;
  static constexpr std::size_t kMaxReportedGaps = 8;

  // Accounts one event of the batch, in batch order, starting from
  // last_stored_seq = the buffer's highest stored seq before the batch:
  // an event above it + 1 opens a gap, one below it fills one.
  void Count(std::uint64_t seq, bool inserted_now) {
    if (!inserted_now) {
      ++duplicates;
      return;
    }
    ++inserted;
    if (seq < last_stored_seq) {
      ++late;
      return;
    }
    if (seq > last_stored_seq + 1) {
      ++gap_ranges;
      gap_events += seq - last_stored_seq - 1;
      if (gaps.size() < kMaxReportedGaps) gaps.push_back({last_stored_seq + 1, seq - 1});
    }
    last_stored_seq = seq;
  }
};

// Not thread-safe: the ingest layer calls it from its one store thread.
class CollectorStore {
 public:
  virtual ~CollectorStore() = default;

  // Opens or creates a SQLite database at `path` (WAL, synchronous=FULL so an
  // acknowledged event survives power loss), migrating its schema. A device's
  // heartbeat goes into the history when its last one there is older than
  // `heartbeat_history` (0: no history; [store] heartbeat_history).
  static Result<std::unique_ptr<CollectorStore>> OpenSqlite(
      const std::string& path, std::chrono::milliseconds heartbeat_history = {});

  // Records a device saying Hello: creates it or updates its site, kind,
  // agent version, peer address and current buffer (hello.buffer_id), and
  // creates or updates that buffer. Returns the highest sequence stored for
  // the device and that buffer (0 when none).
  virtual Result<std::uint64_t> RecordHello(const v1::Hello& hello, std::string_view peer,
                                            std::int64_t now_unix_ns) = 0;

  // Stores the events of one batch of the device's buffer `buffer_id` in one
  // transaction, each at most once (unique on device, buffer and seq: a
  // resent event is ignored), and updates the device's last-seen time.
  virtual Result<StoredBatch> StoreEvents(std::string_view device_id, std::string_view buffer_id,
                                          const std::vector<v1::Event>& events,
                                          std::int64_t now_unix_ns) = 0;

  // Records a heartbeat: the device's service states, the agent's health, and
  // last-seen time.
  virtual Status RecordHeartbeat(std::string_view device_id, const v1::Heartbeat& heartbeat,
                                 std::int64_t now_unix_ns) = 0;

  // Group commit: the calls made between BeginGroup and CommitGroup share
  // one durable commit. Each call still succeeds or fails as a whole on its
  // own (a refused batch takes back only its own work), but nothing of the
  // group is durable before CommitGroup returns OK; when it fails, nothing
  // of the group is stored. A store without groups commits every call by
  // itself, as these defaults say.
  virtual Status BeginGroup() { return OkStatus(); }
  virtual Status CommitGroup() { return OkStatus(); }
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_COLLECTOR_STORE_H_
