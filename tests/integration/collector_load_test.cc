// The collector under load and faults, as real processes on loopback: a
// fleet reconnecting to a slow store, a full disk, a corrupt database.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/support/agent_client.h"
#include "tests/support/http_client.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using namespace std::chrono_literals;

class CollectorLoadTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  ScratchDir scratch_;
};

// A fleet that reaches a collector with a slow disk all at once (the
// collector was stopped while the agents connected) is turned away with
// retry hints instead of queueing every Hello behind the disk; the agents
// come back later, spread out, and everything they hold is stored.
TEST_F(CollectorLoadTest,
       FleetMeetingASlowStoreIsRefusedWithHintsAndEverythingIsStoredWithoutAStorm) {
  constexpr int kAgents = 10;
  // At most 5 connection attempts per agent: a storm (agents retrying on
  // their own short backoff, 100..500 ms, regardless of the store) would
  // make many more while the store catches up.
  constexpr int kMaxAttempts = kAgents * 5;
  TmpfsMount disk(scratch_ / "watched", "size=4m");
  ASSERT_TRUE(disk.mounted());
  FillFile(disk / "fill", 4 * 1024 * 1024 * 95 / 100);  // every agent's alert fires critical

  // 30 ms a call; new sessions are refused once 2 calls wait.
  auto collector = CollectorProcess::SlowStore(scratch_ / "collector", scratch_ / "collector.db",
                                               30ms, "max_queued_calls = 4\ntimeout = \"2s\"");
  ASSERT_NE(collector->agent_port(), 0);
  collector->process().Signal(SIGSTOP);  // the kernel still accepts; nobody answers

  std::vector<std::unique_ptr<AgentProcess>> agents;
  for (int i = 0; i < kAgents; ++i) {
    AgentOptions options;
    options.device_id = "atm-load-" + std::to_string(i);
    options.collector_port = collector->agent_port();
    options.watched = disk.path();
    options.store = scratch_ / (options.device_id + ".events.db");
    options.heartbeat_interval = "2s";
    agents.push_back(
        std::make_unique<AgentProcess>(scratch_ / ("agent-" + std::to_string(i)), options));
  }
  // Every agent has connected and sent its Hello by now (each waits up to
  // its io_timeout, 5 s, for the Welcome).
  std::this_thread::sleep_for(1500ms);
  collector->process().Signal(SIGCONT);

  auto stored_devices = [&] {
    return QueryInt(collector->db(),
                    "SELECT count(DISTINCT device_id) FROM events WHERE severity = 'critical'");
  };
  ASSERT_TRUE(WaitFor([&] { return stored_devices() == kAgents; }, 60s))
      << stored_devices() << " of " << kAgents << " devices stored";

  const double refused =
      collector->Metric("atmhealth_collector_sessions_refused_total{reason=\"store_busy\"}");
  const double attempts = collector->Metric("atmhealth_collector_sessions_total");
  EXPECT_GE(refused, 1) << "the burst of Hellos met a long store queue";
  EXPECT_LE(attempts, kMaxAttempts) << refused << " refused";
  EXPECT_EQ(collector->Metric("atmhealth_collector_store_errors_total"), 0);
  // Each refused agent logged the refusal and came back.
  int agents_refused = 0;
  for (int i = 0; i < kAgents; ++i) {
    const std::string log = ReadFile(scratch_ / ("agent-" + std::to_string(i)) / "agent.log");
    if (log.find("REASON_OVERLOADED") != std::string::npos) ++agents_refused;
  }
  EXPECT_GE(agents_refused, 1);
  for (auto& agent : agents) EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_EQ(collector->process().Stop(), 0);
}

// The collector's database disk fills up: /healthz turns 503 with the reason
// as soon as a write fails, and back to 200 once a write succeeds again.
TEST_F(CollectorLoadTest, HealthzReportsAFullStoreDiskAndRecovers) {
  TmpfsMount disk(scratch_ / "collector-disk", "size=1m");
  ASSERT_TRUE(disk.mounted());
  CollectorProcess collector(scratch_ / "collector", disk / "collector.db");
  ASSERT_NE(collector.http_port(), 0);
  Result<HttpReply> healthy = HttpGet(collector.http_port(), "/healthz");
  ASSERT_TRUE(healthy.ok()) << healthy.error().message();
  EXPECT_EQ(healthy->status, 200u);

  FillUntilFull(disk / "filler");
  // Agents keep sending until a write fails (the first may still fit in a
  // page SQLite already has).
  bool refused = false;
  for (std::uint64_t attempt = 0; attempt < 50 && !refused; ++attempt) {
    auto agent = AgentClient::Connect(collector.agent_port());
    ASSERT_TRUE(agent.ok()) << agent.error().message();
    AgentClient::Received reply =
        (*agent)->Handshake(SampleHello("atm-full-" + std::to_string(attempt)));
    if (reply.ok() && reply.message.has_welcome()) {
      ASSERT_TRUE((*agent)->Send(SampleBatch(1, 50)).ok());
      reply = (*agent)->Read();
    }
    refused = reply.ok() && reply.message.has_refusal();
    if (refused) {
      EXPECT_EQ(reply.message.refusal().reason(), v1::Refusal::REASON_STORE_UNAVAILABLE);
    }
  }
  ASSERT_TRUE(refused) << "the store kept writing on a full disk";
  Result<HttpReply> sick = HttpGet(collector.http_port(), "/healthz");
  ASSERT_TRUE(sick.ok()) << sick.error().message();
  EXPECT_EQ(sick->status, 503u);
  EXPECT_EQ(sick->body.rfind("store cannot write: ", 0), 0u) << sick->body;

  std::filesystem::remove(disk / "filler");
  auto agent = AgentClient::Connect(collector.agent_port());
  ASSERT_TRUE(agent.ok()) << agent.error().message();
  ASSERT_TRUE((*agent)->Handshake(SampleHello("atm-after")).message.has_welcome());
  ASSERT_TRUE((*agent)->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE((*agent)->Read().message.has_ack());
  Result<HttpReply> recovered = HttpGet(collector.http_port(), "/healthz");
  ASSERT_TRUE(recovered.ok()) << recovered.error().message();
  EXPECT_EQ(recovered->status, 200u) << recovered->body;
  EXPECT_EQ(collector.process().Stop(), 0);
}

// Garbage where the database should be: the collector names the file and
// the problem, exits non-zero, and leaves the file as it was for an operator.
TEST_F(CollectorLoadTest, CorruptDatabaseRefusesToStartWithAClearMessage) {
  const auto db = scratch_ / "collector.db";
  std::string garbage(64 * 1024, '\0');
  std::mt19937 random(7);
  for (char& byte : garbage) byte = static_cast<char>(random());
  WriteFile(db, garbage);

  Process collector(
      Binary("collector/atmhealth-collector"),
      {"--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--db", db.string()},
      scratch_ / "collector.log");
  const std::optional<int> exit_code = collector.Wait(20s);
  ASSERT_TRUE(exit_code.has_value()) << "still running on a corrupt database";
  EXPECT_EQ(*exit_code, 1);
  const std::string log = collector.Log();
  EXPECT_NE(log.find("cannot start"), std::string::npos) << log;
  EXPECT_NE(log.find(db.string()), std::string::npos) << log;
  EXPECT_NE(log.find("not a database"), std::string::npos) << log;
  EXPECT_EQ(ReadFile(db), garbage) << "the file is kept as it was";
}

}  // namespace
}  // namespace atmhealth::testing
