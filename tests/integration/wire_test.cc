// The wire's identity and limits end to end, with the real binaries on
// loopback: buffer ids, buffer conflicts, and limits agreed in Welcome.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/integration/harness.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
constexpr std::size_t kFsBytes = 4 * 1024 * 1024;
constexpr std::size_t kFillBytes = kFsBytes * 95 / 100;  // past critical (90 %)

class WireTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  AgentOptions Agent(std::uint16_t port, const std::filesystem::path& watched,
                     const std::string& store_name) {
    AgentOptions options;
    options.collector_port = port;
    options.watched = watched;
    options.store = scratch_ / store_name;
    return options;
  }

  // Fills and frees the filesystem once: a firing and a resolved alert.
  void AlertCycle(const std::filesystem::path& fs, const std::filesystem::path& store) {
    const auto firing = [&] {
      return QueryInt(store, "SELECT count(*) FROM firing_alerts WHERE alert_key LIKE 'storage:%'");
    };
    FillFile(fs / "ballast", kFillBytes);
    ASSERT_TRUE(WaitFor([&] { return firing() == 1; }, seconds(10)));
    std::filesystem::remove(fs / "ballast");
    ASSERT_TRUE(WaitFor([&] { return firing() == 0; }, seconds(10)));
  }

  ScratchDir scratch_;
};

std::int64_t LastSeq(const std::filesystem::path& store) {
  return QueryInt(store, "SELECT last_seq FROM meta");
}

std::int64_t EventsOfBuffer(const std::filesystem::path& db, const std::string& buffer_id) {
  return QueryInt(db, "SELECT count(*) FROM events WHERE buffer_id = '" + buffer_id + "'");
}

std::string BufferId(const std::filesystem::path& store) {
  const auto rows = Query(store, "SELECT buffer_id FROM meta");
  return rows.empty() ? "" : rows.front().at("buffer_id");
}

// Regression: a recreated buffer started again at seq 1 while the collector
// held the device's old sequence: its first events were marked delivered
// without being sent. Now it has a new id, and every event arrives.
TEST_F(WireTest, RecreatedBufferSendsEveryEventUnderItsNewId) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  const AgentOptions options = Agent(collector.agent_port(), fs.path(), "events.db");
  std::string old_id;
  {
    AgentProcess agent(scratch_ / "agent", options);
    for (int i = 0; i < 2; ++i) AlertCycle(fs.path(), options.store);
    old_id = BufferId(options.store);
    const std::int64_t old_last = LastSeq(options.store);
    ASSERT_TRUE(
        WaitFor([&] { return EventsOfBuffer(collector.db(), old_id) == old_last; }, seconds(20)));
    EXPECT_EQ(agent.process().Stop(), 0);
  }
  // The buffer is lost: a new one is made at the next start.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(options.store.string() + suffix);
  }
  AgentProcess agent(scratch_ / "agent2", options);
  AlertCycle(fs.path(), options.store);
  const std::string new_id = BufferId(options.store);
  ASSERT_EQ(new_id.size(), 32u);
  EXPECT_NE(new_id, old_id);
  const std::int64_t new_last = LastSeq(options.store);
  ASSERT_TRUE(
      WaitFor([&] { return EventsOfBuffer(collector.db(), new_id) == new_last; }, seconds(20)));
  EXPECT_EQ(QueryInt(collector.db(), "SELECT count(*) FROM buffers"), 2);
  EXPECT_EQ(QueryInt(collector.db(), "SELECT count(*) FROM events WHERE buffer_id = '" + new_id +
                                         "' AND kind = 'storage' AND state = 'resolved'"),
            1);
  EXPECT_EQ(agent.process().Stop(), 0);
}

// Regression: two devices configured with one id were merged, each losing
// the other's events as duplicates. The second is refused and counted.
TEST_F(WireTest, TwoAgentsWithOneDeviceIdAreReportedAsAConflictNotMerged) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  const AgentOptions first_options = Agent(collector.agent_port(), fs.path(), "first.db");
  AgentProcess first(scratch_ / "agent", first_options);
  ASSERT_TRUE(
      WaitFor([&] { return QueryInt(collector.db(), "SELECT count(*) FROM heartbeats") == 1; },
              seconds(20)));
  AgentProcess twin(scratch_ / "agent2", Agent(collector.agent_port(), fs.path(), "twin.db"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return collector.Metric(
                   "atmhealth_collector_sessions_refused_total{reason=\"buffer_conflict\"}") >= 1;
      },
      seconds(20)));
  EXPECT_NE(collector.process().Log().find("REASON_BUFFER_CONFLICT"), std::string::npos);
  // The first keeps streaming; nothing of the twin is mixed into its buffer.
  AlertCycle(fs.path(), first_options.store);
  const std::string first_id = BufferId(first_options.store);
  const std::int64_t first_last = LastSeq(first_options.store);
  ASSERT_TRUE(
      WaitFor([&] { return EventsOfBuffer(collector.db(), first_id) == first_last; }, seconds(20)));
  EXPECT_EQ(
      QueryInt(collector.db(), "SELECT count(*) FROM events WHERE buffer_id <> '" + first_id + "'"),
      0);
  EXPECT_EQ(twin.process().Stop(), 0);
  EXPECT_EQ(first.process().Stop(), 0);
}

// A collector that accepts 2 events a batch, and an agent configured for
// 256: the agent follows the Welcome, nothing is refused, everything arrives.
TEST_F(WireTest, AgentFollowsTheBatchLimitOfItsCollector) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  const auto db = scratch_ / "collector" / "collector.db";
  const std::string config = "[listen]\nplaintext = true\nmax_batch_events = 2\n";
  auto collector = std::make_unique<CollectorProcess>(scratch_ / "collector", db, 0, config);
  const std::uint16_t port = collector->agent_port();
  ASSERT_NE(port, 0);
  const AgentOptions options = Agent(port, fs.path(), "events.db");
  AgentProcess agent(scratch_ / "agent", options);
  ASSERT_TRUE(
      WaitFor([&] { return QueryInt(db, "SELECT count(*) FROM heartbeats") == 1; }, seconds(20)));
  // A backlog built while the collector is away goes out in batches of 2.
  ASSERT_EQ(collector->process().Stop(), 0);
  collector.reset();
  for (int i = 0; i < 3; ++i) AlertCycle(fs.path(), options.store);
  collector = std::make_unique<CollectorProcess>(scratch_ / "collector", db, port, config);
  ASSERT_EQ(collector->agent_port(), port);
  const std::int64_t last_seq = LastSeq(options.store);
  ASSERT_TRUE(WaitFor([&] { return QueryInt(db, "SELECT count(*) FROM events") == last_seq; },
                      seconds(20)));
  EXPECT_EQ(collector->Metric("atmhealth_collector_frames_rejected_total{reason=\"protocol\"}"), 0);
  EXPECT_EQ(agent.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
