#include "agent/feed/feed_receiver.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "platform/asio.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent::feed {
namespace {

using std::chrono::milliseconds;

class FeedReceiverTest : public ::testing::Test {
 protected:
  FeedReceiverTest() : intake_(MeterOptions{}, clock_) {}

  // Runs the io_context until `done` holds or two seconds pass.
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(milliseconds(10));
      io_.restart();
    }
    return done();
  }

  void SendLocal(const std::string& path, const std::string& datagram) {
    asio::local::datagram_protocol::socket sender(io_);
    sender.open();
    sender.send_to(asio::buffer(datagram), asio::local::datagram_protocol::endpoint(path));
  }

  FakeClock clock_;
  FeedIntake intake_;
  asio::io_context io_;
  testing::ScratchDir dir_;
};

TEST_F(FeedReceiverTest, ReceivesDatagramsOnTheUnixSocketWithItsModeAndGroup) {
  FeedListenOptions options;
  options.socket_path = (dir_ / "feed.sock").string();
  options.socket_mode = 0620;
  options.socket_group = "daemon";  // in every Debian base system
  auto receiver = FeedReceiver::Open(io_.get_executor(), options, intake_);
  ASSERT_TRUE(receiver.ok()) << receiver.error().message();

  struct stat st {};
  ASSERT_EQ(stat(options.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  EXPECT_EQ(st.st_gid, getgrnam("daemon")->gr_gid);
  EXPECT_FALSE(std::filesystem::exists(options.socket_path + ".new"));

  SendLocal(options.socket_path, "atm.tx:1|c|#type:withdrawal,result:ok\natm.tx.latency:182|ms");
  SendLocal(options.socket_path, "atm.tx:1|c|#type:deposit,result:error\nnot a line");
  ASSERT_TRUE(RunUntil([&] { return intake_.counters().datagrams == 2; }));
  const FeedCounters counters = intake_.counters();
  EXPECT_EQ(counters.lines, 4u);
  EXPECT_EQ(counters.transaction_lines, 2u);
  EXPECT_EQ(counters.latency_lines, 1u);
  EXPECT_EQ(counters.bad_lines, 1u);

  (*receiver)->Close();
  EXPECT_FALSE(std::filesystem::exists(options.socket_path));
}

TEST_F(FeedReceiverTest, ReplacesASocketLeftByAKilledAgentButNeverAnotherFile) {
  const std::string path = (dir_ / "feed.sock").string();
  {
    asio::local::datagram_protocol::socket stale(io_);
    stale.open();
    stale.bind(asio::local::datagram_protocol::endpoint(path));
  }  // closed without removing the file, as after kill -9
  ASSERT_TRUE(std::filesystem::exists(path));
  FeedListenOptions options;
  options.socket_path = path;
  auto receiver = FeedReceiver::Open(io_.get_executor(), options, intake_);
  ASSERT_TRUE(receiver.ok()) << receiver.error().message();
  (*receiver)->Close();

  const std::string data = (dir_ / "ledger.dat").string();
  std::ofstream(data) << "customer data";
  options.socket_path = data;
  auto refused = FeedReceiver::Open(io_.get_executor(), options, intake_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("is not a socket"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(data), 13u);
}

TEST_F(FeedReceiverTest, AnUnknownGroupIsRefusedAndLeavesNoSocket) {
  FeedListenOptions options;
  options.socket_path = (dir_ / "feed.sock").string();
  options.socket_group = "no-such-group-atm";
  auto receiver = FeedReceiver::Open(io_.get_executor(), options, intake_);
  ASSERT_FALSE(receiver.ok());
  EXPECT_EQ(receiver.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(receiver.error().message().find("no-such-group-atm"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
}

TEST_F(FeedReceiverTest, ReceivesOnLoopbackUdp) {
  FeedListenOptions options;
  options.udp = platform::HostPort{"127.0.0.1", 0};
  auto receiver = FeedReceiver::Open(io_.get_executor(), options, intake_);
  ASSERT_TRUE(receiver.ok()) << receiver.error().message();
  ASSERT_NE((*receiver)->udp_port(), 0);
  asio::ip::udp::socket sender(io_);
  sender.open(asio::ip::udp::v4());
  sender.send_to(
      asio::buffer(std::string("atm.tx:1|c|#type:inquiry,result:ok")),
      asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), (*receiver)->udp_port()));
  ASSERT_TRUE(RunUntil([&] { return intake_.counters().transaction_lines == 1; }));
  (*receiver)->Close();
}

TEST_F(FeedReceiverTest, UdpListensOnLoopbackAddressesOnly) {
  EXPECT_TRUE(LoopbackUdpEndpoint({"127.0.0.1", 8125}).ok());
  EXPECT_TRUE(LoopbackUdpEndpoint({"127.0.0.2", 8125}).ok());
  EXPECT_TRUE(LoopbackUdpEndpoint({"::1", 8125}).ok());
  for (const char* host : {"0.0.0.0", "::", "192.168.10.4", "10.0.0.1", "localhost"}) {
    auto endpoint = LoopbackUdpEndpoint({host, 8125});
    ASSERT_FALSE(endpoint.ok()) << host;
    EXPECT_EQ(endpoint.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(endpoint.error().message().find(host), std::string::npos);
  }
  FeedListenOptions options;
  options.udp = platform::HostPort{"0.0.0.0", 0};
  EXPECT_FALSE(FeedReceiver::Open(io_.get_executor(), options, intake_).ok());
}

TEST_F(FeedReceiverTest, ADatagramLargerThanTheBufferIsCountedAsTruncated) {
  FeedListenOptions options;
  options.socket_path = (dir_ / "feed.sock").string();
  options.max_datagram_bytes = 64;
  auto receiver = FeedReceiver::Open(io_.get_executor(), options, intake_);
  ASSERT_TRUE(receiver.ok()) << receiver.error().message();
  // 38 + 1 + 38 bytes: the second line is cut at byte 64.
  SendLocal(options.socket_path,
            "atm.tx:1|c|#type:withdrawal,result:ok\natm.tx:1|c|#type:withdrawal,result:ok");
  ASSERT_TRUE(RunUntil([&] { return intake_.counters().datagrams == 1; }));
  const FeedCounters counters = intake_.counters();
  EXPECT_EQ(counters.truncated_datagrams, 1u);
  EXPECT_EQ(counters.transaction_lines, 1u);
  EXPECT_EQ(counters.bad_lines_by_reason[static_cast<std::size_t>(LineError::kTruncated)], 1u);
  (*receiver)->Close();
}

}  // namespace
}  // namespace atmhealth::agent::feed
