#include "platform/peer_packet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace atmhealth::platform {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr std::string_view kKey = "branch-017-pair-secret";
const auto kNow = std::chrono::system_clock::time_point(1'772'442'000'000ms);

PeerHeartbeat Heartbeat(std::uint64_t counter, std::chrono::milliseconds offset = 0ms,
                        PeerRole role = PeerRole::kActive, std::string node = "atm-017-b") {
  PeerHeartbeat heartbeat;
  heartbeat.node_id = std::move(node);
  heartbeat.role = role;
  heartbeat.counter = counter;
  heartbeat.unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>((kNow + offset).time_since_epoch())
          .count();
  return heartbeat;
}

std::vector<std::uint8_t> Encode(const PeerHeartbeat& heartbeat, std::string_view key = kKey) {
  auto packet = EncodePeerPacket(heartbeat, key);
  EXPECT_TRUE(packet.ok()) << packet.error().message();
  return packet.ok() ? *packet : std::vector<std::uint8_t>{};
}

TEST(PeerPacket, RoundTripsEveryField) {
  const auto sent = Heartbeat(42, 0ms, PeerRole::kStandby);
  const auto packet = Encode(sent);
  EXPECT_EQ(packet.size(), 24u + sent.node_id.size() + 32u);
  EXPECT_EQ(std::string(packet.begin(), packet.begin() + 4), "AHPB");
  auto got = DecodePeerPacket(packet, kKey);
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->node_id, "atm-017-b");
  EXPECT_EQ(got->role, PeerRole::kStandby);
  EXPECT_EQ(got->counter, 42u);
  EXPECT_EQ(got->unix_ms, sent.unix_ms);
}

TEST(PeerPacket, WrongKeyIsForged) {
  auto got = DecodePeerPacket(Encode(Heartbeat(1)), "another-pair-secret!");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(PeerPacketFaultOf(got.error()), PeerPacketFault::kForged);
}

TEST(PeerPacket, AnyAlteredByteIsRefused) {
  const auto packet = Encode(Heartbeat(7));
  for (std::size_t i = 0; i < packet.size(); ++i) {
    auto altered = packet;
    altered[i] ^= 0x01;
    auto got = DecodePeerPacket(altered, kKey);
    ASSERT_FALSE(got.ok()) << "byte " << i;
    // Role 2 -> 3, the length byte and the header are caught before or after
    // the MAC as malformed; everything the MAC covers otherwise is forged.
    if (i >= 8) {
      EXPECT_EQ(PeerPacketFaultOf(got.error()), PeerPacketFault::kForged) << i;
    }
  }
}

TEST(PeerPacket, BadLengthOrVersionIsMalformed) {
  const auto packet = Encode(Heartbeat(7));
  ASSERT_GT(packet.size(), 1u);
  const std::vector<std::uint8_t> shorter(packet.begin(), packet.begin() + 60);
  auto longer = packet;
  longer.push_back(0);
  auto future = packet;
  future[4] = 2;
  for (const auto& bad : {shorter, longer, future, std::vector<std::uint8_t>{},
                          std::vector<std::uint8_t>(500, 0x41)}) {
    auto got = DecodePeerPacket(bad, kKey);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(PeerPacketFaultOf(got.error()), PeerPacketFault::kMalformed);
  }
  EXPECT_THAT(DecodePeerPacket(future, kKey).error().message(), HasSubstr("version 2"));
}

TEST(PeerPacket, ShortKeyAndBadNodeIdAreRefusedWhenEncoding) {
  EXPECT_FALSE(EncodePeerPacket(Heartbeat(1), "short").ok());
  EXPECT_FALSE(CheckPeerKey("fifteen-bytes!!").ok());
  EXPECT_TRUE(CheckPeerKey("sixteen-bytes!!!").ok());
  EXPECT_FALSE(EncodePeerPacket(Heartbeat(1, 0ms, PeerRole::kActive, ""), kKey).ok());
  EXPECT_FALSE(
      EncodePeerPacket(Heartbeat(1, 0ms, PeerRole::kActive, std::string(65, 'a')), kKey).ok());
  EXPECT_FALSE(EncodePeerPacket(Heartbeat(1, 0ms, PeerRole::kActive, "atm 17"), kKey).ok());
}

TEST(PeerReplayWindow, AcceptsRisingCountersAndRefusesReplays) {
  PeerReplayWindow window("atm-017-b", 5s);
  EXPECT_FALSE(window.Admit(Heartbeat(10), kNow).has_value());
  EXPECT_FALSE(window.Admit(Heartbeat(11, 1s), kNow + 1s).has_value());
  const auto same = window.Admit(Heartbeat(11, 1s), kNow + 1s);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->fault, PeerPacketFault::kReplayed);
  EXPECT_THAT(same->detail, HasSubstr("counter 11 not above the last accepted 11"));
  const auto older = window.Admit(Heartbeat(10), kNow + 2s);
  ASSERT_TRUE(older.has_value());
  EXPECT_EQ(older->fault, PeerPacketFault::kReplayed);
  EXPECT_EQ(window.last_counter(), 11u);
}

TEST(PeerReplayWindow, TimestampOutsideTheSkewIsStaleEitherWay) {
  PeerReplayWindow window("atm-017-b", 5s);
  const auto old = window.Admit(Heartbeat(100, -6s), kNow);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->fault, PeerPacketFault::kStale);
  EXPECT_THAT(old->detail, HasSubstr("6000 ms behind"));
  const auto future = window.Admit(Heartbeat(101, 6s), kNow);
  ASSERT_TRUE(future.has_value());
  EXPECT_EQ(future->fault, PeerPacketFault::kStale);
  EXPECT_THAT(future->detail, HasSubstr("ahead of"));
  EXPECT_FALSE(window.last_counter().has_value()) << "a refused packet changes nothing";
  EXPECT_FALSE(window.Admit(Heartbeat(100, -4s), kNow).has_value());

  auto extreme = Heartbeat(200);
  extreme.unix_ms = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(window.Admit(extreme, kNow)->fault, PeerPacketFault::kStale);
  extreme.unix_ms = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(window.Admit(extreme, kNow)->fault, PeerPacketFault::kStale);
}

TEST(PeerReplayWindow, OwnPacketReflectedBackIsForged) {
  PeerReplayWindow window("atm-017-b", 5s);
  const auto reflected = window.Admit(Heartbeat(1, 0ms, PeerRole::kActive, "atm-017-a"), kNow);
  ASSERT_TRUE(reflected.has_value());
  EXPECT_EQ(reflected->fault, PeerPacketFault::kForged);
  EXPECT_THAT(reflected->detail, HasSubstr("not the peer \"atm-017-b\""));
}

TEST(PeerReplayWindow, RestartedPeerContinuesAboveItsOldCounters) {
  PeerReplayWindow window("atm-017-b", 5s);
  const auto first_run = PeerCounterStart(kNow - 1h);
  EXPECT_FALSE(window.Admit(Heartbeat(first_run + 3600), kNow).has_value());
  const auto second_run = PeerCounterStart(kNow + 2s);
  EXPECT_FALSE(window.Admit(Heartbeat(second_run, 2s), kNow + 2s).has_value());
  EXPECT_EQ(window.Admit(Heartbeat(first_run + 3601, 2s), kNow + 2s)->fault,
            PeerPacketFault::kReplayed);
}

}  // namespace
}  // namespace atmhealth::platform
