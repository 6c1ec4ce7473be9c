// The foundation path end to end, with the real binaries on loopback: a
// filling disk on the device becomes a stored alert at the collector.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "atmhealth/v1/session.pb.h"
#include "platform/asio.h"
#include "proto/frame_codec.h"
#include "tests/integration/harness.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
constexpr std::size_t kFsBytes = 4 * 1024 * 1024;
constexpr std::size_t kFillBytes = kFsBytes * 95 / 100;  // well past critical (90 %)

class FoundationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  AgentOptions Agent(std::uint16_t port, const std::filesystem::path& watched,
                     const std::string& device = "atm-it-01") {
    AgentOptions options;
    options.device_id = device;
    options.collector_port = port;
    options.watched = watched;
    options.store = scratch_ / (device + ".events.db");
    return options;
  }

  bool Connected(const std::filesystem::path& db, const std::string& device) {
    return QueryInt(db, "SELECT count(*) FROM heartbeats WHERE device_id = '" + device + "'") == 1;
  }

  ScratchDir scratch_;
};

std::int64_t AgentLastSeq(const std::filesystem::path& store) {
  return QueryInt(store, "SELECT last_seq FROM meta");
}

TEST_F(FoundationTest, FillingDiskFiresCriticalAlertAtCollectorAndFreeingItResolves) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db(), "atm-it-01"); }, seconds(20)));

  ASSERT_GE(FillFile(fs.path() / "journal.dat", kFillBytes), kFillBytes * 9 / 10);
  const std::string firing = "kind = 'storage' AND state = 'firing' AND severity = 'critical'";
  ASSERT_TRUE(WaitFor([&] { return !CollectorEvents(collector.db(), "atm-it-01", firing).empty(); },
                      seconds(10)));
  auto alert = CollectorEvents(collector.db(), "atm-it-01", firing).front();
  EXPECT_EQ(alert["subject"], fs.path().string());
  EXPECT_EQ(alert["alert_key"], "storage:" + fs.path().string());
  EXPECT_GE(std::stod(alert["value"]), 90.0);
  EXPECT_DOUBLE_EQ(std::stod(alert["threshold"]), 90.0);
  EXPECT_EQ(alert["unit"], "percent");
  EXPECT_EQ(alert["category"], "daily_operation_storage");
  EXPECT_EQ(alert["impact_unavailable"], "withdrawal,deposit");
  EXPECT_FALSE(alert["summary"].empty());
  // Heartbeats tell the collector which customer services are lost.
  EXPECT_TRUE(WaitFor(
      [&] {
        return QueryInt(collector.db(),
                        "SELECT count(*) FROM device_services WHERE device_id = 'atm-it-01' AND "
                        "service = 'withdrawal' AND state = 'out_of_service'") == 1;
      },
      seconds(10)));

  std::filesystem::remove(fs.path() / "journal.dat");
  const std::string resolved = "kind = 'storage' AND state = 'resolved'";
  ASSERT_TRUE(
      WaitFor([&] { return !CollectorEvents(collector.db(), "atm-it-01", resolved).empty(); },
              seconds(10)));
  auto resolution = CollectorEvents(collector.db(), "atm-it-01", resolved).front();
  EXPECT_EQ(resolution["alert_key"], alert["alert_key"]);
  EXPECT_GT(std::stoll(resolution["seq"]), std::stoll(alert["seq"]));
  EXPECT_LT(std::stod(resolution["value"]), 70.0);
  EXPECT_TRUE(WaitFor(
      [&] {
        return QueryInt(collector.db(),
                        "SELECT count(*) FROM device_services WHERE device_id = 'atm-it-01' AND "
                        "service = 'withdrawal' AND state = 'in_service'") == 1;
      },
      seconds(10)));

  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

// How many storage alerts fire, by the agent's own buffer.
std::int64_t AgentFiringStorageAlerts(const std::filesystem::path& store) {
  return QueryInt(store, "SELECT count(*) FROM firing_alerts WHERE alert_key LIKE 'storage:%'");
}

// Fills and frees the filesystem `cycles` times, waiting each time until the
// agent has committed the alert to its buffer.
void ProduceAlertCycles(const std::filesystem::path& fs, const std::filesystem::path& store,
                        int cycles) {
  for (int i = 0; i < cycles; ++i) {
    FillFile(fs / "ballast", kFillBytes);
    ASSERT_TRUE(WaitFor([&] { return AgentFiringStorageAlerts(store) == 1; }, seconds(10)));
    std::filesystem::remove(fs / "ballast");
    ASSERT_TRUE(WaitFor([&] { return AgentFiringStorageAlerts(store) == 0; }, seconds(10)));
  }
}

// Every event the agent assigned is at the collector exactly once, with no
// gap, and the storage alerts alternate firing / resolved in sequence order.
void ExpectEveryEventOnceInOrder(const std::filesystem::path& db, const std::string& device,
                                 std::int64_t last_seq, int cycles) {
  const auto rows = CollectorEvents(db, device);
  ASSERT_EQ(static_cast<std::int64_t>(rows.size()), last_seq);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(std::stoll(rows[i].at("seq")), static_cast<std::int64_t>(i + 1));
  }
  const auto storage = CollectorEvents(db, device, "kind = 'storage' AND state != 'notice'");
  ASSERT_EQ(static_cast<int>(storage.size()), 2 * cycles);
  for (std::size_t i = 0; i < storage.size(); ++i) {
    EXPECT_EQ(storage[i].at("state"), i % 2 == 0 ? "firing" : "resolved") << "event " << i;
  }
}

TEST_F(FoundationTest, CollectorOutageLosesNothingAndStoresEveryEventOnceInOrder) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  const auto db = scratch_ / "collector" / "collector.db";
  auto collector = std::make_unique<CollectorProcess>(scratch_ / "collector", db);
  const std::uint16_t port = collector->agent_port();
  ASSERT_NE(port, 0);
  const AgentOptions options = Agent(port, fs.path());
  AgentProcess agent(scratch_ / "agent", options);
  ASSERT_TRUE(WaitFor([&] { return Connected(db, "atm-it-01"); }, seconds(20)));

  ASSERT_EQ(collector->process().Stop(), 0);
  collector.reset();
  constexpr int kCycles = 5;
  ProduceAlertCycles(fs.path(), options.store, kCycles);
  ASSERT_TRUE(agent.process().running());

  // The same port and database, as after a restart of the collector host.
  collector = std::make_unique<CollectorProcess>(scratch_ / "collector2", db, port);
  ASSERT_EQ(collector->agent_port(), port);
  const std::int64_t last_seq = AgentLastSeq(options.store);
  ASSERT_TRUE(WaitFor([&] { return QueryInt(db, "SELECT count(*) FROM events") == last_seq; },
                      seconds(20)));
  ExpectEveryEventOnceInOrder(db, "atm-it-01", last_seq, kCycles);
  // The agent learns that everything is delivered.
  EXPECT_TRUE(
      WaitFor([&] { return QueryInt(options.store, "SELECT delivered_seq FROM meta") == last_seq; },
              seconds(10)));
  EXPECT_EQ(agent.process().Stop(), 0);
}

TEST_F(FoundationTest, AgentKilledWithSigkillLosesNoEventAndResolvesItsAlertAfterRestart) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  const auto db = scratch_ / "collector" / "collector.db";
  CollectorProcess collector(scratch_ / "collector", db);
  const AgentOptions options = Agent(collector.agent_port(), fs.path());
  std::int64_t committed = 0;
  {
    AgentProcess agent(scratch_ / "agent", options);
    ASSERT_TRUE(WaitFor([&] { return Connected(db, "atm-it-01"); }, seconds(20)));
    ProduceAlertCycles(fs.path(), options.store, 2);
    FillFile(fs.path() / "ballast", kFillBytes);  // an alert firing when the agent dies
    ASSERT_TRUE(WaitFor([&] { return AgentFiringStorageAlerts(options.store) == 1; }, seconds(10)));
    committed = AgentLastSeq(options.store);
    agent.process().Signal(SIGKILL);
    ASSERT_EQ(agent.process().Wait(seconds(10)), 128 + SIGKILL);
  }
  std::filesystem::remove(fs.path() / "ballast");

  AgentProcess restarted(scratch_ / "agent2", options);
  // The alert that fired before the crash is resolved by the new process,
  // and every event committed before the crash reaches the collector once.
  ASSERT_TRUE(WaitFor(
      [&] {
        return CollectorEvents(db, "atm-it-01", "kind = 'storage' AND state != 'notice'").size() ==
               6;
      },
      seconds(20)));
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(db, "SELECT count(*) FROM events") == AgentLastSeq(options.store) &&
               AgentLastSeq(options.store) > committed;
      },
      seconds(20)));
  ExpectEveryEventOnceInOrder(db, "atm-it-01", AgentLastSeq(options.store), 3);
  EXPECT_EQ(restarted.process().Stop(), 0);
}

// A raw TCP peer that sends bytes and reads what the collector answers.
class RawPeer {
 public:
  explicit RawPeer(std::uint16_t port) : socket_(io_) {
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void Send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  // Reads frames until the collector closes the connection.
  std::vector<v1::CollectorMessage> ReadUntilClosed() {
    wire::FrameDecoder decoder;
    std::vector<v1::CollectorMessage> messages;
    std::array<char, 4096> chunk;
    boost::system::error_code ec;
    for (;;) {
      const std::size_t n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec) break;
      decoder.Append(std::string_view(chunk.data(), n));
      std::string_view frame;
      while (decoder.Next(frame) == wire::FrameDecoder::Result::kFrame) {
        messages.emplace_back().ParseFromArray(frame.data(), static_cast<int>(frame.size()));
      }
    }
    return messages;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

TEST_F(FoundationTest, MalformedAndOversizedFramesAreRefusedAndCountedWhileAnotherAgentStreams) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  const auto db = scratch_ / "collector" / "collector.db";
  CollectorProcess collector(scratch_ / "collector", db);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  ASSERT_TRUE(WaitFor([&] { return Connected(db, "atm-it-01"); }, seconds(20)));

  RawPeer garbage(collector.agent_port());
  garbage.Send(std::string("\x0a") + std::string(10, '\xff'));  // a 10-byte frame of nonsense
  const auto refused_malformed = garbage.ReadUntilClosed();
  ASSERT_EQ(refused_malformed.size(), 1u);
  EXPECT_EQ(refused_malformed[0].refusal().reason(), v1::Refusal::REASON_MALFORMED_FRAME);

  RawPeer oversized(collector.agent_port());
  oversized.Send("\x80\x80\x80\x20");  // a length prefix of 64 MiB, far above the limit
  const auto refused_oversized = oversized.ReadUntilClosed();
  ASSERT_EQ(refused_oversized.size(), 1u);
  EXPECT_EQ(refused_oversized[0].refusal().reason(), v1::Refusal::REASON_OVERSIZED_FRAME);

  EXPECT_EQ(collector.Metric("atmhealth_collector_frames_rejected_total{reason=\"malformed\"}"), 1);
  EXPECT_EQ(collector.Metric("atmhealth_collector_frames_rejected_total{reason=\"oversized\"}"), 1);

  // The well-behaved agent never noticed: its heartbeats go on and its next
  // alert arrives.
  const std::int64_t heartbeat_before =
      QueryInt(db, "SELECT received_unix_ns FROM heartbeats WHERE device_id = 'atm-it-01'");
  EXPECT_TRUE(WaitFor(
      [&] {
        return QueryInt(db,
                        "SELECT received_unix_ns FROM heartbeats WHERE device_id = "
                        "'atm-it-01'") > heartbeat_before;
      },
      seconds(10)));
  FillFile(fs.path() / "ballast", kFillBytes);
  EXPECT_TRUE(WaitFor(
      [&] {
        return !CollectorEvents(db, "atm-it-01", "kind = 'storage' AND state = 'firing'").empty();
      },
      seconds(10)));
  EXPECT_EQ(collector.Metric("atmhealth_collector_sessions_active"), 1);
  EXPECT_EQ(agent.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
