// The agent's uplink against a scripted collector (tests/support/
// fake_collector.h) on 127.0.0.1, with a real SQLite EventStore behind a real
// StoreThread. Each test checks what a user would notice: which events the
// collector received, in which order and how often, and what the agent's
// buffer marks delivered.
#include "agent/uplink/uplink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/store/event_store.h"
#include "agent/store_thread.h"
#include "platform/clock.h"
#include "tests/support/fake_collector.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"
#include "tests/unit/agent/store/event_store_test_support.h"
#include "tests/unit/agent/store/forwarding_event_store.h"

namespace atmhealth::agent {
namespace {

using namespace std::chrono_literals;
using ::atmhealth::agent::testing::OpenOrFail;
using ::atmhealth::agent::testing::OptionsAt;
using ::atmhealth::testing::FakeCollector;
using ::atmhealth::testing::SampleEvent;
using ::atmhealth::testing::Service;
using Record = FakeCollector::Record;
using Clock = std::chrono::steady_clock;
using Seqs = std::vector<std::uint64_t>;

constexpr std::chrono::milliseconds kWait{10000};

// Polls `condition` until it holds or `timeout` passes: for state on the
// agent's side, which has nothing to wait on.
template <typename Condition>
bool Eventually(Condition condition, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

Seqs Range(std::uint64_t first, std::uint64_t last) {
  Seqs seqs;
  for (std::uint64_t seq = first; seq <= last; ++seq) seqs.push_back(seq);
  return seqs;
}

// Alert n is about "/data/n", so the collector side can tell which event
// arrived under which sequence.
std::string Subject(std::uint64_t n) { return "/data/" + std::to_string(n); }

std::vector<Clock::time_point> HelloTimes(const Record& record) {
  std::vector<Clock::time_point> times;
  for (const auto& frame : record.frames) {
    if (frame.message.has_hello()) times.push_back(frame.received_at);
  }
  return times;
}

// A port on 127.0.0.1 with nothing listening: connecting is refused at once.
std::uint16_t UnusedPort() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

class UplinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto collector = FakeCollector::Start();
    ASSERT_TRUE(collector.ok()) << collector.error().message();
    collector_ = std::move(collector).value();
    auto store = OpenOrFail(OptionsAt(scratch_ / "events.db"), platform::Clock::Real());
    ASSERT_NE(store, nullptr);
    store_ = std::make_unique<StoreThread>(std::move(store));
    store_->set_commit_delay(20ms);
  }

  void TearDown() override {
    if (uplink_ != nullptr && !run_returned_) {
      uplink_->Stop(0ms);
      EXPECT_TRUE(WaitForRun(kWait)) << "Run() did not return after Stop(0)";
    }
    io_.stop();
    if (thread_.joinable()) thread_.join();
    // The store thread calls into the uplink (on_commit): end it first.
    store_.reset();
  }

  // Short intervals so every test runs in well under a second or two.
  UplinkConfig Config() const {
    UplinkConfig config;
    config.collectors = {{"127.0.0.1", collector_->port()}};
    config.plaintext = true;
    config.connect_timeout = 2000ms;
    config.io_timeout = 3000ms;
    config.heartbeat_interval = 200ms;
    config.backoff_initial = 20ms;
    config.backoff_max = 100ms;
    config.batch_events = 3;
    config.window_batches = 4;
    return config;
  }

  static v1::DeviceIdentity Device() {
    v1::DeviceIdentity device;
    device.set_device_id("atm-0412");
    device.set_site_id("shinjuku");
    device.set_kind(v1::DEVICE_KIND_ATM);
    return device;
  }

  void StartUplink(UplinkConfig config) {
    uplink_ = std::make_unique<Uplink>(io_.get_executor(), std::move(config), Device(), *store_,
                                       [this] { return Services(); });
    // Wired the way the daemon wires it: every commit wakes the uplink.
    store_->set_on_commit([uplink = uplink_.get()](const Status& status, const EventStoreStats&) {
      if (status.ok()) uplink->NotifyCommitted();
    });
    run_future_ = run_promise_.get_future();
    asio::co_spawn(io_, uplink_->Run(), [this](std::exception_ptr error) {
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "Run() threw: " << e.what();
        }
      }
      run_promise_.set_value();
    });
    thread_ = std::thread([this] { io_.run(); });
  }

  // Whether Run() returned within `timeout`.
  bool WaitForRun(std::chrono::milliseconds timeout) {
    if (!run_future_.valid()) return false;
    run_returned_ = run_future_.wait_for(timeout) == std::future_status::ready;
    return run_returned_;
  }

  // Returns once everything posted to the uplink's executor so far has run
  // (Stop, NotifyCommitted).
  void SyncWithUplink() {
    std::promise<void> done;
    asio::post(io_, [&done] { done.set_value(); });
    done.get_future().wait();
  }

  // Appends alerts about /data/first.. /data/last and commits them; on a
  // fresh buffer they get sequences first..last.
  void AppendAlerts(std::uint64_t first, std::uint64_t last) {
    std::vector<v1::Event> events;
    for (std::uint64_t n = first; n <= last; ++n) {
      events.push_back(SampleEvent(v1::SEVERITY_WARNING, Subject(n)));
    }
    store_->Append(std::move(events));
    const Status committed = store_->CommitNow();
    ASSERT_TRUE(committed.ok()) << committed.error().message();
  }

  EventStoreStats Stats() {
    return store_->RunNow([](EventStore& store) { return store.Stats(); });
  }

  bool WaitForDelivered(std::uint64_t seq) {
    return Eventually([&] { return Stats().delivered_seq >= seq; });
  }

  std::vector<v1::ServiceStatus> Services() {
    std::lock_guard lock(services_mutex_);
    return services_;
  }
  void SetServices(std::vector<v1::ServiceStatus> services) {
    std::lock_guard lock(services_mutex_);
    services_ = std::move(services);
  }

  const UplinkCounters& counters() const { return uplink_->counters(); }

  atmhealth::testing::ScratchDir scratch_;
  std::unique_ptr<FakeCollector> collector_;
  std::unique_ptr<StoreThread> store_;
  std::mutex services_mutex_;
  std::vector<v1::ServiceStatus> services_;
  asio::io_context io_;
  std::unique_ptr<Uplink> uplink_;
  std::promise<void> run_promise_;
  std::future<void> run_future_;
  bool run_returned_ = false;
  std::thread thread_;
};

TEST_F(UplinkTest, HelloNamesTheDeviceAndOnlyEventsAboveWelcomeAreSentAndAcked) {
  AppendAlerts(1, 5);
  collector_->PretendStored(2);  // the collector already holds 1 and 2
  collector_->HoldBatches(true);
  UplinkConfig config = Config();
  config.batch_events = 2;
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.held_batches == 2; }));
  Record record = collector_->record();
  ASSERT_EQ(record.Hellos().size(), 1u);
  const v1::Hello hello = record.Hellos()[0];
  EXPECT_EQ(hello.device().device_id(), "atm-0412");
  EXPECT_EQ(hello.device().site_id(), "shinjuku");
  EXPECT_EQ(hello.device().kind(), v1::DEVICE_KIND_ATM);
  EXPECT_EQ(hello.protocol_version(), v1::PROTOCOL_VERSION_1);
  EXPECT_EQ(hello.agent_version(), ATMHEALTH_VERSION);
  EXPECT_EQ(hello.agent_last_seq(), 5u);

  // Exactly what the collector lacks, in order, batch_events at a time.
  EXPECT_EQ(record.Batches(), (std::vector<Seqs>{{3, 4}, {5}}));
  for (const v1::Event& event : record.Events()) EXPECT_EQ(event.subject(), Subject(event.seq()));
  // Delivered is what the collector said it stores, not what is in flight.
  EXPECT_EQ(Stats().delivered_seq, 2u);

  collector_->ReleaseBatches(1);
  ASSERT_TRUE(WaitForDelivered(4));
  // A heartbeat round later the unacknowledged batch is still not delivered.
  const std::size_t heartbeats = collector_->record().Heartbeats().size();
  ASSERT_TRUE(collector_->WaitUntil(
      [&](const Record& r) { return r.Heartbeats().size() >= heartbeats + 1; }));
  EXPECT_EQ(Stats().delivered_seq, 4u);
  EXPECT_EQ(Stats().backlog_events, 1u);

  collector_->ReleaseBatches();
  ASSERT_TRUE(WaitForDelivered(5));
  EXPECT_EQ(Stats().backlog_events, 0u);
  record = collector_->record();
  EXPECT_EQ(record.ReceivedSeqs(), Range(3, 5)) << "nothing is sent twice on a healthy session";
  EXPECT_EQ(counters().connects, 1u);
  // Counted just after the store marked them delivered.
  EXPECT_TRUE(Eventually([&] { return counters().events_acked == 3; })) << counters().events_acked;
}

TEST_F(UplinkTest, EventsCommittedWhileConnectedAreStreamedInOrder) {
  StartUplink(Config());
  ASSERT_TRUE(Eventually([&] { return counters().connected.load(); }));

  AppendAlerts(1, 4);
  AppendAlerts(5, 7);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 7; }));
  ASSERT_TRUE(WaitForDelivered(7));
  const Record record = collector_->record();
  EXPECT_EQ(record.ReceivedSeqs(), Range(1, 7));
  EXPECT_EQ(record.stored_seqs, Range(1, 7));
  for (const v1::Event& event : record.Events()) EXPECT_EQ(event.subject(), Subject(event.seq()));
  for (const Seqs& batch : record.Batches()) EXPECT_LE(batch.size(), 3u);
}

TEST_F(UplinkTest, NoMoreThanWindowBatchesAreInFlight) {
  collector_->HoldBatches(true);
  AppendAlerts(1, 12);
  UplinkConfig config = Config();
  config.window_batches = 2;
  config.batch_events = 3;
  config.heartbeat_interval = 50ms;
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.held_batches == 2; }));
  // The agent's loop goes round at every heartbeat: three of them with a full
  // window and still no third batch.
  std::size_t heartbeats = collector_->record().Heartbeats().size();
  ASSERT_TRUE(collector_->WaitUntil(
      [&](const Record& r) { return r.Heartbeats().size() >= heartbeats + 3; }));
  EXPECT_EQ(collector_->record().Batches(), (std::vector<Seqs>{{1, 2, 3}, {4, 5, 6}}));

  // One Ack frees one slot: exactly one more batch goes.
  collector_->ReleaseBatches(1);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.Batches().size() == 3; }));
  heartbeats = collector_->record().Heartbeats().size();
  ASSERT_TRUE(collector_->WaitUntil(
      [&](const Record& r) { return r.Heartbeats().size() >= heartbeats + 3; }));
  Record record = collector_->record();
  EXPECT_EQ(record.Batches(), (std::vector<Seqs>{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}));
  EXPECT_EQ(record.held_batches, 2u);
  EXPECT_EQ(Stats().delivered_seq, 3u);

  collector_->HoldBatches(false);
  collector_->ReleaseBatches();
  ASSERT_TRUE(WaitForDelivered(12));
  record = collector_->record();
  EXPECT_EQ(record.ReceivedSeqs(), Range(1, 12));
  EXPECT_EQ(record.stored_seqs, Range(1, 12));
}

TEST_F(UplinkTest, AnAckThatNeverComesEndsTheSessionAndTheEventsAreSentAgain) {
  collector_->HoldBatches(true);
  AppendAlerts(1, 5);
  UplinkConfig config = Config();
  config.io_timeout = 300ms;
  config.heartbeat_interval = 100ms;
  config.batch_events = 2;
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.held_batches == 3; }));
  collector_->HoldBatches(false);  // the next session is acknowledged

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 5; }));
  ASSERT_TRUE(WaitForDelivered(5));
  const Record record = collector_->record();
  EXPECT_EQ(record.ReceivedSeqs(1), Range(1, 5));
  EXPECT_EQ(record.ReceivedSeqs(2), Range(1, 5)) << "every unacknowledged event, again, in order";
  EXPECT_EQ(record.stored_seqs, Range(1, 5));
  // The agent gave up because of io_timeout, not at once: the second Hello
  // came about io_timeout after the first batch.
  const auto hellos = HelloTimes(record);
  ASSERT_GE(hellos.size(), 2u);
  Clock::time_point first_batch{};
  for (const auto& frame : record.frames) {
    if (frame.connection == 1 && frame.message.has_batch()) {
      first_batch = frame.received_at;
      break;
    }
  }
  EXPECT_GE(hellos[1] - first_batch, config.io_timeout / 2);
  EXPECT_GE(counters().connects, 2u);
}

TEST_F(UplinkTest, ACollectorThatClosesIsReconnectedAfterBackoffAndNothingIsLost) {
  collector_->HoldBatches(true);
  AppendAlerts(1, 4);
  UplinkConfig config = Config();
  config.backoff_initial = 100ms;
  config.backoff_max = 400ms;
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.held_batches == 2; }));
  collector_->HoldBatches(false);
  const auto closed_at = Clock::now();
  collector_->CloseConnection();  // both batches in flight, never stored

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 4; }));
  ASSERT_TRUE(WaitForDelivered(4));
  Record record = collector_->record();
  EXPECT_EQ(record.connections, 2);
  EXPECT_EQ(record.ReceivedSeqs(2), Range(1, 4));
  const auto hellos = HelloTimes(record);
  ASSERT_EQ(hellos.size(), 2u);
  EXPECT_GE(hellos[1] - closed_at, config.backoff_initial / 2) << "reconnected without backoff";
  EXPECT_EQ(counters().connects, 2u);
  EXPECT_EQ(counters().refusals, 0u);

  // The new session carries on with new events.
  AppendAlerts(5, 6);
  ASSERT_TRUE(WaitForDelivered(6));
  record = collector_->record();
  EXPECT_EQ(record.stored_seqs, Range(1, 6));
  EXPECT_EQ(record.ReceivedSeqs(2), Range(1, 6));
}

TEST_F(UplinkTest, ARefusalMidSessionIsCountedAndNothingIsLost) {
  collector_->HoldBatches(true);
  AppendAlerts(1, 3);
  StartUplink(Config());

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.held_batches == 1; }));
  collector_->HoldBatches(false);
  collector_->Refuse(v1::Refusal::REASON_STORE_UNAVAILABLE);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 3; }));
  ASSERT_TRUE(WaitForDelivered(3));
  const Record record = collector_->record();
  EXPECT_EQ(record.stored_seqs, Range(1, 3));
  EXPECT_EQ(record.ReceivedSeqs(2), Range(1, 3));
  EXPECT_EQ(counters().refusals, 1u);
  EXPECT_EQ(counters().connects, 2u);
}

TEST_F(UplinkTest, RefusedHellosAreRetriedWithGrowingBackoff) {
  collector_->RefuseHellos(v1::Refusal::REASON_OVERLOADED);
  AppendAlerts(1, 2);
  UplinkConfig config = Config();
  config.backoff_initial = 40ms;
  config.backoff_max = 160ms;
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.Hellos().size() >= 5; }));
  collector_->RefuseHellos(std::nullopt);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 2; }));
  ASSERT_TRUE(WaitForDelivered(2));

  const Record record = collector_->record();
  const auto hellos = HelloTimes(record);
  ASSERT_GE(hellos.size(), 5u);
  // Attempt i waits at least half its ceiling, min(initial * 2^i, max).
  const std::chrono::milliseconds floors[] = {20ms, 40ms, 80ms, 80ms};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GE(hellos[i + 1] - hellos[i], floors[i]) << "attempt " << i;
  }
  EXPECT_EQ(counters().refusals, record.refusals_sent.size());
  EXPECT_GE(counters().refusals, 4u);
  EXPECT_GE(counters().connect_failures, counters().refusals.load());
  EXPECT_EQ(counters().connects, 1u);
  EXPECT_EQ(record.stored_seqs, Range(1, 2));
}

TEST_F(UplinkTest, AnOverloadedCollectorsRetryHintIsHonouredAndHelloAnnouncesTheWelcomeWait) {
  // The backoff alone would retry within 100 ms; the hint says 400 ms.
  collector_->RefuseHellos(v1::Refusal::REASON_OVERLOADED, 400ms);
  AppendAlerts(1, 2);
  StartUplink(Config());

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.Hellos().size() >= 3; }));
  collector_->RefuseHellos(std::nullopt);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 2; }));
  ASSERT_TRUE(WaitForDelivered(2));

  const Record record = collector_->record();
  const auto hellos = HelloTimes(record);
  ASSERT_GE(hellos.size(), 3u);
  EXPECT_GE(hellos[1] - hellos[0], 400ms);
  EXPECT_GE(hellos[2] - hellos[1], 400ms);
  EXPECT_EQ(record.Hellos().at(0).welcome_timeout_ms(), 3000u) << "Config().io_timeout";
  EXPECT_EQ(record.stored_seqs, Range(1, 2));
}

// A buffer restored from an older copy: the collector holds more under its
// id than it ever committed. Regression: the agent renumbered its events
// above the collector's and discarded whether that worked, so a failure
// marked unsent events delivered. Now the buffer takes a new id, and every
// event arrives under it with its own sequence.
TEST_F(UplinkTest, RestoredBufferTakesANewIdAndEveryEventArrives) {
  AppendAlerts(1, 2);
  const std::string first_id = Stats().buffer_id;
  collector_->PretendStored(100);
  StartUplink(Config());

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 2; }));
  ASSERT_TRUE(WaitForDelivered(2));
  const Record record = collector_->record();
  EXPECT_EQ(record.stored_seqs, Range(1, 2));
  EXPECT_EQ(record.buffers, 2);
  ASSERT_GE(record.Hellos().size(), 2u);
  EXPECT_EQ(record.Hellos().front().buffer_id(), first_id);
  EXPECT_NE(record.Hellos().back().buffer_id(), first_id);
  EXPECT_EQ(Stats().buffer_id, record.Hellos().back().buffer_id());
  const auto events = record.Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].subject(), Subject(1));
}

// The real store, except that renewing the buffer id fails the first time
// (a disk error at the worst moment).
class RenewFailsOnce final : public testing::ForwardingEventStore {
 public:
  using ForwardingEventStore::ForwardingEventStore;
  Status RenewBufferId() override {
    if (!failed_) {
      failed_ = true;
      return Error(ErrorCode::kIo, "events.db: renewing the buffer id: disk I/O error");
    }
    return real().RenewBufferId();
  }

 private:
  bool failed_ = false;
};

// Regression: the Welcome's store calls had their results discarded: a
// failed step let the session go on and mark unsent events delivered.
TEST_F(UplinkTest, FailedStoreStepAtWelcomeMarksNothingDeliveredAndIsRetried) {
  store_.reset();
  auto real = OpenOrFail(OptionsAt(scratch_ / "events.db"), platform::Clock::Real());
  ASSERT_NE(real, nullptr);
  store_ = std::make_unique<StoreThread>(std::make_unique<RenewFailsOnce>(std::move(real)));
  store_->set_commit_delay(20ms);
  AppendAlerts(1, 3);
  collector_->PretendStored(100);
  StartUplink(Config());

  // The first renewal fails: that session ends with nothing delivered.
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.Hellos().size() >= 2; }));
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 3; }));
  ASSERT_TRUE(WaitForDelivered(3));
  const Record record = collector_->record();
  EXPECT_EQ(record.stored_seqs, Range(1, 3));
  EXPECT_EQ(record.Hellos().front().buffer_id(), record.Hellos().at(1).buffer_id())
      << "the failed renewal changed nothing";
}

// Holds every MarkDelivered of an acknowledged event (seq > 0) until
// Open(), as a buffer on a disk slow to sync, and records the marks.
class MarksWaitForTheDisk final : public testing::ForwardingEventStore {
 public:
  using ForwardingEventStore::ForwardingEventStore;
  Status MarkDelivered(std::uint64_t seq) override {
    if (seq > 0) {
      std::unique_lock lock(mutex_);
      marks_.push_back(seq);
      open_changed_.wait(lock, [this] { return open_; });
    }
    return real().MarkDelivered(seq);
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    open_changed_.notify_all();
  }
  Seqs marks() const {
    std::lock_guard lock(mutex_);
    return marks_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable open_changed_;
  bool open_ = false;
  Seqs marks_;
};

// Regression: each Ack waited for its own MarkDelivered (a commit, an fsync
// of the buffer) before the next Ack was even read, so a draining backlog
// went at the pace of the buffer's disk, one sync per batch.
TEST_F(UplinkTest, AcksThatComeWhileTheBufferIsMarkingAreTakenAtOnceAndMarkedInOneWrite) {
  store_.reset();
  auto real = OpenOrFail(OptionsAt(scratch_ / "events.db"), platform::Clock::Real());
  ASSERT_NE(real, nullptr);
  auto wrapper = std::make_unique<MarksWaitForTheDisk>(std::move(real));
  MarksWaitForTheDisk& marks = *wrapper;
  // The store thread must not stay held when an assertion ends the test.
  struct OpenAtExit {
    MarksWaitForTheDisk& marks;
    ~OpenAtExit() { marks.Open(); }
  } open_at_exit{marks};
  store_ = std::make_unique<StoreThread>(std::move(wrapper));
  store_->set_commit_delay(20ms);
  AppendAlerts(1, 12);
  collector_->HoldBatches(true);
  UplinkConfig config = Config();
  config.batch_events = 3;
  config.window_batches = 4;
  StartUplink(config);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.held_batches == 4; }));

  // Four Acks; the first mark is held by the disk, and still the uplink
  // takes every Ack.
  collector_->ReleaseBatches();
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 12; }));
  EXPECT_TRUE(Eventually([&] { return counters().events_acked.load() == 12; }))
      << "the Acks behind a mark being written were not read";
  // The first mark reaches the store thread on its own time.
  EXPECT_TRUE(Eventually([&] { return marks.marks().size() == 1; }));
  EXPECT_EQ(marks.marks().size(), 1u) << "only the first mark, held by the disk";

  marks.Open();
  ASSERT_TRUE(WaitForDelivered(12));
  const Seqs written = marks.marks();
  EXPECT_LE(written.size(), 2u) << "one write for the Acks that came during the first";
  EXPECT_EQ(written.back(), 12u);
  EXPECT_EQ(collector_->record().stored_seqs, Range(1, 12));
}

// A collector that accepts smaller batches and frames than the agent's
// config: the agent follows the Welcome, and nothing is refused.
TEST_F(UplinkTest, BatchesFollowTheLimitsTheCollectorAnnounces) {
  collector_->AnnounceLimits(2, 4096);
  AppendAlerts(1, 7);
  UplinkConfig config = Config();
  config.batch_events = 100;
  StartUplink(config);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 7; }));
  const Record record = collector_->record();
  EXPECT_TRUE(record.refusals_sent.empty());
  for (const Seqs& batch : record.Batches()) EXPECT_LE(batch.size(), 2u);
  EXPECT_EQ(record.stored_seqs, Range(1, 7));
}

// Text over the schema's bounds is cut (and marked) before it is sent: the
// collector would refuse it.
TEST_F(UplinkTest, TextOverTheSchemasBoundsIsCutBeforeSending) {
  v1::Event event = SampleEvent(v1::SEVERITY_WARNING, Subject(1));
  event.set_alert_key(std::string(400, 'k'));
  event.set_boot_id(std::string(100, 'b'));
  store_->Append({event});
  ASSERT_TRUE(store_->CommitNow().ok());
  StartUplink(Config());
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 1; }));
  const auto events = collector_->record().Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_LE(events[0].alert_key().size(), 320u);
  EXPECT_LE(events[0].boot_id().size(), 64u);
  EXPECT_EQ(events[0].alert_key().substr(events[0].alert_key().size() - 3), "\xE2\x80\xA6");
}

// Regression: one event the collector refused blocked every event behind it
// forever while heartbeats looked healthy. After repeated refusals it is
// set aside (kept, reported), and the rest arrives.
TEST_F(UplinkTest, EventRefusedAgainAndAgainIsSetAsideAndTheRestArrives) {
  AppendAlerts(1, 6);
  collector_->RefuseEvent(4);
  UplinkConfig config = Config();
  config.batch_events = 1;
  StartUplink(config);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) {
    return std::find(r.stored_seqs.begin(), r.stored_seqs.end(), 6) != r.stored_seqs.end();
  }));
  const Record record = collector_->record();
  EXPECT_EQ(record.refusals_sent.size(), Uplink::kSetAsideAfterRefusals);
  EXPECT_THAT(record.stored_seqs, ::testing::IsSupersetOf({1, 2, 3, 5, 6}));
  EXPECT_THAT(record.stored_seqs, ::testing::Not(::testing::Contains(4)));
  // The notice saying so follows, and the heartbeat reports it.
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) {
    for (const v1::Heartbeat& heartbeat : r.Heartbeats()) {
      if (heartbeat.health().set_aside_events_total() == 1) return true;
    }
    return false;
  }));
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq >= 7; }));
  bool notice = false;
  for (const v1::Event& event : collector_->record().Events()) {
    notice |= event.kind() == v1::ALERT_KIND_AGENT_HEALTH &&
              event.summary().find("event seq 4") != std::string::npos;
  }
  EXPECT_TRUE(notice);
  EXPECT_EQ(Stats().set_aside_total, 1u);
  EXPECT_EQ(counters().events_set_aside, 1u);
}

TEST_F(UplinkTest, FailsOverToTheSecondCollectorWhenTheFirstRefusesConnections) {
  UplinkConfig config = Config();
  config.collectors = {{"127.0.0.1", UnusedPort()}, {"127.0.0.1", collector_->port()}};
  AppendAlerts(1, 3);
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 3; }));
  ASSERT_TRUE(WaitForDelivered(3));
  EXPECT_EQ(collector_->record().ReceivedSeqs(), Range(1, 3));
  EXPECT_GE(counters().connect_failures, 1u);
  EXPECT_EQ(counters().connects, 1u);
}

TEST_F(UplinkTest, FailsOverToTheSecondCollectorWhenTheFirstRefusesTheSession) {
  auto first = FakeCollector::Start();
  ASSERT_TRUE(first.ok()) << first.error().message();
  (*first)->RefuseHellos(v1::Refusal::REASON_SHUTTING_DOWN);
  UplinkConfig config = Config();
  config.collectors = {{"127.0.0.1", (*first)->port()}, {"127.0.0.1", collector_->port()}};
  AppendAlerts(1, 3);
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 3; }));
  ASSERT_TRUE(WaitForDelivered(3));
  EXPECT_GE((*first)->record().refusals_sent.size(), 1u);
  EXPECT_TRUE((*first)->record().ReceivedSeqs().empty());
  EXPECT_EQ(collector_->record().ReceivedSeqs(), Range(1, 3));
  EXPECT_GE(counters().refusals, 1u);
  // Stop before `first` goes away, so the agent does not fail back to it.
  uplink_->Stop(0ms);
  ASSERT_TRUE(WaitForRun(kWait));
}

TEST_F(UplinkTest, HeartbeatsCarryTheServicesAndTheBufferHealthAtTheInterval) {
  SetServices({Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_OUT_OF_SERVICE,
                       "storage:/var/spool/ej"),
               Service(v1::CUSTOMER_SERVICE_DEPOSIT, v1::SERVICE_STATE_IN_SERVICE)});
  collector_->HoldBatches(true);
  AppendAlerts(1, 3);
  UplinkConfig config = Config();
  config.heartbeat_interval = 100ms;
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.Heartbeats().size() >= 5; }));
  Record record = collector_->record();
  for (const v1::Heartbeat& heartbeat : record.Heartbeats()) {
    EXPECT_EQ(heartbeat.interval_ms(), 100u);
    ASSERT_EQ(heartbeat.services_size(), 2);
    EXPECT_EQ(heartbeat.services(0).service(), v1::CUSTOMER_SERVICE_WITHDRAWAL);
    EXPECT_EQ(heartbeat.services(0).state(), v1::SERVICE_STATE_OUT_OF_SERVICE);
    EXPECT_EQ(heartbeat.services(0).reason(), "storage:/var/spool/ej");
    EXPECT_EQ(heartbeat.services(1).service(), v1::CUSTOMER_SERVICE_DEPOSIT);
    EXPECT_EQ(heartbeat.services(1).state(), v1::SERVICE_STATE_IN_SERVICE);
    const v1::AgentHealth& health = heartbeat.health();
    EXPECT_EQ(health.last_seq(), 3u);
    EXPECT_EQ(health.backlog_events(), 3u) << "sent but not acknowledged is still backlog";
    EXPECT_GT(health.buffer_bytes(), 0u);
    EXPECT_EQ(health.buffer_limit_bytes(), 64u * 1024 * 1024);
    EXPECT_FALSE(health.buffer_degraded());
    EXPECT_GT(health.wall_time_unix_ns(), 0);
  }
  // When each was sent, by the agent's own clock: arrival times at the
  // collector bunch up on a loaded machine. The schedule is kept at a fixed
  // rate, so one heartbeat sent late makes the next gap a little short.
  const auto sent = record.Heartbeats();
  for (std::size_t i = 1; i < 5; ++i) {
    const std::chrono::nanoseconds gap(sent[i].health().monotonic_ns() -
                                       sent[i - 1].health().monotonic_ns());
    EXPECT_GE(gap, 80ms) << "heartbeat " << i << " was sent early";
  }

  // Once acknowledged, the backlog is gone; new service states show up.
  collector_->ReleaseBatches();
  SetServices({Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_IN_SERVICE)});
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) {
    const auto heartbeats = r.Heartbeats();
    const v1::Heartbeat& last = heartbeats.back();
    return last.health().backlog_events() == 0 && last.services_size() == 1 &&
           last.services(0).state() == v1::SERVICE_STATE_IN_SERVICE;
  }));
  EXPECT_EQ(counters().connects, 1u);
  EXPECT_GE(counters().heartbeats_sent, 5u);
}

TEST_F(UplinkTest, AnsweredHeartbeatsKeepAnIdleSessionOpen) {
  UplinkConfig config = Config();
  config.io_timeout = 300ms;
  config.heartbeat_interval = 60ms;  // the collector may stay silent 300 ms
  StartUplink(config);

  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.Heartbeats().size() >= 12; }));
  EXPECT_EQ(collector_->record().connections, 1);
  EXPECT_EQ(counters().connects, 1u);
}

TEST_F(UplinkTest, UnansweredHeartbeatsEndTheSession) {
  collector_->AnswerHeartbeats(false);
  UplinkConfig config = Config();
  config.io_timeout = 300ms;
  config.heartbeat_interval = 60ms;
  StartUplink(config);

  ASSERT_TRUE(Eventually([&] { return counters().connects >= 2; }))
      << "a collector that never answers must be left";
  EXPECT_GE(collector_->record().connections, 2);
}

TEST_F(UplinkTest, StopWaitsForOutstandingAcksWithinTheGrace) {
  collector_->HoldBatches(true);
  AppendAlerts(1, 4);
  UplinkConfig config = Config();
  config.batch_events = 2;
  StartUplink(config);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.held_batches == 2; }));

  uplink_->Stop(5000ms);
  SyncWithUplink();  // Stop has been taken in
  EXPECT_FALSE(WaitForRun(100ms)) << "Run() returned with batches unacknowledged";

  const auto released_at = Clock::now();
  collector_->ReleaseBatches();
  ASSERT_TRUE(WaitForRun(kWait));
  EXPECT_LT(Clock::now() - released_at, 2500ms) << "Run() waited for the grace, not the acks";
  EXPECT_EQ(Stats().delivered_seq, 4u);
  EXPECT_EQ(Stats().backlog_events, 0u);
}

TEST_F(UplinkTest, StopGivesUpAfterTheGraceAndMarksOnlyWhatWasAcked) {
  collector_->HoldBatches(true);
  AppendAlerts(1, 4);
  UplinkConfig config = Config();
  config.batch_events = 2;
  config.io_timeout = 5000ms;  // longer than the grace: the grace must end it
  StartUplink(config);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.held_batches == 2; }));

  constexpr auto kGrace = 300ms;
  const auto stopped_at = Clock::now();
  uplink_->Stop(kGrace);
  collector_->ReleaseBatches(1);  // 1..2 stored and acked; 3..4 never

  ASSERT_TRUE(WaitForRun(kWait));
  EXPECT_GE(Clock::now() - stopped_at, kGrace);
  const EventStoreStats stats = Stats();
  EXPECT_EQ(stats.delivered_seq, 2u);
  EXPECT_EQ(stats.backlog_events, 2u);
  EXPECT_EQ(collector_->record().stored_seqs, Range(1, 2));
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.open_connections == 0; }))
      << "the session must be closed when Run() returns";
}

TEST_F(UplinkTest, StopDuringTheHandshakeDoesNotWaitForTheWelcome) {
  // Stop used to leave the stream that waits for Welcome alone, so a
  // collector hung in its handshake held a stopping agent for io_timeout.
  collector_->AnswerHellos(false);
  UplinkConfig config = Config();
  config.io_timeout = 5000ms;
  StartUplink(config);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.Hellos().size() == 1; }));

  const auto stopped_at = Clock::now();
  uplink_->Stop(200ms);
  ASSERT_TRUE(WaitForRun(kWait));
  EXPECT_LT(Clock::now() - stopped_at, 2000ms) << "Stop waited for io_timeout, not the grace";
  EXPECT_EQ(counters().connects, 0u);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.open_connections == 0; }));
}

TEST_F(UplinkTest, StopEndsRunWhileNoCollectorCanBeReached) {
  UplinkConfig config = Config();
  config.collectors = {{"127.0.0.1", UnusedPort()}};
  config.backoff_initial = 200ms;
  config.backoff_max = 200ms;
  StartUplink(config);
  ASSERT_TRUE(Eventually([&] { return counters().connect_failures >= 2; }));

  const auto stopped_at = Clock::now();
  uplink_->Stop(1000ms);
  ASSERT_TRUE(WaitForRun(kWait));
  EXPECT_LT(Clock::now() - stopped_at, 1000ms) << "Stop must cut the backoff short";
  EXPECT_EQ(counters().connects, 0u);
}

TEST_F(UplinkTest, ConnectDeadlinePassingAsTheResolveFailsTouchesNoFreedResolverOrSocket) {
  // The io_context is driven by hand on this thread, so the order is fixed:
  // the deadline's handler is queued (the reactor saw it expire) before the
  // failed resolve resumes the session, which then returns. The handler runs
  // after that; before the fix it closed a resolver and a socket that lived
  // in the freed coroutine frame (a heap-use-after-free under ASan or
  // valgrind, a corrupted heap otherwise).
  UplinkConfig config = Config();
  config.collectors = {{"nonexistent.invalid", 7411}};
  config.connect_timeout = 300ms;    // passes after the resolve failed, before the next poll
  config.backoff_initial = 60000ms;  // one attempt in this test
  config.backoff_max = 60000ms;
  asio::io_context io;
  Uplink uplink(io.get_executor(), config, Device(), *store_,
                [] { return std::vector<v1::ServiceStatus>{}; });
  bool returned = false;
  asio::co_spawn(io, uplink.Run(), [&returned](std::exception_ptr error) {
    EXPECT_EQ(error, nullptr);
    returned = true;
  });
  io.poll();  // starts the resolve and the deadline
  ASSERT_EQ(uplink.counters().connect_failures, 0u);
  // The resolve of a name under .invalid fails meanwhile (in well under
  // 300 ms), on the resolver's own thread, and then the deadline passes.
  std::this_thread::sleep_for(1500ms);
  io.poll();
  EXPECT_EQ(uplink.counters().connect_failures, 1u);
  EXPECT_EQ(uplink.counters().connects, 0u);

  uplink.Stop(0ms);
  io.run_for(5s);
  EXPECT_TRUE(returned);
}

// The heartbeat's oldest_undelivered_age_ms counted from the wall clock: a
// wall-clock jump forward showed an hour-old backlog that was 2 s old, and a
// jump back hid it (age 0).
TEST(UndeliveredAge, WallClockJumpsDoNotChangeTheAgeOfAnEventOfThisBoot) {
  atmhealth::testing::ScratchDir scratch;
  FakeClock clock;
  auto store = OpenOrFail(OptionsAt(scratch / "events.db"), clock);
  ASSERT_NE(store, nullptr);
  const auto detected = [&clock](v1::Event event, const std::string& boot_id) {
    event.set_wall_time_unix_ns(platform::UnixNanos(clock.WallNow()));
    event.set_monotonic_ns(platform::MonotonicNanos(clock.MonotonicNow()));
    event.set_boot_id(boot_id);
    return event;
  };
  store->Append(detected(SampleEvent(v1::SEVERITY_WARNING, "/var"), "boot-now"));
  // Pending (not yet committed) and stored alike.
  clock.Advance(500ms);
  EXPECT_EQ(UndeliveredAgeMs(store->Stats(), clock, "boot-now"), 500);
  ASSERT_TRUE(store->Commit());

  clock.Advance(1500ms);
  clock.JumpWall(1h);
  EXPECT_EQ(UndeliveredAgeMs(store->Stats(), clock, "boot-now"), 2000);
  clock.JumpWall(-3h);
  EXPECT_EQ(UndeliveredAgeMs(store->Stats(), clock, "boot-now"), 2000);

  // After a reboot the event's monotonic time means nothing: the wall clock
  // (now 2 h behind the detection) is all there is, and an age is never
  // negative.
  EXPECT_EQ(UndeliveredAgeMs(store->Stats(), clock, "boot-later"), 0);
  clock.JumpWall(2h + 10s);
  EXPECT_EQ(UndeliveredAgeMs(store->Stats(), clock, "boot-later"), 12000);

  // Nothing undelivered: no age.
  ASSERT_TRUE(store->MarkDelivered(store->Stats().last_seq));
  EXPECT_EQ(UndeliveredAgeMs(store->Stats(), clock, "boot-now"), 0);
}

// A reloaded [uplink] is used at once: the session with the old collector
// ends with its acknowledgements in, and the new collector is given what it
// does not have, from the buffer, even while the old one was being waited
// out in a long backoff.
TEST_F(UplinkTest, ReconfigureMovesToTheNewCollectorsAtOnceAndItGetsTheBuffer) {
  UplinkConfig unreachable = Config();
  unreachable.collectors = {{"127.0.0.1", UnusedPort()}};
  unreachable.backoff_initial = 600s;
  unreachable.backoff_max = 600s;
  AppendAlerts(1, 3);
  StartUplink(unreachable);
  ASSERT_TRUE(Eventually([&] { return counters().connect_failures >= 1; }));

  uplink_->Reconfigure(Config(), 1000ms);
  ASSERT_TRUE(collector_->WaitUntil([](const Record& r) { return r.stored_seq == 3; }));
  ASSERT_TRUE(WaitForDelivered(3));

  // Moved again, to a second collector: the first session ends, the second
  // collector is given the whole buffer, each event once.
  auto second = FakeCollector::Start();
  ASSERT_TRUE(second.ok()) << second.error().message();
  UplinkConfig moved = Config();
  moved.collectors = {{"127.0.0.1", (*second)->port()}};
  uplink_->Reconfigure(moved, 1000ms);
  AppendAlerts(4, 5);
  ASSERT_TRUE((*second)->WaitUntil([](const Record& r) { return r.stored_seq == 5; }));
  EXPECT_EQ((*second)->record().ReceivedSeqs(), Range(1, 5));
  EXPECT_EQ(collector_->record().ReceivedSeqs(), Range(1, 3));
  EXPECT_EQ(counters().connects, 2u);
}

}  // namespace
}  // namespace atmhealth::agent
