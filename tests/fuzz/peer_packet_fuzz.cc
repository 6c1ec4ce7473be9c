// Arbitrary datagrams as peer-pair heartbeats. Never a crash, and whatever
// decodes encodes back to the very same bytes (nothing unauthenticated is
// accepted), then passes through the replay window without harm.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "platform/peer_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace atmhealth::platform;
  // The key the seed packets in corpus/peer_packet were made with.
  constexpr std::string_view kKey = "atmhealth-fuzz-peer-key";
  const auto heartbeat = DecodePeerPacket(std::span(data, size), kKey);
  if (!heartbeat.ok()) {
    (void)PeerPacketFaultOf(heartbeat.error());
    return 0;
  }
  const auto again = EncodePeerPacket(*heartbeat, kKey);
  if (!again.ok() || again->size() != size || !std::equal(again->begin(), again->end(), data)) {
    std::abort();
  }
  PeerReplayWindow window(heartbeat->node_id, std::chrono::seconds(5));
  // Clamped to years 1970..2096 so the conversion to the clock's
  // nanoseconds cannot overflow.
  const auto unix_ms = std::clamp<std::int64_t>(heartbeat->unix_ms, 0, 4'000'000'000'000);
  const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms));
  (void)window.Admit(*heartbeat, now);
  if (window.Admit(*heartbeat, now) == std::nullopt) std::abort();  // the same packet twice
  return 0;
}
