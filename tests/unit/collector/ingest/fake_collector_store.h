// A CollectorStore in memory for the ingest tests, with the faults the tests
// inject: a store call that blocks until the test releases it, and a store
// that fails. The test keeps the shared State to look inside and steer it
// while the StoreExecutor owns the store.
#ifndef ATMHEALTH_TESTS_UNIT_COLLECTOR_INGEST_FAKE_COLLECTOR_STORE_H_
#define ATMHEALTH_TESTS_UNIT_COLLECTOR_INGEST_FAKE_COLLECTOR_STORE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/store/collector_store.h"

namespace atmhealth::collector::testing {

class FakeCollectorStore : public CollectorStore {
 public:
  // Thread-safe: the store thread writes it, the test thread reads it.
  class State {
   public:
    // Pretends `seq` is stored for `device_id`.
    void Preload(const std::string& device_id, std::uint64_t seq);
    // StoreEvents calls wait from now on until Release().
    void Hold();
    void Release();
    // Waits until a StoreEvents call is blocked by Hold().
    bool WaitUntilHeld(std::chrono::milliseconds timeout);
    // Every store call fails with `error` from now on.
    void FailWith(Error error);
    // The next group to begin fails at its commit with `error`, and what its
    // calls stored (events, heartbeats) is taken back.
    void FailNextGroupCommit(Error error);
    // Calls of each group committed or failed so far, in order.
    std::vector<int> GroupSizes() const;

    std::vector<std::uint64_t> StoredSeqs(const std::string& device_id) const;
    std::vector<v1::Hello> Hellos() const;
    std::vector<std::string> HelloPeers() const;
    std::vector<v1::Heartbeat> Heartbeats(const std::string& device_id) const;
    int store_events_returned() const;
    std::optional<std::thread::id> store_thread() const;

   private:
    friend class FakeCollectorStore;
    std::uint64_t HighestLocked(const std::string& device_id) const;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, std::map<std::uint64_t, v1::Event>> events_;
    std::vector<v1::Hello> hellos_;
    std::vector<std::string> hello_peers_;
    std::map<std::string, std::vector<v1::Heartbeat>> heartbeats_;
    bool hold_ = false;
    int held_calls_ = 0;
    int store_events_returned_ = 0;
    std::optional<Error> failure_;
    std::optional<Error> next_group_failure_;
    std::optional<std::thread::id> store_thread_;
    // The open group: the events before it (restored when its commit
    // fails), its calls, and the failure it will meet.
    std::map<std::string, std::map<std::uint64_t, v1::Event>> events_before_group_;
    std::map<std::string, std::vector<v1::Heartbeat>> heartbeats_before_group_;
    int group_calls_ = 0;
    std::optional<Error> group_failure_;
    std::vector<int> group_sizes_;
  };

  explicit FakeCollectorStore(std::shared_ptr<State> state) : state_(std::move(state)) {}

  Result<std::uint64_t> RecordHello(const v1::Hello& hello, std::string_view peer,
                                    std::int64_t now_unix_ns) override;
  // Keyed by device only: the ingest tests use one buffer per device.
  Result<StoredBatch> StoreEvents(std::string_view device_id, std::string_view buffer_id,
                                  const std::vector<v1::Event>& events,
                                  std::int64_t now_unix_ns) override;
  Status RecordHeartbeat(std::string_view device_id, const v1::Heartbeat& heartbeat,
                         std::int64_t now_unix_ns) override;
  Status BeginGroup() override;
  Status CommitGroup() override;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace atmhealth::collector::testing

#endif  // ATMHEALTH_TESTS_UNIT_COLLECTOR_INGEST_FAKE_COLLECTOR_STORE_H_
