// atmhealth-feed, the real program, sending to the agent's real feed
// receiver over a real Unix datagram socket and loopback UDP: every line it
// sends arrives and is sorted, its garbage is counted as bad lines and leaves
// the valid traffic whole.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/feed/feed_receiver.h"
#include "platform/asio.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::agent::feed {
namespace {

using std::chrono::seconds;

class FeedToolTest : public ::testing::Test {
 protected:
  FeedToolTest() : intake_(options(), platform::Clock::Real()) {}
  ~FeedToolTest() override {
    if (receiver_) asio::post(io_, [r = receiver_] { r->Close(); });
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  static MeterOptions options() {
    MeterOptions o;
    o.capacity_tps = 100;
    return o;
  }

  void Listen(const FeedListenOptions& listen) {
    auto receiver = FeedReceiver::Open(io_.get_executor(), listen, intake_);
    ASSERT_TRUE(receiver.ok()) << receiver.error().message();
    receiver_ = *receiver;
    thread_ = std::thread([this] { io_.run(); });
  }

  // Runs atmhealth-feed with `args`; returns its JSON summary.
  nlohmann::json RunTool(std::vector<std::string> args) {
    testing::Process tool(testing::Binary("tools/atmhealth-feed"), args, dir_ / "feed.log");
    const auto code = tool.Wait(seconds(30));
    EXPECT_EQ(code, 0) << tool.Log();
    return nlohmann::json::parse(tool.Log());
  }

  // Waits until the intake has seen `lines` lines.
  bool Received(std::uint64_t lines) {
    return testing::WaitFor([&] { return intake_.counters().lines >= lines; }, seconds(10));
  }

  testing::ScratchDir dir_;
  FeedIntake intake_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::shared_ptr<FeedReceiver> receiver_;
  std::thread thread_;
};

TEST_F(FeedToolTest, TrafficWithGarbageOverTheUnixSocketIsCountedAndValidTrafficKept) {
  FeedListenOptions listen;
  listen.socket_path = (dir_ / "feed.sock").string();
  Listen(listen);
  const nlohmann::json sent = RunTool(
      {"--socket", listen.socket_path, "--rate", "2000", "--count", "1000", "--duration", "20",
       "--garbage-ratio", "0.1", "--error-ratio", "0.2", "--decline-ratio", "0", "--seed", "7"});
  ASSERT_EQ(sent["transactions"], 1000);
  ASSERT_EQ(sent["lines"], 2000);
  ASSERT_EQ(sent["dropped_datagrams"], 0);
  ASSERT_TRUE(Received(2000)) << intake_.counters().lines;

  const FeedCounters counters = intake_.counters();
  const std::uint64_t garbage = sent["garbage_lines"];
  EXPECT_GT(garbage, 100u);  // ~10 % of 2,000
  EXPECT_EQ(counters.bad_lines, garbage);
  EXPECT_EQ(counters.transaction_lines + counters.latency_lines + counters.bad_lines, 2000u);
  EXPECT_EQ(counters.datagrams, sent["datagrams"].get<std::uint64_t>());

  const MeterReport report = intake_.Measure();
  EXPECT_EQ(report.one_minute.transactions, static_cast<double>(counters.transaction_lines));
  EXPECT_NEAR(report.one_minute.error_ratio, 0.2, 0.05);
  EXPECT_EQ(report.types.size(), 4u);
  // The default mix's median latency is 180 ms.
  EXPECT_NEAR(report.one_minute.p50_ms, 180, 25);
}

TEST_F(FeedToolTest, TrafficOverLoopbackUdpAtAGivenRateAndMix) {
  FeedListenOptions listen;
  listen.udp = platform::HostPort{"127.0.0.1", 0};
  Listen(listen);
  const nlohmann::json sent =
      RunTool({"--udp", "127.0.0.1:" + std::to_string(receiver_->udp_port()), "--rate", "200",
               "--duration", "1", "--types", "withdrawal=3,transfer=1", "--latency-ms", "900",
               "--latency-sigma", "0", "--decline-ratio", "0", "--error-ratio", "0"});
  const std::uint64_t lines = sent["lines"];
  EXPECT_NEAR(static_cast<double>(sent["transactions"].get<std::uint64_t>()), 200, 5);
  ASSERT_TRUE(Received(lines));
  const MeterReport report = intake_.Measure();
  ASSERT_EQ(report.types.size(), 2u);
  EXPECT_EQ(report.types[0].type, "transfer");
  EXPECT_EQ(report.types[1].type, "withdrawal");
  EXPECT_NEAR(report.types[1].one_minute.transactions / report.one_minute.transactions, 0.75, 0.1);
  EXPECT_NEAR(report.one_minute.p99_ms, 900, 900 * LatencyHistogram::kRelativeError);
  EXPECT_DOUBLE_EQ(report.one_minute.success_ratio, 1);
}

TEST_F(FeedToolTest, TheToolRefusesANonLoopbackUdpTarget) {
  testing::Process tool(testing::Binary("tools/atmhealth-feed"),
                        {"--udp", "192.0.2.10:8125", "--count", "1"}, dir_ / "feed.log");
  EXPECT_EQ(tool.Wait(seconds(10)), 2);
  EXPECT_NE(tool.Log().find("not a loopback address"), std::string::npos) << tool.Log();
}

}  // namespace
}  // namespace atmhealth::agent::feed
