// The store executor's heartbeats, with a fake store whose thread the test
// blocks: coalesced per device, never refused for a full queue, answered only
// once the group that wrote them committed.
#include "collector/ingest/store_executor.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/ingest/ingest_metrics.h"
#include "tests/support/process.h"
#include "tests/support/sample_events.h"
#include "tests/unit/collector/ingest/fake_collector_store.h"
#include "tests/unit/collector/ingest/metric_value.h"

namespace atmhealth::collector {
namespace {

using testing::FakeCollectorStore;
using testing::MetricValue;
using namespace std::chrono_literals;

std::string Device(int i) { return "atm-" + std::to_string(1000 + i); }

// A heartbeat that says which one it was in its agent's last_seq.
v1::Heartbeat NumberedHeartbeat(std::uint64_t number) {
  v1::Heartbeat heartbeat = atmhealth::testing::SampleHeartbeat();
  heartbeat.mutable_health()->set_last_seq(number);
  return heartbeat;
}

class StoreExecutorTest : public ::testing::Test {
 protected:
  void Start() {
    executor_ = std::make_unique<StoreExecutor>(std::make_unique<FakeCollectorStore>(state_),
                                                options_, &metrics_);
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    state_->Release();
    if (executor_ != nullptr) executor_->Join();
    work_.reset();
    if (io_thread_.joinable()) io_thread_.join();
  }

  // A batch that blocks the store thread (the state is held): a commit in
  // flight. Its result lands in `batch_result_`.
  void BlockTheStoreThread() {
    state_->Hold();
    asio::co_spawn(
        io_,
        [this]() -> asio::awaitable<void> {
          v1::Event event;
          event.set_seq(1);
          std::string device = "atm-blocker";
          std::string buffer = "buffer";
          std::vector<v1::Event> events{event};
          Result<StoredBatch> stored = co_await executor_->StoreEvents(
              std::move(device), std::move(buffer), std::move(events), 1, 60s);
          std::lock_guard lock(mutex_);
          batch_result_ = stored.ok() ? OkStatus() : Status(stored.error());
        },
        asio::detached);
    ASSERT_TRUE(state_->WaitUntilHeld(5s));
  }

  // Records `number` as the heartbeat of `device`; its result is appended
  // to `results_` when its caller resumes.
  void SendHeartbeat(const std::string& device, std::uint64_t number,
                     std::chrono::milliseconds timeout = 60s) {
    asio::co_spawn(
        io_,
        [this, device, number, timeout]() -> asio::awaitable<void> {
          Status recorded =
              co_await executor_->RecordHeartbeat(device, NumberedHeartbeat(number), 1, timeout);
          std::lock_guard lock(mutex_);
          results_.push_back({device, number, recorded});
        },
        asio::detached);
  }

  struct Answer {
    std::string device;
    std::uint64_t number;
    Status status;
  };
  std::vector<Answer> Answers() {
    std::lock_guard lock(mutex_);
    return results_;
  }
  bool AnswersReach(std::size_t count) {
    return atmhealth::testing::WaitFor([&] { return Answers().size() >= count; }, 5s);
  }
  double Metric(const std::string& name) { return MetricValue(registry_, name); }
  bool MetricReaches(const std::string& name, double value) {
    return atmhealth::testing::WaitFor([&] { return Metric(name) == value; }, 5s);
  }

  prometheus::Registry registry_;
  IngestMetrics metrics_{registry_};
  std::shared_ptr<FakeCollectorStore::State> state_ = std::make_shared<FakeCollectorStore::State>();
  StoreExecutor::Options options_;
  std::unique_ptr<StoreExecutor> executor_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread io_thread_;
  std::mutex mutex_;
  std::vector<Answer> results_;
  std::optional<Status> batch_result_;
};

// An idle fleet of 10,000 TLS agents was not held: every heartbeat took a
// place in the store queue, heartbeats filled it while a commit ran, the
// ones beyond max_queued_calls were refused and their sessions closed, and
// each agent came back through a new handshake.
TEST_F(StoreExecutorTest, HeartbeatsOfMoreDevicesThanTheQueueHoldsAreCoalescedNotRefused) {
  options_.max_queued_calls = 4;
  Start();
  BlockTheStoreThread();
  constexpr int kDevices = 50;
  constexpr std::uint64_t kRounds = 3;
  for (std::uint64_t round = 1; round <= kRounds; ++round) {
    for (int i = 0; i < kDevices; ++i) SendHeartbeat(Device(i), round);
    // Each round has reached the executor before the next is sent, so the
    // last round is each device's latest state.
    ASSERT_TRUE(MetricReaches("atmhealth_collector_heartbeats_coalesced_total",
                              static_cast<double>((round - 1) * kDevices)));
    ASSERT_TRUE(atmhealth::testing::WaitFor(
        [&] { return executor_->pending_heartbeats() == kDevices; }, 5s));
  }
  EXPECT_EQ(executor_->queued_calls(), 0u) << "heartbeats take no place in the queue";
  EXPECT_EQ(Metric("atmhealth_collector_store_pending_heartbeats"), kDevices);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(Answers().empty()) << "nothing is answered before its commit";

  state_->Release();
  ASSERT_TRUE(AnswersReach(kDevices * kRounds));
  for (const Answer& answer : Answers()) {
    EXPECT_TRUE(answer.status.ok())
        << answer.device << " #" << answer.number << ": " << answer.status.error().message();
  }
  for (int i = 0; i < kDevices; ++i) {
    const std::vector<v1::Heartbeat> stored = state_->Heartbeats(Device(i));
    ASSERT_EQ(stored.size(), 1u) << Device(i) << ": only the latest state is written";
    EXPECT_EQ(stored[0].health().last_seq(), kRounds) << Device(i);
  }
  // The held batch alone, then every device's heartbeat in one group.
  EXPECT_EQ(state_->GroupSizes(), (std::vector<int>{1, kDevices}));
  EXPECT_EQ(Metric("atmhealth_collector_store_pending_heartbeats"), 0);
  std::lock_guard lock(mutex_);
  ASSERT_TRUE(batch_result_.has_value());
  EXPECT_TRUE(batch_result_->ok());
}

TEST_F(StoreExecutorTest, ANewerHeartbeatOfADeviceSupersedesTheOneWaitingAndAnswersBoth) {
  Start();
  BlockTheStoreThread();
  SendHeartbeat("atm-0412", 7);
  ASSERT_TRUE(
      atmhealth::testing::WaitFor([&] { return executor_->pending_heartbeats() == 1; }, 5s));
  SendHeartbeat("atm-0412", 8);  // a second session of the device, say
  ASSERT_TRUE(MetricReaches("atmhealth_collector_heartbeats_coalesced_total", 1));
  state_->Release();
  ASSERT_TRUE(AnswersReach(2));
  for (const Answer& answer : Answers()) EXPECT_TRUE(answer.status.ok()) << answer.number;
  const std::vector<v1::Heartbeat> stored = state_->Heartbeats("atm-0412");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].health().last_seq(), 8u);

  // A heartbeat at an idle store goes at once, alone.
  SendHeartbeat("atm-0412", 9);
  ASSERT_TRUE(AnswersReach(3));
  EXPECT_EQ(state_->Heartbeats("atm-0412").size(), 2u);
  EXPECT_EQ(state_->GroupSizes().back(), 1);
}

TEST_F(StoreExecutorTest, AFailedGroupFailsEveryHeartbeatWaitingForIt) {
  Start();
  BlockTheStoreThread();
  for (int i = 0; i < 3; ++i) SendHeartbeat(Device(i), 1);
  SendHeartbeat(Device(0), 2);
  ASSERT_TRUE(MetricReaches("atmhealth_collector_heartbeats_coalesced_total", 1));
  ASSERT_TRUE(
      atmhealth::testing::WaitFor([&] { return executor_->pending_heartbeats() == 3; }, 5s));
  // The held batch's group commits; the next, the heartbeats', fails at its
  // commit: the disk lost them, so no caller may hear they were recorded.
  state_->FailNextGroupCommit(Error(ErrorCode::kIo, "collector.db: disk I/O error"));
  state_->Release();
  ASSERT_TRUE(AnswersReach(4));
  for (const Answer& answer : Answers()) {
    ASSERT_FALSE(answer.status.ok()) << answer.device << " #" << answer.number;
    EXPECT_EQ(answer.status.error().code(), ErrorCode::kIo) << answer.device;
  }
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(state_->Heartbeats(Device(i)).empty()) << Device(i);
  EXPECT_FALSE(executor_->WriteHealth().ok()) << "a failed commit says the store cannot write";

  SendHeartbeat(Device(0), 3);
  ASSERT_TRUE(AnswersReach(5));
  EXPECT_TRUE(Answers().back().status.ok());
  ASSERT_EQ(state_->Heartbeats(Device(0)).size(), 1u);
  EXPECT_TRUE(executor_->WriteHealth().ok());
}

TEST_F(StoreExecutorTest, AHeartbeatWhoseCallersAllGaveUpIsSkippedOneStillWaitedForIsWritten) {
  Start();
  BlockTheStoreThread();
  SendHeartbeat("atm-0001", 1, 100ms);
  SendHeartbeat("atm-0002", 1);         // an older session of the device still waits ...
  SendHeartbeat("atm-0002", 2, 100ms);  // ... the newer one gives up
  ASSERT_TRUE(AnswersReach(2));
  for (const Answer& answer : Answers()) {
    ASSERT_FALSE(answer.status.ok());
    EXPECT_EQ(answer.status.error().code(), ErrorCode::kTimeout);
  }
  state_->Release();
  ASSERT_TRUE(AnswersReach(3));
  EXPECT_TRUE(Answers().back().status.ok());
  EXPECT_TRUE(MetricReaches("atmhealth_collector_store_calls_skipped_total", 2));
  EXPECT_TRUE(state_->Heartbeats("atm-0001").empty()) << "nobody waits for it: never written late";
  const std::vector<v1::Heartbeat> stored = state_->Heartbeats("atm-0002");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].health().last_seq(), 2u) << "the device's latest state";
}

TEST_F(StoreExecutorTest, JoinWritesTheHeartbeatsStillWaiting) {
  Start();
  BlockTheStoreThread();
  for (int i = 0; i < 5; ++i) SendHeartbeat(Device(i), 1);
  ASSERT_TRUE(
      atmhealth::testing::WaitFor([&] { return executor_->pending_heartbeats() == 5; }, 5s));
  std::thread release([this] {
    std::this_thread::sleep_for(50ms);
    state_->Release();
  });
  executor_->Join();
  release.join();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(state_->Heartbeats(Device(i)).size(), 1u) << Device(i);
  ASSERT_TRUE(AnswersReach(5));
  for (const Answer& answer : Answers()) EXPECT_TRUE(answer.status.ok()) << answer.device;
}

}  // namespace
}  // namespace atmhealth::collector
