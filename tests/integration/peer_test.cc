// The active/standby peer pair end to end: two real agents exchange
// heartbeats over UDP on loopback and report the pair to a real collector.
// One is killed with SIGKILL, both are made active, and the test sends a
// forged heartbeat and replays one it captured on the wire.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "platform/asio.h"
#include "platform/peer_packet.h"
#include "tests/integration/harness.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr char kKey[] = "7f3a9c1e5b2d4f6a8c0e2b4d6f8a1c3e";

// A loopback UDP port free at the time of the call: a peer's port must be
// known before the other agent starts, so port 0 cannot be used.
std::uint16_t FreeUdpPort() {
  asio::io_context io;
  asio::ip::udp::socket socket(io, {asio::ip::address_v4::loopback(), 0});
  return socket.local_endpoint().port();
}

// Passes datagrams from one port to another, keeping a copy of each: the
// test's view of the wire between the two agents.
class Relay {
 public:
  Relay(std::uint16_t to) : socket_(io_, {asio::ip::address_v4::loopback(), 0}), to_(to) {
    socket_.non_blocking(true);
    thread_ = std::thread([this] { Run(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }
  std::vector<std::vector<std::uint8_t>> Captured() {
    std::lock_guard lock(mutex_);
    return captured_;
  }

 private:
  void Run() {
    const asio::ip::udp::endpoint target(asio::ip::address_v4::loopback(), to_);
    std::array<std::uint8_t, 2048> buffer{};
    while (!stop_) {
      asio::ip::udp::endpoint from;
      boost::system::error_code error;
      const std::size_t bytes = socket_.receive_from(asio::buffer(buffer), from, 0, error);
      if (error == asio::error::would_block) {
        std::this_thread::sleep_for(milliseconds(5));
        continue;
      }
      if (error) continue;
      {
        std::lock_guard lock(mutex_);
        if (captured_.size() < 1000) captured_.emplace_back(buffer.begin(), buffer.begin() + bytes);
      }
      socket_.send_to(asio::buffer(buffer.data(), bytes), target, 0, error);
    }
  }

  asio::io_context io_;
  asio::ip::udp::socket socket_;
  std::uint16_t to_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::vector<std::uint8_t>> captured_;
  std::thread thread_;
};

class PeerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = scratch_ / "peer.key";
    WriteFile(key_, std::string(kKey) + "\n");
    std::filesystem::permissions(
        key_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    collector_ = std::make_unique<CollectorProcess>(scratch_ / "collector",
                                                    scratch_ / "collector" / "collector.db");
    ASSERT_NE(collector_->agent_port(), 0);
  }

  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  // The config of the agent `device` of the pair: its role file says
  // `role_now`.
  AgentOptions PeerAgent(const std::string& device, const std::string& peer,
                         const std::string& role, const std::string& role_now, std::uint16_t listen,
                         std::uint16_t peer_port) {
    const std::filesystem::path dir = scratch_ / device;
    std::filesystem::create_directories(dir / "watched");
    WriteFile(RoleFile(device), role_now + "\n");
    AgentOptions options;
    options.device_id = device;
    options.collector_port = collector_->agent_port();
    options.watched = dir / "watched";
    options.store = dir / "events.db";
    options.extra = "[peer]\ninterval = \"100ms\"\nlisten = \"127.0.0.1:" + std::to_string(listen) +
                    "\"\npeer = \"127.0.0.1:" + std::to_string(peer_port) + "\"\npeer_device = \"" +
                    peer + "\"\nkey_file = \"" + key_.string() + "\"\nrole = \"" + role +
                    "\"\nrole_file = \"" + RoleFile(device).string() +
                    "\"\nsend_interval = \"100ms\"\npeer_timeout = \"1s\"\n"
                    "max_skew = \"5s\"\n";
    return options;
  }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& device, const std::string& peer,
                                           const std::string& role, const std::string& role_now,
                                           std::uint16_t listen, std::uint16_t peer_port) {
    return std::make_unique<AgentProcess>(
        scratch_ / device, PeerAgent(device, peer, role, role_now, listen, peer_port));
  }

  // Starts the pair: atm-pa active, atm-pb its standby, whose heartbeats go
  // to `b_sends_to` (atm-pa's port unless a relay sits between them); waits
  // until atm-pa is connected to the collector.
  void StartPair(std::optional<std::uint16_t> b_sends_to = std::nullopt) {
    a_ = StartAgent("atm-pa", "atm-pb", "active", "active", port_a_, port_b_);
    b_ =
        StartAgent("atm-pb", "atm-pa", "standby", "standby", port_b_, b_sends_to.value_or(port_a_));
    ASSERT_TRUE(Connected("atm-pa"));
  }

  std::filesystem::path RoleFile(const std::string& device) const {
    return scratch_ / (device + ".role");
  }

  // The role file is replaced whole, as a cluster manager's script would.
  void SetRole(const std::string& device, const std::string& role) {
    const std::filesystem::path next = RoleFile(device).string() + ".next";
    WriteFile(next, role + "\n");
    std::filesystem::rename(next, RoleFile(device));
  }

  bool Connected(const std::string& device) {
    return WaitFor(
        [&] {
          return QueryInt(collector_->db(), "SELECT count(*) FROM heartbeats WHERE device_id = '" +
                                                device + "'") == 1;
        },
        seconds(20));
  }

  std::optional<Row> AwaitPeerEvent(const std::string& device, const std::string& where,
                                    milliseconds timeout = seconds(15)) {
    return AwaitCollectorEvent(collector_->db(), device, "kind = 'peer' AND " + where, timeout);
  }

  ScratchDir scratch_;
  std::filesystem::path key_;
  std::unique_ptr<CollectorProcess> collector_;
  const std::uint16_t port_a_ = FreeUdpPort();
  const std::uint16_t port_b_ = FreeUdpPort();
  std::unique_ptr<AgentProcess> a_;
  std::unique_ptr<AgentProcess> b_;
};

TEST_F(PeerIntegrationTest, ActiveKilledWithSigkillTheStandbyTakesOverAndReportsFailedOver) {
  StartPair();
  ASSERT_TRUE(Connected("atm-pb"));
  // Both hear each other: neither has anything to report.
  for (auto* agent : {a_.get(), b_.get()}) {
    ASSERT_TRUE(WaitFor(
        [&] { return agent->process().Log().find("is redundant: peer") != std::string::npos; },
        seconds(10)));
  }

  a_->process().Signal(SIGKILL);
  ASSERT_EQ(a_->process().Wait(seconds(5)), 128 + SIGKILL);
  // The active is gone and nobody has taken over yet.
  const auto down =
      AwaitPeerEvent("atm-pb", "state = 'firing' AND context_json ->> '$.state' = 'down'");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->at("subject"), "atm-pa");
  EXPECT_EQ(down->at("severity"), "critical");
  EXPECT_THAT(nlohmann::json::parse(down->at("context_json")).value("condition", ""),
              HasSubstr("has not taken over"));

  // The cluster manager promotes the standby.
  SetRole("atm-pb", "active");
  const auto failed_over =
      AwaitPeerEvent("atm-pb", "state = 'firing' AND context_json ->> '$.state' = 'failed_over'");
  ASSERT_TRUE(failed_over);
  EXPECT_EQ(failed_over->at("subject"), "atm-pa");
  EXPECT_EQ(failed_over->at("severity"), "warning");
  EXPECT_EQ(failed_over->at("category"), "daily_operation_redundancy");
  EXPECT_EQ(std::stod(failed_over->at("value")), 1);
  EXPECT_EQ(std::stod(failed_over->at("threshold")), 2);
  EXPECT_THAT(failed_over->at("summary"), HasSubstr("failed over"));
  const auto context = nlohmann::json::parse(failed_over->at("context_json"));
  EXPECT_EQ(context.value("role", ""), "active");
  EXPECT_EQ(context.value("configured_role", ""), "standby");
  EXPECT_EQ(context.value("peer_role", ""), "active");
  EXPECT_THAT(context.value("condition", ""), HasSubstr("no valid heartbeat from the peer"));
  EXPECT_EQ(b_->process().Stop(), 0);
}

TEST_F(PeerIntegrationTest, BothActiveIsSplitBrainOnBothSidesAndResolvesWhenOneStandsDown) {
  StartPair();
  ASSERT_TRUE(Connected("atm-pb"));

  SetRole("atm-pb", "active");
  for (const std::string device : {"atm-pa", "atm-pb"}) {
    const auto split =
        AwaitPeerEvent(device, "state = 'firing' AND context_json ->> '$.state' = 'split_brain'");
    ASSERT_TRUE(split) << device;
    EXPECT_EQ(split->at("severity"), "critical");
    EXPECT_EQ(split->at("category"), "daily_operation_redundancy");
    EXPECT_THAT(split->at("summary"), HasSubstr("split brain"));
    EXPECT_EQ(nlohmann::json::parse(split->at("context_json")).value("peer_role", ""), "active");
  }

  SetRole("atm-pb", "standby");
  for (const std::string device : {"atm-pa", "atm-pb"}) {
    ASSERT_TRUE(AwaitPeerEvent(device, "state = 'resolved'")) << device;
  }
  EXPECT_EQ(a_->process().Stop(), 0);
  EXPECT_EQ(b_->process().Stop(), 0);
}

TEST_F(PeerIntegrationTest, ForgedAndReplayedHeartbeatsAreIgnoredCountedAndLogged) {
  // The standby's heartbeats reach the active through the test's relay.
  Relay relay(port_a_);
  StartPair(relay.port());
  ASSERT_TRUE(WaitFor([&] { return relay.Captured().size() >= 3; }, seconds(10)));

  asio::io_context io;
  asio::ip::udp::socket attacker(io, {asio::ip::address_v4::loopback(), 0});
  const asio::ip::udp::endpoint target(asio::ip::address_v4::loopback(), port_a_);
  // A heartbeat of the peer made without the key: "the standby is active".
  platform::PeerHeartbeat forged;
  forged.node_id = "atm-pb";
  forged.role = platform::PeerRole::kActive;
  forged.counter = ~0ull >> 1;
  forged.unix_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  attacker.send_to(
      asio::buffer(platform::EncodePeerPacket(forged, "a-key-the-attacker-guessed").value()),
      target);
  // A real heartbeat of the standby, captured on the wire and sent again.
  attacker.send_to(asio::buffer(relay.Captured().front()), target);

  const auto refused = AwaitPeerEvent("atm-pa", "state = 'firing' AND subject = 'refused:atm-pb'");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->at("severity"), "warning");
  EXPECT_EQ(refused->at("category"), "daily_operation_redundancy");
  // Both may land in one sample or in two: the counts since start settle it.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const Row& row : CollectorEvents(collector_->db(), "atm-pa",
                                              "kind = 'peer' AND subject = 'refused:atm-pb'")) {
          const auto context = nlohmann::json::parse(row.at("context_json"));
          if (context.value("forged", "") == "1" && context.value("replayed", "") == "1") {
            return true;
          }
        }
        return false;
      },
      seconds(15)));
  const std::string log = a_->process().Log();
  EXPECT_THAT(log, HasSubstr("peer: refused a forged heartbeat from 127.0.0.1:"));
  EXPECT_THAT(log, HasSubstr("MAC does not verify"));
  EXPECT_THAT(log, HasSubstr("peer: refused a replayed heartbeat from 127.0.0.1:"));
  // The forged one did not make the active believe its standby had become
  // active.
  EXPECT_TRUE(CollectorEvents(collector_->db(), "atm-pa",
                              "kind = 'peer' AND context_json ->> '$.state' = 'split_brain'")
                  .empty());
  EXPECT_EQ(a_->process().Stop(), 0);
  EXPECT_EQ(b_->process().Stop(), 0);
}

// --check-config shows the pair as it will run, never the key, and refuses a
// key file others can read, naming the file, line and key.
TEST_F(PeerIntegrationTest, CheckConfigDescribesThePairAndRefusesAKeyOthersCanRead) {
  const std::filesystem::path config = scratch_ / "check" / "atmhealthd.toml";
  std::filesystem::create_directories(config.parent_path());
  const std::string text =
      AgentConfigToml(PeerAgent("atm-pa", "atm-pb", "active", "active", port_a_, port_b_));
  WriteFile(config, text);
  auto check = [&] {
    Process process(Binary("agent/atmhealthd"), {"--check-config", "--config", config.string()},
                    scratch_ / "check" / "check.log");
    const auto exit_code = process.Wait(seconds(20));
    return std::make_pair(exit_code.value_or(-1), process.Log());
  };
  const auto [valid_exit, valid] = check();
  EXPECT_EQ(valid_exit, 0) << valid;
  EXPECT_THAT(valid, HasSubstr("peer atm-pb at 127.0.0.1:" + std::to_string(port_b_) +
                               ", heartbeats from 127.0.0.1:" + std::to_string(port_a_)));
  EXPECT_THAT(valid, HasSubstr("peer: this node active by design, its role now from " +
                               RoleFile("atm-pa").string()));
  EXPECT_THAT(valid, ::testing::Not(HasSubstr(kKey)));

  std::filesystem::permissions(
      key_, std::filesystem::perms::group_read | std::filesystem::perms::others_read,
      std::filesystem::perm_options::add);
  const auto line = 1 + std::count(text.begin(), text.begin() + text.find("key_file ="), '\n');
  const auto [refused_exit, refused] = check();
  EXPECT_EQ(refused_exit, 2) << refused;
  EXPECT_THAT(refused, HasSubstr(config.string() + ":" + std::to_string(line) +
                                 ": peer.key_file: \"" + key_.string() +
                                 "\" has mode 0644: the key must be readable by the agent only"));
}

}  // namespace
}  // namespace atmhealth::testing
