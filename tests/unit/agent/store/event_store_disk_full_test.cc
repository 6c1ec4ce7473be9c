// The event buffer on a disk that fills up: a real tmpfs, mounted small and
// filled with a ballast file until the kernel says ENOSPC.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/store/event_store.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"
#include "tests/unit/agent/store/event_store_test_support.h"

namespace atmhealth::agent {
namespace {

using ::atmhealth::agent::testing::ManualClock;
using ::atmhealth::agent::testing::OpenOrFail;
using ::atmhealth::agent::testing::OptionsAt;
using ::atmhealth::agent::testing::ReadAll;
using ::atmhealth::agent::testing::SeqsOf;
using ::atmhealth::testing::SampleEvent;
using ::testing::HasSubstr;

// Most tests here are about the state once the disk reserve is spent too.
EventStoreOptions WithoutReserve(EventStoreOptions options) {
  options.disk_reserve_bytes = 0;
  return options;
}

class EventStoreDiskFullTest : public ::testing::Test {
 protected:
  void Mount(const std::string& size) {
    disk_.emplace(mount_point_, "size=" + size);
    ASSERT_TRUE(disk_->mounted());
  }

  // Writes `ballast()` until the filesystem refuses with ENOSPC.
  void FillDisk() { atmhealth::testing::FillUntilFull(ballast()); }

  // Gives `bytes` of the ballast back to the filesystem.
  void ShrinkBallast(std::uintmax_t bytes) {
    const std::uintmax_t size = std::filesystem::file_size(ballast());
    ASSERT_GT(size, bytes);
    std::filesystem::resize_file(ballast(), size - bytes);
  }

  std::filesystem::path db_path() const { return mount_point_ / "events.db"; }
  std::filesystem::path ballast() const { return mount_point_ / "ballast"; }

  atmhealth::testing::ScratchDir scratch_;
  std::filesystem::path mount_point_ = scratch_ / "disk";
  std::optional<atmhealth::testing::TmpfsMount> disk_;
  ManualClock clock_;
};

TEST_F(EventStoreDiskFullTest, CommitOnAFullDiskFailsWithNoSpaceThenKeepsEveryEventInOrder) {
  Mount("2m");
  auto store = OpenOrFail(WithoutReserve(OptionsAt(db_path())), clock_);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> subjects;
  auto append = [&](int count) {
    for (int i = 0; i < count; ++i) {
      subjects.push_back("/var/spool/ej/" + std::to_string(subjects.size() + 1));
      store->Append(SampleEvent(v1::SEVERITY_WARNING, subjects.back(), 1000));
    }
  };
  append(20);
  ASSERT_TRUE(store->Commit());

  FillDisk();
  append(50);
  Status full = store->Commit();
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), ErrorCode::kNoSpace) << full.error().message();
  EXPECT_THAT(full.error().message(), HasSubstr(db_path().string()));
  EXPECT_TRUE(store->Stats().degraded);
  EXPECT_EQ(store->Stats().pending_events, 50u);
  EXPECT_EQ(store->Stats().committed_seq, 20u);
  EXPECT_EQ(store->Stats().last_seq, 70u);
  EXPECT_EQ(store->Stats().backlog_events, 70u);

  // Still full: the retry fails the same way, and appending goes on.
  append(10);
  Status still_full = store->Commit();
  ASSERT_FALSE(still_full.ok());
  EXPECT_EQ(still_full.error().code(), ErrorCode::kNoSpace);
  EXPECT_EQ(store->Stats().pending_events, 60u);
  // What was committed before stays readable.
  EXPECT_EQ(ReadAll(*store).size(), 20u);

  std::filesystem::remove(ballast());
  Status recovered = store->Commit();
  ASSERT_TRUE(recovered) << recovered.error().message();
  EXPECT_FALSE(store->Stats().degraded);
  EXPECT_EQ(store->Stats().pending_events, 0u);
  EXPECT_EQ(store->Stats().committed_seq, 80u);
  EXPECT_EQ(store->Stats().dropped_total, 0u);

  store.reset();
  store = OpenOrFail(WithoutReserve(OptionsAt(db_path())), clock_);
  ASSERT_NE(store, nullptr);
  const std::vector<v1::Event> events = ReadAll(*store);
  ASSERT_EQ(events.size(), subjects.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq(), i + 1);
    EXPECT_EQ(events[i].subject(), subjects[i]);
  }
}

TEST_F(EventStoreDiskFullTest, FullDiskDeletesDeliveredHistoryToMakeRoom) {
  Mount("2m");
  {
    auto store = OpenOrFail(WithoutReserve(OptionsAt(db_path())), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 300; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/delivered", 1000));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(300));
  }
  auto store = OpenOrFail(WithoutReserve(OptionsAt(db_path())), clock_);
  ASSERT_NE(store, nullptr);
  FillDisk();
  ShrinkBallast(128 * 1024);  // room to delete, not to write the batch

  for (int i = 0; i < 200; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/new", 1000));
  Status committed = store->Commit();
  ASSERT_TRUE(committed) << committed.error().message();
  EXPECT_FALSE(store->Stats().degraded);
  EXPECT_EQ(store->Stats().dropped_total, 0u) << "delivered history is not a loss";
  const std::vector<v1::Event> events = ReadAll(*store);
  ASSERT_EQ(events.size(), 200u);
  EXPECT_EQ(events.front().seq(), 301u);
  EXPECT_EQ(events.back().seq(), 500u);
  EXPECT_EQ(store->Stats().backlog_events, 200u);
}

TEST_F(EventStoreDiskFullTest, EventsWaitingOnAFullDiskAreBoundedAndTheDropIsRecorded) {
  Mount("1m");
  auto store = OpenOrFail(WithoutReserve(OptionsAt(db_path(), 64 * 1024 * 1024, 20)), clock_);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 5; ++i) store->Append(SampleEvent(v1::SEVERITY_CRITICAL, "/before", 500));
  ASSERT_TRUE(store->Commit());

  FillDisk();
  // 10 rounds of INFO, WARNING, CRITICAL: seq 6 .. 35.
  for (int i = 0; i < 10; ++i) {
    for (v1::Severity severity : {v1::SEVERITY_INFO, v1::SEVERITY_WARNING, v1::SEVERITY_CRITICAL}) {
      store->Append(SampleEvent(severity, "/during", 500));
    }
    Status status = store->Commit();
    ASSERT_FALSE(status.ok());
    ASSERT_EQ(status.error().code(), ErrorCode::kNoSpace) << status.error().message();
  }
  EXPECT_EQ(store->Stats().pending_events, 20u);
  EXPECT_EQ(store->Stats().dropped_total, 10u);
  EXPECT_TRUE(store->Stats().degraded);

  std::filesystem::remove(ballast());
  Status recovered = store->Commit();
  ASSERT_TRUE(recovered) << recovered.error().message();
  const std::vector<v1::Event> events = ReadAll(*store);
  ASSERT_EQ(events.size(), 5u + 20u + 1u);
  for (std::size_t i = 5; i < 25; ++i) {
    EXPECT_NE(events[i].severity(), v1::SEVERITY_INFO)
        << "every INFO went first: seq " << events[i].seq();
    EXPECT_GT(events[i].seq(), events[i - 1].seq());
  }
  const v1::Event& notice = events.back();
  EXPECT_EQ(notice.seq(), 36u);
  EXPECT_EQ(notice.kind(), v1::ALERT_KIND_AGENT_HEALTH);
  EXPECT_EQ(notice.value(), 10);
  EXPECT_THAT(notice.summary(), HasSubstr("10 past 20 events waiting in memory"));
  EXPECT_EQ(store->Stats().dropped_total, 10u);
}

TEST_F(EventStoreDiskFullTest, MemoryHeldWhileTheDiskIsFullIsBoundedByBytesNotOnlyByCount) {
  Mount("1m");
  EventStoreOptions options = WithoutReserve(OptionsAt(db_path(), 64 * 1024 * 1024, 10000));
  options.max_pending_bytes = 64 * 1024;
  auto store = OpenOrFail(options, clock_);
  ASSERT_NE(store, nullptr);
  store->Append(SampleEvent(v1::SEVERITY_CRITICAL, "/before", 100));
  ASSERT_TRUE(store->Commit());

  FillDisk();
  // 100 events of about 4 KiB: 400 KiB, far below the count limit.
  for (int i = 0; i < 100; ++i) {
    store->Append(SampleEvent(v1::SEVERITY_WARNING, "/during/" + std::to_string(i), 4000));
    ASSERT_FALSE(store->Commit().ok());
  }
  const EventStoreStats full = store->Stats();
  EXPECT_LE(full.pending_events * 4000, 64u * 1024) << full.pending_events << " events wait";
  EXPECT_GE(full.pending_events, 10u);
  EXPECT_EQ(full.dropped_total, 100u - full.pending_events);

  std::filesystem::remove(ballast());
  Status recovered = store->Commit();
  ASSERT_TRUE(recovered) << recovered.error().message();
  const std::vector<v1::Event> events = ReadAll(*store);
  ASSERT_EQ(events.size(), 1u + full.pending_events + 1u);
  // The newest events waited; the oldest went, and the drop is recorded.
  EXPECT_EQ(events[events.size() - 2].subject(), "/during/99");
  const v1::Event& notice = events.back();
  EXPECT_EQ(notice.kind(), v1::ALERT_KIND_AGENT_HEALTH);
  EXPECT_EQ(notice.value(), static_cast<double>(full.dropped_total));
  EXPECT_THAT(notice.summary(), HasSubstr("(or 65536 bytes)"));
}

TEST_F(EventStoreDiskFullTest, DeletingDeliveredEventsOnADiskAt100PercentFreesRoom) {
  Mount("2m");
  EventStoreOptions options = OptionsAt(db_path());
  options.disk_reserve_bytes = 256 * 1024;
  {
    auto store = OpenOrFail(options, clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 300; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/delivered", 1000));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(300));
  }
  const std::filesystem::path reserve = db_path().string() + ".reserve";
  auto store = OpenOrFail(options, clock_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(std::filesystem::file_size(reserve), 256u * 1024);
  FillDisk();  // to the last byte: the delete's own WAL pages find no room

  for (int i = 0; i < 200; ++i) store->Append(SampleEvent(v1::SEVERITY_WARNING, "/new", 1000));
  Status committed = store->Commit();
  ASSERT_TRUE(committed) << committed.error().message();
  EXPECT_FALSE(store->Stats().degraded);
  EXPECT_EQ(store->Stats().dropped_total, 0u);
  std::vector<v1::Event> events = ReadAll(*store);
  ASSERT_EQ(events.size(), 200u);
  EXPECT_EQ(events.front().seq(), 301u);
  EXPECT_EQ(events.back().seq(), 500u);

  // Once the disk has room again, the next commit holds the reserve again.
  std::filesystem::remove(ballast());
  store->Append(SampleEvent(v1::SEVERITY_WARNING, "/after", 100));
  ASSERT_TRUE(store->Commit());
  ASSERT_TRUE(std::filesystem::exists(reserve));
  EXPECT_EQ(std::filesystem::file_size(reserve), 256u * 1024);
  EXPECT_EQ(ReadAll(*store).size(), 201u);
}

TEST_F(EventStoreDiskFullTest, FullDiskIsLoggedOnceThenSummarisedNotAtEveryRetry) {
  Mount("2m");
  {
    auto store = OpenOrFail(WithoutReserve(OptionsAt(db_path())), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 100; ++i) store->Append(SampleEvent(v1::SEVERITY_INFO, "/delivered", 1000));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(100));
  }
  auto store = OpenOrFail(WithoutReserve(OptionsAt(db_path())), clock_);
  ASSERT_NE(store, nullptr);
  FillDisk();

  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  // The store thread retries once a second: 30 s of a full disk, then a
  // minute later, then the disk frees up.
  store->Append(SampleEvent(v1::SEVERITY_CRITICAL, "/var", 100));
  for (int i = 0; i < 30; ++i) {
    ASSERT_FALSE(store->Commit().ok());
    clock_.Advance(std::chrono::seconds(1));
  }
  const std::size_t lines_in_first_30s = sink->last_formatted().size();
  clock_.Advance(std::chrono::seconds(60));
  ASSERT_FALSE(store->Commit().ok());
  const std::size_t lines_after_a_minute = sink->last_formatted().size();
  std::filesystem::remove(ballast());
  ASSERT_TRUE(store->Commit());
  const std::vector<std::string> lines = sink->last_formatted();
  spdlog::set_default_logger(previous);

  std::string all;
  for (const auto& line : lines) all += line;
  // The commit failure and the failed clean-up: each once.
  EXPECT_EQ(lines_in_first_30s, 2u) << all;
  // A minute on: each summarised once, with its count.
  EXPECT_EQ(lines_after_a_minute, 4u) << all;
  EXPECT_THAT(all, HasSubstr("(30 times since the last report)"));
  EXPECT_THAT(all, HasSubstr("commits succeed again after 31 failed attempts"));
}

}  // namespace
}  // namespace atmhealth::agent
