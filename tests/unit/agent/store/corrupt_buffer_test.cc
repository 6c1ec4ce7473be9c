// A buffer file that fails its checks is set aside and replaced, never
// deleted, and the agent starts: real files, damaged the way a disk or a
// person would damage them.
#include "agent/store/corrupt_buffer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/store/event_store_test_support.h"

namespace atmhealth::agent {
namespace {

using ::atmhealth::agent::testing::ManualClock;
using ::atmhealth::agent::testing::OptionsAt;
using ::atmhealth::agent::testing::RawDatabase;
using ::atmhealth::agent::testing::ReadAll;
using ::atmhealth::testing::ReadFile;
using ::atmhealth::testing::SampleEvent;
using ::atmhealth::testing::WriteFile;
using ::testing::HasSubstr;

class CorruptBufferTest : public ::testing::Test {
 protected:
  std::filesystem::path db_path() const { return scratch_ / "events.db"; }
  // ManualClock's wall clock, 1'700'000'000 s after the epoch, in UTC.
  std::filesystem::path set_aside_path() const {
    return db_path().string() + ".corrupt-20231114T221320.000Z";
  }

  atmhealth::testing::ScratchDir scratch_;
  ManualClock clock_;
};

TEST_F(CorruptBufferTest, FileThatIsNotSqliteIsSetAsideWithATimestampAndANewBufferStarts) {
  const std::string garbage(64 * 1024, 'x');
  WriteFile(db_path(), garbage);

  Result<OpenedBuffer> opened = OpenEventStoreSettingAsideCorrupt(OptionsAt(db_path()), clock_);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  ASSERT_TRUE(opened->set_aside.has_value());
  EXPECT_EQ(opened->set_aside->file, set_aside_path().string());
  EXPECT_THAT(opened->set_aside->reason, HasSubstr(db_path().string()));
  EXPECT_EQ(ReadFile(set_aside_path()), garbage) << "set aside untouched, never deleted";

  // The new buffer works, and its first event says what happened.
  EventStore& store = *opened->store;
  store.Append(SetAsideNotice(*opened->set_aside, clock_));
  store.Append(SampleEvent(v1::SEVERITY_WARNING, "/var"));
  ASSERT_TRUE(store.Commit());
  const std::vector<v1::Event> events = ReadAll(store);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind(), v1::ALERT_KIND_AGENT_HEALTH);
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_THAT(events[0].summary(), HasSubstr(set_aside_path().string()));
  EXPECT_LE(events[0].summary().size(), 512u) << "within what the collector accepts";
}

TEST_F(CorruptBufferTest, InconsistentBufferIsSetAsideWithItsEventsAndTheNextStartIsClean) {
  {
    Result<OpenedBuffer> opened = OpenEventStoreSettingAsideCorrupt(OptionsAt(db_path()), clock_);
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    for (int i = 0; i < 5; ++i) opened->store->Append(SampleEvent(v1::SEVERITY_CRITICAL, "/var"));
    ASSERT_TRUE(opened->store->Commit());
  }
  {
    RawDatabase raw(db_path());
    raw.Exec("UPDATE meta SET delivered_seq = 99");  // above last_seq: bookkeeping broken
  }
  Result<OpenedBuffer> opened = OpenEventStoreSettingAsideCorrupt(OptionsAt(db_path()), clock_);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  ASSERT_TRUE(opened->set_aside.has_value());
  EXPECT_THAT(opened->set_aside->reason, HasSubstr("delivered_seq 99 is above last_seq 5"));
  EXPECT_EQ(opened->store->Stats().last_seq, 0u);
  {
    RawDatabase aside(set_aside_path());
    EXPECT_EQ(aside.QueryInt("SELECT count(*) FROM events"), 5) << "its alerts can be read out";
  }
  opened->store.reset();

  // Not a crash loop: the next start finds the new buffer healthy.
  Result<OpenedBuffer> again = OpenEventStoreSettingAsideCorrupt(OptionsAt(db_path()), clock_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_FALSE(again->set_aside.has_value());
}

TEST_F(CorruptBufferTest, FailureThatIsNotCorruptionSetsNothingAside) {
  const std::filesystem::path missing_dir = scratch_ / "no-such-dir" / "events.db";
  Result<OpenedBuffer> opened = OpenEventStoreSettingAsideCorrupt(OptionsAt(missing_dir), clock_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().code(), ErrorCode::kCorrupt);
  EXPECT_FALSE(std::filesystem::exists(scratch_ / "no-such-dir"));
}

}  // namespace
}  // namespace atmhealth::agent
