// StoreThread: a real SQLite EventStore in a scratch directory, run on the
// store's own thread, reached from coroutines (Run), from any thread (Append)
// and blocking (RunNow, CommitNow).
#include "agent/store_thread.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/store/event_store.h"
#include "platform/clock.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/store/event_store_test_support.h"
#include "tests/unit/agent/store/forwarding_event_store.h"

namespace atmhealth::agent {
namespace {

using namespace std::chrono_literals;
using ::atmhealth::agent::testing::OpenOrFail;
using ::atmhealth::agent::testing::OptionsAt;
using ::atmhealth::agent::testing::SeqsOf;
using ::atmhealth::testing::SampleEvent;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 10s;

v1::Event Alert(int n) { return SampleEvent(v1::SEVERITY_WARNING, "/data/" + std::to_string(n)); }

std::vector<v1::Event> Alerts(int first, int last) {
  std::vector<v1::Event> events;
  for (int n = first; n <= last; ++n) events.push_back(Alert(n));
  return events;
}

// The real store with a full disk in front of it (leveldb's SpecialEnv
// idea): the first `failures` commits fail as ENOSPC would, leaving the
// events queued in the real store for the next commit.
class FailingCommits final : public testing::ForwardingEventStore {
 public:
  FailingCommits(std::unique_ptr<EventStore> real, int failures)
      : ForwardingEventStore(std::move(real)), failures_(failures) {}

  Status Commit() override {
    if (failures_ > 0) {
      --failures_;
      return Error(ErrorCode::kNoSpace, "events.db: commit: database or disk is full");
    }
    return real().Commit();
  }

 private:
  int failures_;  // store thread only
};

// What on_commit reported, for the test thread to wait on.
class CommitLog {
 public:
  struct Entry {
    bool ok;
    EventStoreStats stats;
    Clock::time_point at;
    std::thread::id thread;
  };

  std::function<void(const Status&, const EventStoreStats&)> Callback() {
    return [this](const Status& status, const EventStoreStats& stats) {
      {
        std::lock_guard lock(mutex_);
        entries_.push_back({status.ok(), stats, Clock::now(), std::this_thread::get_id()});
      }
      changed_.notify_all();
    };
  }

  // Waits until `condition(entries)` holds; returns whether it did in time.
  template <typename Condition>
  bool WaitUntil(Condition condition, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return condition(entries_); });
  }

  std::vector<Entry> entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Entry> entries_;
};

bool AnyOk(const std::vector<CommitLog::Entry>& entries) {
  for (const auto& entry : entries) {
    if (entry.ok) return true;
  }
  return false;
}

class StoreThreadTest : public ::testing::Test {
 protected:
  std::unique_ptr<EventStore> OpenStore() {
    return OpenOrFail(OptionsAt(scratch_ / "events.db"), platform::Clock::Real());
  }

  EventStoreStats Stats(StoreThread& store) {
    return store.RunNow([](EventStore& s) { return s.Stats(); });
  }

  atmhealth::testing::ScratchDir scratch_;
};

TEST_F(StoreThreadTest, RunResumesTheCallerOnItsExecutorWithTheStoresResult) {
  auto opened = OpenStore();
  ASSERT_NE(opened, nullptr);
  StoreThread store(std::move(opened));
  store.Append(Alerts(1, 3));
  ASSERT_TRUE(store.CommitNow().ok());

  asio::io_context io;
  std::thread::id store_thread;
  std::thread::id resumed_on;
  std::vector<std::uint64_t> seqs;
  std::string subject;
  bool marked = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Move-only state in the work, and a result (Result<T>) that is not
        // default-constructible: both must survive the trip to the store
        // thread and back. Named, not a temporary: see StoreThread::Run.
        auto read = [&store_thread,
                     wanted = std::make_unique<std::string>("/data/2")](EventStore& s) {
          store_thread = std::this_thread::get_id();
          auto events = s.ReadAfter(0, 10, 1 << 20);
          if (events.ok() && events->size() == 3) {
            EXPECT_EQ((*events)[1].subject(), *wanted);
          }
          return events;
        };
        Result<std::vector<v1::Event>> events = co_await store.Run(std::move(read));
        resumed_on = std::this_thread::get_id();
        if (events.ok()) {
          seqs = SeqsOf(*events);
          subject = events->back().subject();
        }
        const Status status = co_await store.Run([](EventStore& s) { return s.MarkDelivered(2); });
        marked = status.ok();
      },
      asio::detached);
  io.run();

  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(subject, "/data/3");
  EXPECT_TRUE(marked);
  EXPECT_EQ(Stats(store).delivered_seq, 2u);
  EXPECT_NE(store_thread, std::this_thread::get_id()) << "the work must run on the store thread";
  EXPECT_EQ(resumed_on, std::this_thread::get_id()) << "the caller must resume on its executor";
}

TEST_F(StoreThreadTest, RunDoesNotFreeTheCapturesOfItsWorkTwice) {
  // Run used to move `work` into a lambda created inside its co_await
  // expression; GCC 12 destroyed that temporary twice, so a work capturing a
  // string or a vector crashed (a double free, caught at once under ASan).
  auto opened = OpenStore();
  ASSERT_NE(opened, nullptr);
  StoreThread store(std::move(opened));
  store.Append(Alerts(1, 5));
  ASSERT_TRUE(store.CommitNow().ok());

  asio::io_context io;
  constexpr int kCalls = 100;
  int matched = 0;
  for (int i = 0; i < kCalls; ++i) {
    asio::co_spawn(
        io,
        [&store, &matched, i]() -> asio::awaitable<void> {
          // Longer than the small-string buffer: the words live on the heap.
          const std::string word = std::string(40, 'w') + std::to_string(i);
          const std::uint64_t after = static_cast<std::uint64_t>(i % 5);
          auto summarize = [words = std::vector<std::string>(3, word), after](EventStore& s) {
            Result<std::vector<v1::Event>> events = s.ReadAfter(after, 1, 1 << 20);
            if (!events.ok() || events->empty()) {
              return Result<std::string>(Error(ErrorCode::kNotFound, "no event"));
            }
            return Result<std::string>(words[2] + ":" + (*events)[0].subject());
          };
          Result<std::string> summary = co_await store.Run(std::move(summarize));
          if (summary.ok() && *summary == word + ":/data/" + std::to_string(after + 1)) ++matched;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(matched, kCalls);
}

TEST_F(StoreThreadTest, AppendGroupCommitsAfterTheCommitDelayAndCallsOnCommit) {
  auto opened = OpenStore();
  ASSERT_NE(opened, nullptr);
  StoreThread store(std::move(opened));
  constexpr auto kDelay = 150ms;
  store.set_commit_delay(kDelay);
  CommitLog log;
  store.set_on_commit(log.Callback());

  const auto appended_at = Clock::now();
  store.Append(Alerts(1, 1));
  store.Append(Alerts(2, 3));

  ASSERT_TRUE(log.WaitUntil([](const auto& entries) { return !entries.empty(); }));
  const auto entries = log.entries();
  const CommitLog::Entry& first = entries.front();
  EXPECT_TRUE(first.ok);
  // One commit for both appends: that is the group commit.
  EXPECT_EQ(first.stats.committed_seq, 3u);
  EXPECT_EQ(first.stats.pending_events, 0u);
  EXPECT_GE(first.at - appended_at, kDelay);
  EXPECT_NE(first.thread, std::this_thread::get_id());
  const EventStoreStats stats = Stats(store);
  EXPECT_EQ(stats.committed_seq, 3u);
  EXPECT_EQ(stats.backlog_events, 3u);
}

TEST_F(StoreThreadTest, CommitNowFlushesWithoutWaitingForTheDelay) {
  auto opened = OpenStore();
  ASSERT_NE(opened, nullptr);
  StoreThread store(std::move(opened));
  store.set_commit_delay(30s);
  CommitLog log;
  store.set_on_commit(log.Callback());

  store.Append(Alerts(1, 2));
  const auto started = Clock::now();
  const Status committed = store.CommitNow();
  ASSERT_TRUE(committed.ok()) << committed.error().message();
  EXPECT_LT(Clock::now() - started, 5s);

  const EventStoreStats stats = Stats(store);
  EXPECT_EQ(stats.committed_seq, 2u);
  EXPECT_EQ(stats.pending_events, 0u);
  const auto events = store.RunNow([](EventStore& s) { return s.ReadAfter(0, 10, 1 << 20); });
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(SeqsOf(*events), (std::vector<std::uint64_t>{1, 2}));
  ASSERT_EQ(log.entries().size(), 1u);
  EXPECT_TRUE(log.entries()[0].ok);
}

TEST_F(StoreThreadTest, AFailedCommitIsRetriedWithoutANewEvent) {
  auto opened = OpenStore();
  ASSERT_NE(opened, nullptr);
  StoreThread store(std::make_unique<FailingCommits>(std::move(opened), 1));
  store.set_commit_delay(50ms);
  CommitLog log;
  store.set_on_commit(log.Callback());

  store.Append(Alerts(1, 2));

  ASSERT_TRUE(log.WaitUntil(AnyOk)) << "the failed commit was never retried";
  const auto entries = log.entries();
  ASSERT_GE(entries.size(), 2u);
  EXPECT_FALSE(entries[0].ok);
  EXPECT_EQ(entries[0].stats.pending_events, 2u) << "a failed commit keeps its events";
  EXPECT_TRUE(entries[1].ok);
  EXPECT_EQ(entries[1].stats.committed_seq, 2u);
  EXPECT_GE(entries[1].at - entries[0].at, 50ms);
  EXPECT_EQ(Stats(store).committed_seq, 2u);
}

TEST_F(StoreThreadTest, AppendsAfterAFailedCommitNowDoNotPostponeTheRetry) {
  // CommitNow cancels the pending group-commit timer. The cancelled wait
  // used to clear the "commit scheduled" mark after CommitNow had armed the
  // retry, so every later Append re-armed the timer with commit_delay and
  // events arriving faster than that were never committed.
  auto opened = OpenStore();
  ASSERT_NE(opened, nullptr);
  StoreThread store(std::make_unique<FailingCommits>(std::move(opened), 1));
  constexpr auto kDelay = 80ms;
  store.set_commit_delay(kDelay);
  CommitLog log;
  store.set_on_commit(log.Callback());

  store.Append(Alerts(1, 1));  // arms the group commit
  const Status failed = store.CommitNow();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kNoSpace);

  // Events keep coming, faster than the commit delay.
  const auto deadline = Clock::now() + kWait;
  for (int n = 2; !log.WaitUntil(AnyOk, 20ms) && Clock::now() < deadline; ++n) {
    store.Append(Alerts(n, n));
  }

  ASSERT_TRUE(AnyOk(log.entries())) << "no commit while events kept arriving";
  EXPECT_GE(Stats(store).committed_seq, 1u);
}

}  // namespace
}  // namespace atmhealth::agent
