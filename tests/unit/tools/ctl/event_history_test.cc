// The buffer as atmhealthctl reads it: a real file written by the agent's
// own SqliteEventStore, opened read-only beside it.
#include "tools/ctl/event_history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/store/sqlite_event_store.h"
#include "platform/sqlite_database.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/store/event_store_test_support.h"

namespace atmhealth::ctl {
namespace {

using agent::testing::ManualClock;
using agent::testing::OpenOrFail;
using agent::testing::OptionsAt;
using ::atmhealth::testing::SampleEvent;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t kSecond = 1'000'000'000;

std::vector<std::uint64_t> Seqs(const Result<std::vector<StoredEvent>>& events) {
  std::vector<std::uint64_t> seqs;
  if (!events.ok()) {
    ADD_FAILURE() << events.error().message();
    return seqs;
  }
  for (const StoredEvent& stored : *events) seqs.push_back(stored.event.seq());
  return seqs;
}

class EventHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrFail(OptionsAt(path_), clock_);
    ASSERT_NE(store_, nullptr);
    // 1: /var warning at t0, 2: /var critical at t0+10s, 3: /var resolved
    // at t0+20s, 4: /data critical inodes at t0+30s.
    v1::Event e1 = SampleEvent(v1::SEVERITY_WARNING, "/var");
    v1::Event e2 = SampleEvent(v1::SEVERITY_CRITICAL, "/var");
    e2.set_wall_time_unix_ns(e1.wall_time_unix_ns() + 10 * kSecond);
    v1::Event e3 = SampleEvent(v1::SEVERITY_INFO, "/var");
    e3.set_state(v1::ALERT_STATE_RESOLVED);
    e3.set_wall_time_unix_ns(e1.wall_time_unix_ns() + 20 * kSecond);
    v1::Event e4 = SampleEvent(v1::SEVERITY_CRITICAL, "/data");
    e4.set_kind(v1::ALERT_KIND_INODES);
    e4.set_alert_key("inodes:/data");
    e4.set_wall_time_unix_ns(e1.wall_time_unix_ns() + 30 * kSecond);
    t0_ = e1.wall_time_unix_ns();
    for (v1::Event* e : {&e1, &e2, &e3, &e4}) store_->Append(*e);
    ASSERT_TRUE(store_->Commit());
    ASSERT_TRUE(store_->MarkDelivered(2));
  }

  atmhealth::testing::ScratchDir scratch_;
  std::filesystem::path path_ = scratch_ / "events.db";
  ManualClock clock_;
  std::unique_ptr<agent::EventStore> store_;
  std::int64_t t0_ = 0;
};

TEST_F(EventHistoryTest, ReadsEveryEventInOrderWithItsDeliveredMark) {
  Result<EventHistory> history = EventHistory::Open(path_.string());
  ASSERT_TRUE(history.ok()) << history.error().message();
  Result<std::vector<StoredEvent>> events = history->After(0, {}, 0);
  EXPECT_THAT(Seqs(events), ElementsAre(1, 2, 3, 4));
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE((*events)[1].delivered);
  EXPECT_FALSE((*events)[2].delivered);
  EXPECT_EQ((*events)[3].event.alert_key(), "inodes:/data");
  EXPECT_THAT(history->LastSeq().value(), 4u);
}

TEST_F(EventHistoryTest, FiltersBySeverityKindStateKeyAndTime) {
  Result<EventHistory> history = EventHistory::Open(path_.string());
  ASSERT_TRUE(history.ok()) << history.error().message();
  EventFilter critical;
  critical.min_severity = v1::SEVERITY_CRITICAL;
  EXPECT_THAT(Seqs(history->After(0, critical, 0)), ElementsAre(2, 4));
  EventFilter warning_and_above;
  warning_and_above.min_severity = v1::SEVERITY_WARNING;
  EXPECT_THAT(Seqs(history->After(0, warning_and_above, 0)), ElementsAre(1, 2, 4));
  EventFilter inodes;
  inodes.kinds = {v1::ALERT_KIND_INODES};
  EXPECT_THAT(Seqs(history->After(0, inodes, 0)), ElementsAre(4));
  EventFilter resolved;
  resolved.state = v1::ALERT_STATE_RESOLVED;
  EXPECT_THAT(Seqs(history->After(0, resolved, 0)), ElementsAre(3));
  EventFilter key;
  key.alert_key = "storage:/var";
  EXPECT_THAT(Seqs(history->After(0, key, 0)), ElementsAre(1, 2, 3));
  EventFilter window;
  window.since_unix_ns = t0_ + 10 * kSecond;
  window.until_unix_ns = t0_ + 20 * kSecond;
  EXPECT_THAT(Seqs(history->After(0, window, 0)), ElementsAre(2, 3));
}

TEST_F(EventHistoryTest, LastGivesTheNewestMatchingOldestFirst) {
  Result<EventHistory> history = EventHistory::Open(path_.string());
  ASSERT_TRUE(history.ok()) << history.error().message();
  EXPECT_THAT(Seqs(history->Last(2, {})), ElementsAre(3, 4));
  EventFilter key;
  key.alert_key = "storage:/var";
  EXPECT_THAT(Seqs(history->Last(2, key)), ElementsAre(2, 3));
}

TEST_F(EventHistoryTest, ReadsAcrossManyPagesWhileTheStoreKeepsWriting) {
  for (int i = 0; i < 3 * static_cast<int>(EventHistory::kPageRows); ++i) {
    store_->Append(SampleEvent(v1::SEVERITY_INFO, "/bulk"));
  }
  ASSERT_TRUE(store_->Commit());
  Result<EventHistory> history = EventHistory::Open(path_.string());
  ASSERT_TRUE(history.ok()) << history.error().message();
  EventFilter bulk;
  bulk.alert_key = "storage:/bulk";
  Result<std::vector<StoredEvent>> events = history->After(0, bulk, 0);
  ASSERT_TRUE(events.ok()) << events.error().message();
  EXPECT_EQ(events->size(), 3 * EventHistory::kPageRows);
  // The writer commits while the reader is open, and is never blocked by it.
  store_->Append(SampleEvent(v1::SEVERITY_CRITICAL, "/late"));
  ASSERT_TRUE(store_->Commit());
  EventFilter late;
  late.alert_key = "storage:/late";
  EXPECT_EQ(Seqs(history->After(0, late, 0)).size(), 1u);
}

TEST(EventHistoryOpen, MissingBufferIsNotFoundAndIsNotCreated) {
  atmhealth::testing::ScratchDir scratch;
  Result<EventHistory> history = EventHistory::Open((scratch / "absent.db").string());
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(history.error().message(), HasSubstr("absent.db: no event buffer there"));
  EXPECT_TRUE(std::filesystem::is_empty(scratch.path()));
}

// A SQLite file made by `sql`, not by the agent: what EventHistory::Open
// says of it.
Error OpenOfAFileMadeBy(const std::string& sql) {
  atmhealth::testing::ScratchDir scratch;
  const std::filesystem::path path = scratch / "other.db";
  {
    Result<platform::SqliteDatabase> db =
        platform::SqliteDatabase::Open(path.string(), std::chrono::milliseconds(0));
    EXPECT_TRUE(db.ok());
    EXPECT_TRUE(db->Execute(sql, "make the file"));
  }
  const auto size = std::filesystem::file_size(path);
  Result<EventHistory> history = EventHistory::Open(path.string());
  EXPECT_EQ(std::filesystem::file_size(path), size);  // refused untouched
  if (history.ok()) return Error(ErrorCode::kInternal, "opened");
  return history.error();
}

TEST(EventHistoryOpen, AFileThatIsNotABufferIsRefusedUntouched) {
  const Error error = OpenOfAFileMadeBy("CREATE TABLE notes (text TEXT)");
  EXPECT_EQ(error.code(), ErrorCode::kCorrupt);
  EXPECT_THAT(error.message(), HasSubstr("not an atmhealth event buffer"));
}

TEST(EventHistoryOpen, AFileTheDaemonHasNotGivenItsSchemaYetSaysSo) {
  const Error error = OpenOfAFileMadeBy("PRAGMA journal_mode = WAL");
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable);
  EXPECT_THAT(error.message(), HasSubstr("the buffer has no schema yet"));
}

TEST(EventHistoryOpen, ANewerSchemaIsRefusedNamingBothVersions) {
  const Error error = OpenOfAFileMadeBy("PRAGMA user_version = 99");
  EXPECT_EQ(error.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr("schema version 99 is newer"));
}

}  // namespace
}  // namespace atmhealth::ctl
