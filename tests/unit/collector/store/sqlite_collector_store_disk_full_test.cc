// The collector's disk fills up: a real 256 KiB tmpfs, filled by the store
// itself until SQLite cannot write, then space returns. Needs root to mount.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "collector/store/collector_store.h"
#include "tests/support/sample_events.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"
#include "tests/unit/collector/store/plain_sql.h"

namespace atmhealth::collector {
namespace {

using ::atmhealth::testing::kReceivedAt1;
using ::atmhealth::testing::kReceivedAt2;
using ::atmhealth::testing::kReceivedAt3;
using ::atmhealth::testing::PlainSql;
using ::atmhealth::testing::SampleEvent;
using ::atmhealth::testing::SampleEvents;
using ::atmhealth::testing::SampleHello;
using ::atmhealth::testing::Service;
using ::atmhealth::testing::SqlValue;
using ::testing::HasSubstr;

constexpr const char* kDevice = "atm-tokyo-0412";
constexpr std::uint64_t kFirstBatchEvents = 10;
constexpr std::uint64_t kFillBatchEvents = 2;
constexpr std::size_t kBallastBytes = 64 * 1024;  // freed later: "space returns"
constexpr int kMaxFillBatches = 2000;

SqlValue Integer(std::int64_t value) { return value; }

class SqliteCollectorStoreDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(disk_.mounted()); }
  void TearDown() override { store_.reset(); }

  void OpenStore() {
    Result<std::unique_ptr<CollectorStore>> store = CollectorStore::OpenSqlite(path_.string());
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::move(store).value();
  }

  atmhealth::testing::ScratchDir scratch_;
  std::filesystem::path mount_point_ = scratch_ / "collector-disk";
  std::filesystem::path path_ = mount_point_ / "collector.db";
  atmhealth::testing::TmpfsMount disk_{mount_point_, "size=512k,mode=0700"};
  std::unique_ptr<CollectorStore> store_;
};

TEST_F(SqliteCollectorStoreDiskFullTest, FullDiskIsAnErrorAndStoredEventsSurviveIt) {
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  ASSERT_TRUE(
      store_->RecordHello(SampleHello(kDevice, "site-shinjuku"), "10.0.0.1:1", kReceivedAt1).ok());
  Result<StoredBatch> first =
      store_->StoreEvents(kDevice, "", SampleEvents(1, kFirstBatchEvents), kReceivedAt1);
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_EQ(first->last_stored_seq, kFirstBatchEvents);
  v1::Heartbeat heartbeat;
  *heartbeat.add_services() =
      Service(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::SERVICE_STATE_IN_SERVICE, "");
  ASSERT_TRUE(store_->RecordHeartbeat(kDevice, heartbeat, kReceivedAt1).ok());

  // Something else on the disk (a log file) that is deleted later.
  const std::filesystem::path ballast = mount_point_ / "ballast.log";
  {
    std::ofstream out(ballast, std::ios::binary);
    out << std::string(kBallastBytes, 'b');
    out.close();
    ASSERT_TRUE(out.good()) << "the ballast file did not fit: the tmpfs filled too early";
  }

  // Store until the disk refuses.
  std::uint64_t next = kFirstBatchEvents + 1;
  Error full(ErrorCode::kInternal, "the disk never filled up");
  for (int batch = 0; batch < kMaxFillBatches; ++batch) {
    Result<StoredBatch> acked = store_->StoreEvents(
        kDevice, "", SampleEvents(next, next + kFillBatchEvents - 1), kReceivedAt2);
    if (!acked.ok()) {
      full = acked.error();
      break;
    }
    ASSERT_EQ(acked->last_stored_seq, next + kFillBatchEvents - 1);
    next += kFillBatchEvents;
  }
  EXPECT_EQ(full.code(), ErrorCode::kNoSpace) << full.message();
  EXPECT_THAT(full.message(), HasSubstr(path_.string()));
  EXPECT_THAT(full.message(), HasSubstr("store batch of \"atm-tokyo-0412\""));
  ASSERT_GT(next, kFirstBatchEvents + 1)
      << "not one batch fit after the ballast: " << full.message();
  const std::uint64_t stored_before_full = next - 1;

  // While the disk is full, the other calls fail cleanly or succeed; the
  // failed batch left nothing behind.
  Status during = store_->RecordHeartbeat(kDevice, heartbeat, kReceivedAt2);
  if (!during.ok()) {
    EXPECT_EQ(during.error().code(), ErrorCode::kNoSpace) << during.error().message();
  }
  {
    PlainSql sql(path_);
    EXPECT_EQ(sql.Value("SELECT count(*) FROM events"),
              Integer(static_cast<std::int64_t>(stored_before_full)));
    EXPECT_EQ(sql.Value("SELECT last_seq FROM devices"),
              Integer(static_cast<std::int64_t>(stored_before_full)));
  }

  // Space returns: the same store takes the refused batch.
  std::filesystem::remove(ballast);
  Result<StoredBatch> retried = store_->StoreEvents(
      kDevice, "", SampleEvents(next, next + kFillBatchEvents - 1), kReceivedAt3);
  ASSERT_TRUE(retried.ok()) << retried.error().message();
  const std::uint64_t last = next + kFillBatchEvents - 1;
  EXPECT_EQ(retried->last_stored_seq, last);

  // Everything stored before and after the full disk is intact, read by a
  // plain SQLite client once the collector has stopped.
  store_.reset();
  {
    PlainSql sql(path_);
    EXPECT_EQ(sql.Value("PRAGMA integrity_check"), SqlValue(std::string("ok")));
    EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(static_cast<std::int64_t>(last)));
    EXPECT_EQ(
        sql.Value("SELECT count(*) FROM events WHERE seq <= " + std::to_string(kFirstBatchEvents) +
                  " AND received_unix_ns = " + std::to_string(kReceivedAt1) + " AND summary = '" +
                  SampleEvent(1).summary() + "'"),
        Integer(static_cast<std::int64_t>(kFirstBatchEvents)));
    EXPECT_EQ(
        sql.Value("SELECT count(*) FROM events WHERE seq > " + std::to_string(stored_before_full) +
                  " AND received_unix_ns = " + std::to_string(kReceivedAt3)),
        Integer(static_cast<std::int64_t>(kFillBatchEvents)));
    EXPECT_EQ(sql.Value("SELECT state FROM device_services WHERE service = 'withdrawal'"),
              SqlValue(std::string("in_service")));
  }

  // The volume is grown; a restarted collector answers the agent's Hello
  // with the highest stored seq.
  ASSERT_TRUE(disk_.Remount("size=1m,mode=0700"));
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  Result<std::uint64_t> hello =
      store_->RecordHello(SampleHello(kDevice, "site-shinjuku"), "10.0.0.1:1", kReceivedAt3);
  ASSERT_TRUE(hello.ok()) << hello.error().message();
  EXPECT_EQ(*hello, last);
}

}  // namespace
}  // namespace atmhealth::collector
