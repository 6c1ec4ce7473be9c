// The event buffer on a disk that fills up: a real tmpfs, mounted small and
// filled with a ballast file until the kernel says ENOSPC.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
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

using ::atmhealth::agent::testing::MakeEvent;
using ::atmhealth::agent::testing::ManualClock;
using ::atmhealth::agent::testing::OpenOrFail;
using ::atmhealth::agent::testing::OptionsAt;
using ::atmhealth::agent::testing::ReadAll;
using ::atmhealth::agent::testing::SeqsOf;
using ::testing::HasSubstr;

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
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> subjects;
  auto append = [&](int count) {
    for (int i = 0; i < count; ++i) {
      subjects.push_back("/var/spool/ej/" + std::to_string(subjects.size() + 1));
      store->Append(MakeEvent(v1::SEVERITY_WARNING, subjects.back(), 1000));
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
  store = OpenOrFail(OptionsAt(db_path()), clock_);
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
    auto store = OpenOrFail(OptionsAt(db_path()), clock_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 300; ++i) store->Append(MakeEvent(v1::SEVERITY_INFO, "/delivered", 1000));
    ASSERT_TRUE(store->Commit());
    ASSERT_TRUE(store->MarkDelivered(300));
  }
  auto store = OpenOrFail(OptionsAt(db_path()), clock_);
  ASSERT_NE(store, nullptr);
  FillDisk();
  ShrinkBallast(128 * 1024);  // room to delete, not to write the batch

  for (int i = 0; i < 200; ++i) store->Append(MakeEvent(v1::SEVERITY_INFO, "/new", 1000));
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
  auto store = OpenOrFail(OptionsAt(db_path(), 64 * 1024 * 1024, 20), clock_);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 5; ++i) store->Append(MakeEvent(v1::SEVERITY_CRITICAL, "/before", 500));
  ASSERT_TRUE(store->Commit());

  FillDisk();
  // 10 rounds of INFO, WARNING, CRITICAL: seq 6 .. 35.
  for (int i = 0; i < 10; ++i) {
    for (v1::Severity severity : {v1::SEVERITY_INFO, v1::SEVERITY_WARNING, v1::SEVERITY_CRITICAL}) {
      store->Append(MakeEvent(severity, "/during", 500));
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

}  // namespace
}  // namespace atmhealth::agent
