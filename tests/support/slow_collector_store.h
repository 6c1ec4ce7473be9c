// Fault injection by wrapping the real thing: a CollectorStore on a disk
// whose sync takes `delay` longer. A disk slows each durable commit, not
// each statement: inside a group (BeginGroup .. CommitGroup, one
// transaction for the calls of many sessions) the delay is paid once, at
// CommitGroup; a call made outside a group commits by itself and pays it
// itself. Everything else is the wrapped store's, groups included.
#ifndef ATMHEALTH_TESTS_SUPPORT_SLOW_COLLECTOR_STORE_H_
#define ATMHEALTH_TESTS_SUPPORT_SLOW_COLLECTOR_STORE_H_

#include <chrono>
#include <memory>
#include <thread>
#include <utility>

#include "collector/store/collector_store.h"

namespace atmhealth::testing {

class SlowCollectorStore : public collector::CollectorStore {
 public:
  SlowCollectorStore(std::unique_ptr<collector::CollectorStore> store,
                     std::chrono::microseconds delay)
      : store_(std::move(store)), delay_(delay) {}

  Result<std::uint64_t> RecordHello(const v1::Hello& hello, std::string_view peer,
                                    std::int64_t now_unix_ns) override {
    SyncUnlessGrouped();
    return store_->RecordHello(hello, peer, now_unix_ns);
  }
  Result<collector::StoredBatch> StoreEvents(std::string_view device_id, std::string_view buffer_id,
                                             const std::vector<v1::Event>& events,
                                             std::int64_t now_unix_ns) override {
    SyncUnlessGrouped();
    return store_->StoreEvents(device_id, buffer_id, events, now_unix_ns);
  }
  Status RecordHeartbeat(std::string_view device_id, const v1::Heartbeat& heartbeat,
                         std::int64_t now_unix_ns) override {
    SyncUnlessGrouped();
    return store_->RecordHeartbeat(device_id, heartbeat, now_unix_ns);
  }

  Status BeginGroup() override {
    Status begun = store_->BeginGroup();
    in_group_ = begun.ok();
    return begun;
  }
  Status CommitGroup() override {
    in_group_ = false;
    std::this_thread::sleep_for(delay_);  // the group's one sync
    return store_->CommitGroup();
  }

 private:
  void SyncUnlessGrouped() const {
    if (!in_group_) std::this_thread::sleep_for(delay_);
  }

  std::unique_ptr<collector::CollectorStore> store_;
  std::chrono::microseconds delay_;
  bool in_group_ = false;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_SLOW_COLLECTOR_STORE_H_
