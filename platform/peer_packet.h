// The heartbeat two agents of an active/standby pair send each other over
// UDP, authenticated with a shared key (HMAC-SHA-256), and the check against
// replay. Pure code: the watcher owns the socket.
//
// Wire layout, integers big-endian:
//   0  4  magic "AHPB"
//   4  1  version (kPeerPacketVersion)
//   5  1  role: 1 standby, 2 active
//   6  1  node id length n, 1..kMaxPeerNodeIdBytes
//   7  1  zero
//   8  8  counter: strictly increasing per sender (see PeerCounterStart)
//  16  8  timestamp: milliseconds since the Unix epoch, sender's clock
//  24  n  node id: printable ASCII
//  24+n 32  HMAC-SHA-256 of bytes 0 .. 24+n with the shared key
#ifndef ATMHEALTH_PLATFORM_PEER_PACKET_H_
#define ATMHEALTH_PLATFORM_PEER_PACKET_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

inline constexpr std::uint8_t kPeerPacketVersion = 1;
inline constexpr std::size_t kMaxPeerNodeIdBytes = 64;
inline constexpr std::size_t kMinPeerKeyBytes = 16;
// The largest packet: a receive buffer of this size never cuts one.
inline constexpr std::size_t kMaxPeerPacketBytes = 24 + kMaxPeerNodeIdBytes + 32;

enum class PeerRole : std::uint8_t { kStandby = 1, kActive = 2 };
const char* PeerRoleName(PeerRole role);

struct PeerHeartbeat {
  std::string node_id;  // the sender's device id
  PeerRole role = PeerRole::kStandby;
  std::uint64_t counter = 0;
  std::int64_t unix_ms = 0;  // milliseconds since the Unix epoch when sent
};

// Why a packet was refused, so the watcher can count each kind.
enum class PeerPacketFault {
  kMalformed,  // wrong length, magic, version or field
  kForged,     // MAC does not verify (wrong key, altered), or not from the peer
  kReplayed,   // counter not above the last accepted one
  kStale,      // timestamp too far from this clock
};
const char* PeerPacketFaultName(PeerPacketFault fault);

struct PeerPacketRejection {
  PeerPacketFault fault;
  std::string detail;  // for the log: what exactly was wrong
};

// A key shorter than kMinPeerKeyBytes is refused (kInvalidArgument).
Status CheckPeerKey(std::string_view key);

// The packet for `heartbeat`; kInvalidArgument for a bad node id or key.
Result<std::vector<std::uint8_t>> EncodePeerPacket(const PeerHeartbeat& heartbeat,
                                                   std::string_view key);

// The heartbeat in `packet` when it is well formed and its MAC verifies
// (compared in constant time). Errors: kInvalidArgument for a malformed
// packet, kPermissionDenied for a forged one; PeerPacketFaultOf tells which.
Result<PeerHeartbeat> DecodePeerPacket(std::span<const std::uint8_t> packet, std::string_view key);
PeerPacketFault PeerPacketFaultOf(const Error& decode_error);

// Where a sender starts its counter: the wall clock in microseconds, so a
// restarted sender continues above every counter it sent before (unless its
// clock stepped back by more than it had run).
std::uint64_t PeerCounterStart(std::chrono::system_clock::time_point now);

// Replay protection for the packets of one peer: each accepted packet must
// come from that peer, carry a counter above the last accepted one and a
// timestamp within `max_skew` of this clock. Not thread-safe; one per peer.
class PeerReplayWindow {
 public:
  PeerReplayWindow(std::string peer_node_id, std::chrono::milliseconds max_skew);

  // nullopt: accepted, and its counter remembered. Otherwise why it was
  // refused; a refused packet changes nothing.
  std::optional<PeerPacketRejection> Admit(const PeerHeartbeat& heartbeat,
                                           std::chrono::system_clock::time_point now);

  std::optional<std::uint64_t> last_counter() const { return last_counter_; }

 private:
  std::string peer_node_id_;
  std::chrono::milliseconds max_skew_;
  std::optional<std::uint64_t> last_counter_;
};

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_PEER_PACKET_H_
