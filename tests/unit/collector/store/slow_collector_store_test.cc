// The slowed store of the back-pressure tests and benchmarks
// (tests/support/slow_collector_store.h) must commit the way the real one
// does, or a figure measured through it describes a collector that does not
// exist.
#include "tests/support/slow_collector_store.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/support/sample_events.h"
#include "tests/support/test_paths.h"
#include "tests/unit/collector/store/plain_sql.h"

namespace atmhealth::testing {
namespace {

using namespace std::chrono_literals;

SqlValue Integer(std::int64_t value) { return value; }

// It used to leave BeginGroup and CommitGroup to the interface's defaults,
// so the wrapped SQLite store never saw a group: every call was its own
// transaction and fsync, and the collector measured through it had no group
// commit at all.
TEST(SlowCollectorStoreTest, GroupsReachTheWrappedStoreSoItsCallsShareOneCommit) {
  ScratchDir scratch;
  const auto path = scratch / "collector.db";
  auto opened = collector::CollectorStore::OpenSqlite(path.string());
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  SlowCollectorStore store(std::move(opened).value(), 1ms);
  PlainSql sql(path);

  ASSERT_TRUE(store.BeginGroup());
  ASSERT_TRUE(
      store.RecordHello(SampleHello("atm-tokyo-0412", "site-shinjuku"), "10.0.0.1:1", kReceivedAt1)
          .ok());
  ASSERT_TRUE(
      store.RecordHello(SampleHello("atm-tokyo-0413", "site-shinjuku"), "10.0.0.2:1", kReceivedAt1)
          .ok());
  auto stored = store.StoreEvents("atm-tokyo-0412", "", SampleEvents(1, 3), kReceivedAt2);
  ASSERT_TRUE(stored.ok()) << stored.error().message();
  EXPECT_EQ(sql.Value("SELECT count(*) FROM devices"), Integer(0))
      << "another connection sees nothing before the group commits";
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(0));

  ASSERT_TRUE(store.CommitGroup());
  EXPECT_EQ(sql.Value("SELECT count(*) FROM devices"), Integer(2));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(3));

  // Outside a group a call still commits by itself.
  ASSERT_TRUE(store.StoreEvents("atm-tokyo-0413", "", SampleEvents(1, 2), kReceivedAt3).ok());
  EXPECT_EQ(sql.Value("SELECT count(*) FROM events"), Integer(5));
}

}  // namespace
}  // namespace atmhealth::testing
