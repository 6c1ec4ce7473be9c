// The active/standby peer pair: the pair's state machine in simulated time,
// replay and forgery protection with real packets, the [peer] section, and
// two watchers exchanging heartbeats over real UDP on loopback.
#include "agent/watch/peer_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "agent/rules/rule_set.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using platform::PeerHeartbeat;
using platform::PeerPacketFault;
using platform::PeerRole;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr std::string_view kKey = "0123456789abcdef-shared-pair-key";
constexpr milliseconds kTimeout{3000};
constexpr milliseconds kSkew{10000};

const std::vector<v1::CustomerService> kOffered = {v1::CUSTOMER_SERVICE_WITHDRAWAL,
                                                   v1::CUSTOMER_SERVICE_DEPOSIT};

// The bytes the peer "atm-b" sends at `clock`'s wall time.
std::vector<std::uint8_t> Packet(const FakeClock& clock, PeerRole role, std::uint64_t counter,
                                 std::string_view key = kKey, std::string node = "atm-b") {
  PeerHeartbeat heartbeat;
  heartbeat.node_id = std::move(node);
  heartbeat.role = role;
  heartbeat.counter = counter;
  heartbeat.unix_ms =
      std::chrono::duration_cast<milliseconds>(clock.WallNow().time_since_epoch()).count();
  return platform::EncodePeerPacket(heartbeat, key).value();
}

class PeerPairTest : public ::testing::Test {
 protected:
  PeerPair Pair(PeerRole configured) {
    return PeerPair(std::string(kKey), "atm-b", configured, kTimeout, kSkew, clock_.MonotonicNow());
  }
  std::optional<platform::PeerPacketRejection> Hear(PeerPair& pair, PeerRole role) {
    return pair.Receive(Packet(clock_, role, ++counter_), clock_.WallNow(), clock_.MonotonicNow());
  }
  RedundancyState StateOf(const PeerPair& pair, PeerRole own) {
    auto view = pair.Judge(own, clock_.MonotonicNow());
    EXPECT_TRUE(view.has_value());
    return view ? view->state : RedundancyState::kRedundant;
  }

  FakeClock clock_;
  std::uint64_t counter_ = 1000;
};

TEST_F(PeerPairTest, NothingIsJudgedUntilThePeerHadOneTimeoutToStart) {
  PeerPair pair = Pair(PeerRole::kActive);
  EXPECT_FALSE(pair.Judge(PeerRole::kActive, clock_.MonotonicNow()).has_value());
  clock_.Advance(kTimeout - milliseconds(1));
  EXPECT_FALSE(pair.Judge(PeerRole::kActive, clock_.MonotonicNow()).has_value());
  clock_.Advance(milliseconds(1));
  const auto view = pair.Judge(PeerRole::kActive, clock_.MonotonicNow());
  ASSERT_TRUE(view);
  EXPECT_EQ(view->state, RedundancyState::kDegraded);
  EXPECT_FALSE(view->peer_present);
  EXPECT_THAT(view->condition, HasSubstr("no valid heartbeat from the peer since start"));
}

TEST_F(PeerPairTest, ActiveWithItsStandbyIsRedundantAndASilentPeerIsRedundancyLost) {
  PeerPair pair = Pair(PeerRole::kActive);
  ASSERT_EQ(Hear(pair, PeerRole::kStandby), std::nullopt);
  EXPECT_EQ(StateOf(pair, PeerRole::kActive), RedundancyState::kRedundant);
  clock_.Advance(kTimeout);
  EXPECT_EQ(StateOf(pair, PeerRole::kActive), RedundancyState::kRedundant);  // at the limit
  clock_.Advance(milliseconds(1));
  const auto lost = pair.Judge(PeerRole::kActive, clock_.MonotonicNow());
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->state, RedundancyState::kDegraded);
  EXPECT_EQ(lost->peer_silent_for, kTimeout + milliseconds(1));
  EXPECT_THAT(lost->condition, HasSubstr("no valid heartbeat from the peer for"));
  // Heard again: redundant again.
  ASSERT_EQ(Hear(pair, PeerRole::kStandby), std::nullopt);
  EXPECT_EQ(StateOf(pair, PeerRole::kActive), RedundancyState::kRedundant);
}

TEST_F(PeerPairTest, TheStandbyThatTookOverFromALostPeerHasFailedOver) {
  PeerPair pair = Pair(PeerRole::kStandby);
  ASSERT_EQ(Hear(pair, PeerRole::kActive), std::nullopt);
  EXPECT_EQ(StateOf(pair, PeerRole::kStandby), RedundancyState::kRedundant);
  clock_.Advance(kTimeout + seconds(1));
  // The active is gone and nobody has taken over yet.
  const auto gone = pair.Judge(PeerRole::kStandby, clock_.MonotonicNow());
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->state, RedundancyState::kDown);
  EXPECT_THAT(gone->condition, HasSubstr("has not taken over"));
  // The cluster manager makes this node active.
  EXPECT_EQ(StateOf(pair, PeerRole::kActive), RedundancyState::kFailedOver);
  // The old active comes back as standby: the pair is whole, the wrong way
  // round, until someone fails back.
  ASSERT_EQ(Hear(pair, PeerRole::kStandby), std::nullopt);
  EXPECT_EQ(StateOf(pair, PeerRole::kActive), RedundancyState::kFailedOver);
  EXPECT_EQ(StateOf(pair, PeerRole::kStandby), RedundancyState::kDown);  // both standby
}

TEST_F(PeerPairTest, BothActiveIsSplitBrainOnEitherSide) {
  PeerPair active = Pair(PeerRole::kActive);
  PeerPair standby = Pair(PeerRole::kStandby);
  ASSERT_EQ(Hear(active, PeerRole::kActive), std::nullopt);
  ASSERT_EQ(Hear(standby, PeerRole::kActive), std::nullopt);
  EXPECT_EQ(StateOf(active, PeerRole::kActive), RedundancyState::kSplitBrain);
  EXPECT_EQ(StateOf(standby, PeerRole::kActive), RedundancyState::kSplitBrain);
  const auto view = active.Judge(PeerRole::kActive, clock_.MonotonicNow());
  EXPECT_THAT(view->condition, HasSubstr("peer active, this node active"));
}

TEST_F(PeerPairTest, AReplayedHeartbeatIsRefusedCountedAndKeepsNoDeadPeerAlive) {
  PeerPair pair = Pair(PeerRole::kActive);
  const auto captured = Packet(clock_, PeerRole::kStandby, 5000);
  ASSERT_EQ(pair.Receive(captured, clock_.WallNow(), clock_.MonotonicNow()), std::nullopt);
  // The peer dies; an attacker sends what it captured, within the skew.
  clock_.Advance(kTimeout + milliseconds(1));
  const auto replayed = pair.Receive(captured, clock_.WallNow(), clock_.MonotonicNow());
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->fault, PeerPacketFault::kReplayed);
  EXPECT_THAT(replayed->detail, HasSubstr("counter 5000 not above the last accepted 5000"));
  EXPECT_EQ(StateOf(pair, PeerRole::kActive), RedundancyState::kDegraded);
  // Much later it is stale as well: the timestamp is checked first.
  clock_.Advance(kSkew);
  const auto stale = pair.Receive(captured, clock_.WallNow(), clock_.MonotonicNow());
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->fault, PeerPacketFault::kStale);
  EXPECT_EQ(pair.counts().accepted, 1u);
  EXPECT_EQ(pair.counts().refused_of(PeerPacketFault::kReplayed), 1u);
  EXPECT_EQ(pair.counts().refused_of(PeerPacketFault::kStale), 1u);
  EXPECT_EQ(StateOf(pair, PeerRole::kActive), RedundancyState::kDegraded);
}

TEST_F(PeerPairTest, ForgedMalformedAndForeignPacketsAreRefusedAndCountedByKind) {
  PeerPair pair = Pair(PeerRole::kActive);
  const auto forged = pair.Receive(Packet(clock_, PeerRole::kStandby, 1, "not-the-shared-key!!"),
                                   clock_.WallNow(), clock_.MonotonicNow());
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->fault, PeerPacketFault::kForged);
  // Altered after signing: the role flipped to active.
  auto altered = Packet(clock_, PeerRole::kStandby, 2);
  altered[5] = static_cast<std::uint8_t>(PeerRole::kActive);
  EXPECT_EQ(pair.Receive(altered, clock_.WallNow(), clock_.MonotonicNow())->fault,
            PeerPacketFault::kForged);
  // Authentic, but from a third node holding the key (or our own, looped back).
  const auto foreign = pair.Receive(Packet(clock_, PeerRole::kStandby, 3, kKey, "atm-a"),
                                    clock_.WallNow(), clock_.MonotonicNow());
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->fault, PeerPacketFault::kForged);
  EXPECT_THAT(foreign->detail, HasSubstr("not the peer \"atm-b\""));
  auto cut = Packet(clock_, PeerRole::kStandby, 4);
  cut.resize(cut.size() - 1);
  EXPECT_EQ(pair.Receive(cut, clock_.WallNow(), clock_.MonotonicNow())->fault,
            PeerPacketFault::kMalformed);
  EXPECT_EQ(pair.counts().refused_of(PeerPacketFault::kForged), 3u);
  EXPECT_EQ(pair.counts().refused_of(PeerPacketFault::kMalformed), 1u);
  EXPECT_EQ(pair.counts().refused_total(), 4u);
  EXPECT_EQ(pair.counts().accepted, 0u);
  // None of them made the peer present.
  clock_.Advance(kTimeout);
  EXPECT_EQ(StateOf(pair, PeerRole::kActive), RedundancyState::kDegraded);
}

TEST_F(PeerPairTest, AHeartbeatFromAClockTooFarAheadIsStale) {
  PeerPair pair = Pair(PeerRole::kActive);
  FakeClock ahead = clock_;
  ahead.JumpWall(kSkew + milliseconds(1));
  const auto stale =
      pair.Receive(Packet(ahead, PeerRole::kStandby, 1), clock_.WallNow(), clock_.MonotonicNow());
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->fault, PeerPacketFault::kStale);
  EXPECT_THAT(stale->detail, HasSubstr("ahead of this clock"));
}

TEST(PeerCounter, FollowsTheWallClockAndNeverRepeats) {
  PeerCounter counter;
  const auto t = std::chrono::system_clock::time_point(seconds(1711962000));
  const std::uint64_t first = counter.Next(t);
  EXPECT_EQ(first, platform::PeerCounterStart(t));
  EXPECT_EQ(counter.Next(t), first + 1);  // same microsecond
  EXPECT_EQ(counter.Next(t + seconds(1)), first + 1'000'000);
  // The clock steps back: still above everything sent.
  EXPECT_EQ(counter.Next(t - seconds(5)), first + 1'000'001);
  // A restarted sender starts above what it sent before the restart.
  PeerCounter restarted;
  EXPECT_GT(restarted.Next(t + seconds(2)), first + 1'000'001);
}

TEST(ParsePeerRole, OneWordAfterCommentsAndBlanks) {
  EXPECT_EQ(*ParsePeerRole("active\n", "role"), PeerRole::kActive);
  EXPECT_EQ(*ParsePeerRole("# written by keepalived notify\n\n standby \r\n", "role"),
            PeerRole::kStandby);
  const auto bad = ParsePeerRole("# role\nMASTER\n", "/run/atm/role");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("/run/atm/role:2: role \"MASTER\""));
  EXPECT_THAT(ParsePeerRole("", "/run/atm/role").error().message(),
              HasSubstr("/run/atm/role: no role in it"));
}

class PeerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteKey(std::string(kKey), std::filesystem::perms::owner_read); }

  void WriteKey(const std::string& text, std::filesystem::perms mode) {
    std::filesystem::remove(key_);
    std::ofstream(key_) << text << "\n";
    std::filesystem::permissions(key_, mode);
  }

  Result<std::shared_ptr<const PeerConfig>> Parse(const std::string& body) {
    text_ = "[peer]\n" + body;
    root_ = toml::parse(text_, std::string_view("atmhealthd.toml"));
    const ConfigSection top("atmhealthd.toml", root_, "", 1);
    auto section = top.Child("peer");
    EXPECT_TRUE(section.ok());
    return ReadPeerConfig(*section, "atm-a", kOffered);
  }

  std::string Minimal() const {
    return "listen = \"10.0.0.1:7412\"\npeer = \"10.0.0.2:7412\"\npeer_device = \"atm-b\"\n"
           "key_file = \"" +
           key_.string() + "\"\nrole = \"active\"\n";
  }

  std::string Error(const std::string& body) {
    auto config = Parse(body);
    EXPECT_FALSE(config.ok());
    return config.ok() ? "" : config.error().message();
  }

  testing::ScratchDir scratch_;
  std::filesystem::path key_ = scratch_ / "peer.key";
  std::string text_;
  toml::table root_;
};

TEST_F(PeerConfigTest, ReadsEverySettingAndTheKeyFromItsFile) {
  auto config = Parse(Minimal() + R"(interval = "500ms"
role_file = "/run/atm/role"
send_interval = "200ms"
peer_timeout = "1s"
max_skew = "5s"
for = "2s"
[peer.states]
split_brain = { severity = "critical", degraded = ["deposit"] }
)");
  ASSERT_TRUE(config.ok()) << config.error().message();
  const PeerConfig& peer = **config;
  EXPECT_EQ(peer.interval, milliseconds(500));
  EXPECT_EQ(peer.listen.host, "10.0.0.1");
  EXPECT_EQ(peer.listen.port, 7412);
  EXPECT_EQ(peer.peer.host, "10.0.0.2");
  EXPECT_EQ(peer.peer_device, "atm-b");
  EXPECT_EQ(peer.key, kKey);  // without the newline
  EXPECT_EQ(peer.role, PeerRole::kActive);
  EXPECT_EQ(peer.role_file, "/run/atm/role");
  EXPECT_EQ(peer.send_interval, milliseconds(200));
  EXPECT_EQ(peer.peer_timeout, milliseconds(1000));
  EXPECT_EQ(peer.max_skew, milliseconds(5000));
  EXPECT_EQ(peer.states.for_duration, milliseconds(2000));
  EXPECT_EQ(peer.states.category, v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  EXPECT_EQ(peer.states.outcome(RedundancyState::kSplitBrain).impact.degraded,
            std::vector<v1::CustomerService>{v1::CUSTOMER_SERVICE_DEPOSIT});
  EXPECT_EQ(peer.states.outcome(RedundancyState::kDegraded).severity, v1::SEVERITY_WARNING);
  const auto lines = peer.Describe();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("peer atm-b at 10.0.0.2:7412"));
  for (const std::string& line : lines) EXPECT_THAT(line, ::testing::Not(HasSubstr(kKey)));
}

TEST_F(PeerConfigTest, DefaultsAndIPv6) {
  auto config = Parse(
      "listen = \"[fd00::1]:7412\"\npeer = \"[fd00::2]:7412\"\npeer_device = \"atm-b\"\n"
      "key_file = \"" +
      key_.string() + "\"\nrole = \"standby\"\n");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ((*config)->peer.host, "fd00::2");
  EXPECT_EQ((*config)->interval, milliseconds(1000));
  EXPECT_EQ((*config)->send_interval, milliseconds(1000));
  EXPECT_EQ((*config)->peer_timeout, milliseconds(5000));
  EXPECT_EQ((*config)->max_skew, milliseconds(10000));
  EXPECT_EQ((*config)->role, PeerRole::kStandby);
  EXPECT_TRUE((*config)->role_file.empty());
}

TEST_F(PeerConfigTest, EveryMistakeNamesFileLineAndKey) {
  EXPECT_EQ(Error("listen = \"10.0.0.1:7412\"\n"),
            "atmhealthd.toml:1: peer.peer: required: an \"address:port\" like \"10.0.0.1:7412\"");
  EXPECT_THAT(Error("listen = \"atm-a.bank.example:7412\"\n"),
              HasSubstr("atmhealthd.toml:2: peer.listen: \"atm-a.bank.example\" is not an IP "
                        "address"));
  EXPECT_THAT(Error("listen = \"10.0.0.1:0\"\n"), HasSubstr("atmhealthd.toml:2: peer.listen: "));
  EXPECT_THAT(Error("listen = \"10.0.0.1:7412\"\npeer = \"[fd00::2]:7412\"\n"),
              HasSubstr("atmhealthd.toml:3: peer.peer: is IPv6 but listen is IPv4"));
  EXPECT_THAT(Error(Minimal() + "lisen = \"x\"\n"),
              HasSubstr("atmhealthd.toml:7: peer.lisen: unknown key"));
  EXPECT_THAT(Error("listen = \"10.0.0.1:7412\"\npeer = \"10.0.0.2:7412\"\n"
                    "peer_device = \"atm-a\"\n"),
              HasSubstr("atmhealthd.toml:4: peer.peer_device: \"atm-a\" is this device's own id"));
  EXPECT_THAT(Error("listen = \"10.0.0.1:7412\"\npeer = \"10.0.0.2:7412\"\n"
                    "peer_device = \"atm b\"\n"),
              HasSubstr("atmhealthd.toml:4: peer.peer_device: \"atm b\" is not a valid device id"));
  EXPECT_THAT(Error("listen = \"10.0.0.1:7412\"\npeer = \"10.0.0.2:7412\"\n"
                    "peer_device = \"atm-b\"\nkey = \"secret\"\n"),
              HasSubstr("atmhealthd.toml:5: peer.key: unknown key"));
  EXPECT_THAT(Error("listen = \"10.0.0.1:7412\"\npeer = \"10.0.0.2:7412\"\n"
                    "peer_device = \"atm-b\"\n"),
              HasSubstr("atmhealthd.toml:1: peer.role: required"));
  EXPECT_THAT(Error("listen = \"10.0.0.1:7412\"\npeer = \"10.0.0.2:7412\"\n"
                    "peer_device = \"atm-b\"\nrole = \"active\"\n"),
              HasSubstr("atmhealthd.toml:1: peer.key_file: required"));
  EXPECT_THAT(Error("listen = \"10.0.0.1:7412\"\npeer = \"10.0.0.2:7412\"\n"
                    "peer_device = \"atm-b\"\nrole = \"active\"\nkey_file = \"" +
                    (scratch_ / "missing.key").string() + "\"\n"),
              HasSubstr("atmhealthd.toml:6: peer.key_file: no such file"));
  EXPECT_THAT(Error(Minimal() + "role_file = \"run/role\"\n"),
              HasSubstr("atmhealthd.toml:7: peer.role_file: must be an absolute path"));
  EXPECT_THAT(Error(Minimal() + "send_interval = \"1s\"\npeer_timeout = \"1500ms\"\n"),
              HasSubstr("atmhealthd.toml:8: peer.peer_timeout: must be at least"));
  EXPECT_THAT(Error(Minimal() + "[peer.states]\nsplit_brain = { unavailable = [\"passbook\"] }\n"),
              HasSubstr("atmhealthd.toml:8: peer.states.split_brain"));
  std::string wrong_role = Minimal();
  wrong_role.replace(wrong_role.find("\"active\""), 8, "\"primary\"");
  EXPECT_THAT(Error(wrong_role),
              HasSubstr("atmhealthd.toml:6: peer.role: must be \"active\" or \"standby\", not "
                        "\"primary\""));
}

TEST_F(PeerConfigTest, AKeyOthersCanReadOrAShortKeyIsRefused) {
  WriteKey(std::string(kKey),
           std::filesystem::perms::owner_read | std::filesystem::perms::group_read);
  EXPECT_THAT(Error(Minimal()),
              HasSubstr("atmhealthd.toml:5: peer.key_file: \"" + key_.string() +
                        "\" has mode 0440: the key must be readable by the agent only"));
  WriteKey("short-key", std::filesystem::perms::owner_read);
  EXPECT_THAT(Error(Minimal()), HasSubstr("peer key: 9 bytes, at least 16 needed"));
}

// The packaged example leaves [peer] commented out (a pair needs addresses
// and a key of its own): with its settings turned on it is a valid config.
TEST_F(PeerConfigTest, PackagedExampleTurnedOnIsValid) {
  std::ifstream in(testing::SourceFile("packaging/atmhealthd.toml"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto start = text.find("\n#[peer]\n");
  ASSERT_NE(start, std::string::npos);
  std::string section;
  std::istringstream lines(text.substr(start + 1));
  for (std::string line; std::getline(lines, line) && !line.empty() && line[0] == '#';) {
    if (line.size() > 1 && line[1] != ' ') section += line.substr(1) + "\n";
  }
  const std::string packaged_key = "/etc/atmhealth/peer.key";
  const auto at = section.find(packaged_key);
  ASSERT_NE(at, std::string::npos);
  section.replace(at, packaged_key.size(), key_.string());
  auto config = ParseAgentConfig(
      "[device]\nid = \"branch-0412-a\"\n[uplink]\ncollectors = [\"127.0.0.1:7411\"]\n"
      "plaintext = true\n" +
          section,
      "atmhealthd.toml");
  ASSERT_TRUE(config.ok()) << config.error().message() << "\n" << section;
  const auto* peer = config->Watcher<PeerConfig>("peer");
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(peer->peer_device, "branch-0412-b");
  EXPECT_EQ(peer->role, PeerRole::kActive);
  EXPECT_EQ(peer->role_file, "/run/atmhealth/role");
  EXPECT_EQ(peer->peer_timeout, milliseconds(5000));
  EXPECT_EQ(peer->states.outcome(RedundancyState::kSplitBrain).severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(peer->states.outcome(RedundancyState::kDown).impact.unavailable.size(), 6u);
}

// Two watchers on loopback, as the two agents of a pair, on real UDP.
class PeerWatcherTest : public ::testing::Test {
 protected:
  // A loopback UDP port free at the time of the call.
  static std::uint16_t FreeUdpPort() {
    asio::io_context io;
    asio::ip::udp::socket socket(io, {asio::ip::address_v4::loopback(), 0});
    return socket.local_endpoint().port();
  }

  PeerConfig Config(std::uint16_t own, std::uint16_t peer, const std::string& peer_device,
                    PeerRole role) {
    PeerConfig config;
    config.listen = {"127.0.0.1", own};
    config.peer = {"127.0.0.1", peer};
    config.peer_device = peer_device;
    config.key = std::string(kKey);
    config.role = role;
    config.send_interval = milliseconds(50);
    config.peer_timeout = milliseconds(300);
    return config;
  }

  // The pair's measurement of the next sample, if any.
  static std::optional<Measurement> PairOf(Watcher& watcher, const std::string& peer) {
    std::vector<Measurement> out;
    watcher.Sample(out);
    for (Measurement& m : out) {
      if (m.kind == v1::ALERT_KIND_PEER && m.subject == peer) return m;
    }
    return std::nullopt;
  }

  static bool Reaches(Watcher& watcher, const std::string& peer, RedundancyState state) {
    return testing::WaitFor(
        [&] {
          auto m = PairOf(watcher, peer);
          return m && m->state == state;
        },
        seconds(5));
  }
};

TEST_F(PeerWatcherTest, TwoAgentsAreRedundantAndTheSurvivorOfOneLosesItsStandby) {
  const std::uint16_t port_a = FreeUdpPort();
  const std::uint16_t port_b = FreeUdpPort();
  auto a = PeerWatcher::Create(Config(port_a, port_b, "atm-b", PeerRole::kActive), "atm-a",
                               platform::Clock::Real());
  ASSERT_TRUE(a.ok()) << a.error().message();
  auto b = PeerWatcher::Create(Config(port_b, port_a, "atm-a", PeerRole::kStandby), "atm-b",
                               platform::Clock::Real());
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ((*a)->port(), port_a);
  // Its I/O thread is there for the daemon's watchdog, and it runs.
  const auto threads = (*a)->Threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].name, "peer");
  std::promise<std::thread::id> ran;
  asio::post(threads[0].executor, [&ran] { ran.set_value(std::this_thread::get_id()); });
  auto ran_on = ran.get_future();
  ASSERT_EQ(ran_on.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_NE(ran_on.get(), std::this_thread::get_id());
  ASSERT_TRUE(Reaches(**a, "atm-b", RedundancyState::kRedundant));
  ASSERT_TRUE(Reaches(**b, "atm-a", RedundancyState::kRedundant));

  RuleSet rules;
  FakeClock rule_clock;
  std::vector<v1::Event> events;
  ASSERT_TRUE(rules.Declare("peer", (*a)->Rules(), rule_clock, events).ok());
  b->reset();  // the standby's agent is gone
  ASSERT_TRUE(Reaches(**a, "atm-b", RedundancyState::kDegraded));
  std::vector<Measurement> measured;
  (*a)->Sample(measured);
  rules.Evaluate(measured, rule_clock, events);
  ASSERT_EQ(events.size(), 1u);
  const v1::Event& lost = events[0];
  EXPECT_EQ(lost.kind(), v1::ALERT_KIND_PEER);
  EXPECT_EQ(lost.subject(), "atm-b");
  EXPECT_EQ(lost.severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(lost.category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  EXPECT_THAT(lost.summary(), HasSubstr("redundancy lost while the service is still up"));
  EXPECT_EQ(lost.value(), 1);
  EXPECT_EQ(lost.threshold(), 2);
}

TEST_F(PeerWatcherTest, ARoleFileMakesBothActiveAndThatIsSplitBrain) {
  testing::ScratchDir scratch;
  const std::uint16_t port_a = FreeUdpPort();
  const std::uint16_t port_b = FreeUdpPort();
  PeerConfig config_b = Config(port_b, port_a, "atm-a", PeerRole::kStandby);
  config_b.role_file = (scratch / "role").string();
  std::ofstream(config_b.role_file) << "standby\n";
  auto a = PeerWatcher::Create(Config(port_a, port_b, "atm-b", PeerRole::kActive), "atm-a",
                               platform::Clock::Real());
  ASSERT_TRUE(a.ok()) << a.error().message();
  auto b = PeerWatcher::Create(config_b, "atm-b", platform::Clock::Real());
  ASSERT_TRUE(b.ok()) << b.error().message();
  ASSERT_TRUE(Reaches(**a, "atm-b", RedundancyState::kRedundant));

  std::ofstream(config_b.role_file) << "active\n";
  ASSERT_TRUE(Reaches(**b, "atm-a", RedundancyState::kSplitBrain));
  ASSERT_TRUE(Reaches(**a, "atm-b", RedundancyState::kSplitBrain));

  // A role file that makes no sense is a probe failure; the role holds.
  std::ofstream(config_b.role_file) << "leader\n";
  std::vector<Measurement> out;
  (*b)->Sample(out);
  const auto probe = std::find_if(out.begin(), out.end(), [](const Measurement& m) {
    return m.kind == v1::ALERT_KIND_AGENT_HEALTH;
  });
  ASSERT_NE(probe, out.end());
  EXPECT_EQ(probe->subject, "probe:" + config_b.role_file);
  EXPECT_EQ(probe->value, 1);
  EXPECT_TRUE(Reaches(**b, "atm-a", RedundancyState::kSplitBrain));
}

TEST_F(PeerWatcherTest, ForgedDatagramsAreCountedInTheRefusedMeasurement) {
  const std::uint16_t port_a = FreeUdpPort();
  auto a = PeerWatcher::Create(Config(port_a, FreeUdpPort(), "atm-b", PeerRole::kActive), "atm-a",
                               platform::Clock::Real());
  ASSERT_TRUE(a.ok()) << a.error().message();
  FakeClock now;  // any timestamp: the MAC is checked first
  asio::io_context io;
  asio::ip::udp::socket sender(io, {asio::ip::address_v4::loopback(), 0});
  const asio::ip::udp::endpoint target(asio::ip::address_v4::loopback(), port_a);
  sender.send_to(asio::buffer(Packet(now, PeerRole::kStandby, 1, "a-key-nobody-shares")), target);
  sender.send_to(asio::buffer(std::string("not a heartbeat")), target);

  std::map<std::string, std::string> context;
  double refused = 0;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        std::vector<Measurement> out;
        (*a)->Sample(out);
        for (const Measurement& m : out) {
          if (m.subject == PeerWatcher::RefusedSubject("atm-b")) {
            refused += m.value;
            context = {m.context.begin(), m.context.end()};
          }
        }
        return refused >= 2;
      },
      seconds(5)));
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(context["forged"], "1");
  EXPECT_EQ(context["malformed"], "1");
  EXPECT_EQ(context["refused_total"], "2");
}

}  // namespace
}  // namespace atmhealth::agent
