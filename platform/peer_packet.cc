#include "platform/peer_packet.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace atmhealth::platform {
namespace {

constexpr std::uint8_t kMagic[4] = {'A', 'H', 'P', 'B'};
constexpr std::size_t kHeaderBytes = 24;
constexpr std::size_t kMacBytes = 32;

using Mac = std::array<std::uint8_t, kMacBytes>;

Mac Authenticate(std::string_view key, const std::uint8_t* data, std::size_t size) {
  Mac mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, size, mac.data(),
           &length) == nullptr ||
      length != kMacBytes) {
    std::abort();  // SHA-256 HMAC cannot fail short of a broken OpenSSL
  }
  return mac;
}

void PutU64(std::uint8_t* out, std::uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

std::uint64_t GetU64(const std::uint8_t* in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | in[i];
  return value;
}

bool IsNodeId(std::string_view id) {
  if (id.empty() || id.size() > kMaxPeerNodeIdBytes) return false;
  for (const char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

Error Malformed(std::string what) {
  return Error(ErrorCode::kInvalidArgument, "peer packet: " + std::move(what));
}

}  // namespace

const char* PeerRoleName(PeerRole role) {
  switch (role) {
    case PeerRole::kStandby:
      return "standby";
    case PeerRole::kActive:
      return "active";
  }
  return "unknown";
}

const char* PeerPacketFaultName(PeerPacketFault fault) {
  switch (fault) {
    case PeerPacketFault::kMalformed:
      return "malformed";
    case PeerPacketFault::kForged:
      return "forged";
    case PeerPacketFault::kReplayed:
      return "replayed";
    case PeerPacketFault::kStale:
      return "stale";
  }
  return "unknown";
}

Status CheckPeerKey(std::string_view key) {
  if (key.size() < kMinPeerKeyBytes) {
    return Error(ErrorCode::kInvalidArgument, "peer key: " + std::to_string(key.size()) +
                                                  " bytes, at least " +
                                                  std::to_string(kMinPeerKeyBytes) + " needed");
  }
  return OkStatus();
}

Result<std::vector<std::uint8_t>> EncodePeerPacket(const PeerHeartbeat& heartbeat,
                                                   std::string_view key) {
  if (auto status = CheckPeerKey(key); !status.ok()) return status.error();
  if (!IsNodeId(heartbeat.node_id)) {
    return Error(ErrorCode::kInvalidArgument, "peer packet: node id must be 1.." +
                                                  std::to_string(kMaxPeerNodeIdBytes) +
                                                  " printable ASCII characters without blanks");
  }
  if (heartbeat.role != PeerRole::kStandby && heartbeat.role != PeerRole::kActive) {
    return Error(ErrorCode::kInvalidArgument, "peer packet: role is neither standby nor active");
  }
  const std::size_t body = kHeaderBytes + heartbeat.node_id.size();
  std::vector<std::uint8_t> packet(body + kMacBytes);
  std::memcpy(packet.data(), kMagic, sizeof(kMagic));
  packet[4] = kPeerPacketVersion;
  packet[5] = static_cast<std::uint8_t>(heartbeat.role);
  packet[6] = static_cast<std::uint8_t>(heartbeat.node_id.size());
  packet[7] = 0;
  PutU64(&packet[8], heartbeat.counter);
  PutU64(&packet[16], static_cast<std::uint64_t>(heartbeat.unix_ms));
  std::memcpy(&packet[kHeaderBytes], heartbeat.node_id.data(), heartbeat.node_id.size());
  const Mac mac = Authenticate(key, packet.data(), body);
  std::memcpy(&packet[body], mac.data(), kMacBytes);
  return packet;
}

Result<PeerHeartbeat> DecodePeerPacket(std::span<const std::uint8_t> packet, std::string_view key) {
  if (auto status = CheckPeerKey(key); !status.ok()) return status.error();
  if (packet.size() < kHeaderBytes + 1 + kMacBytes || packet.size() > kMaxPeerPacketBytes) {
    return Malformed(std::to_string(packet.size()) + " bytes, not " +
                     std::to_string(kHeaderBytes + 1 + kMacBytes) + ".." +
                     std::to_string(kMaxPeerPacketBytes));
  }
  if (std::memcmp(packet.data(), kMagic, sizeof(kMagic)) != 0) return Malformed("bad magic");
  if (packet[4] != kPeerPacketVersion) {
    return Malformed("version " + std::to_string(packet[4]) + ", this agent speaks " +
                     std::to_string(kPeerPacketVersion));
  }
  const std::size_t id_bytes = packet[6];
  const std::size_t body = kHeaderBytes + id_bytes;
  if (id_bytes == 0 || packet.size() != body + kMacBytes) {
    return Malformed("node id length " + std::to_string(id_bytes) + " does not fit " +
                     std::to_string(packet.size()) + " bytes");
  }
  const Mac expected = Authenticate(key, packet.data(), body);
  if (CRYPTO_memcmp(expected.data(), packet.data() + body, kMacBytes) != 0) {
    return Error(ErrorCode::kPermissionDenied, "peer packet: MAC does not verify with our key");
  }
  PeerHeartbeat heartbeat;
  if (packet[5] != static_cast<std::uint8_t>(PeerRole::kStandby) &&
      packet[5] != static_cast<std::uint8_t>(PeerRole::kActive)) {
    return Malformed("role " + std::to_string(packet[5]) + " is neither 1 nor 2");
  }
  if (packet[7] != 0) return Malformed("reserved byte is not zero");
  heartbeat.role = static_cast<PeerRole>(packet[5]);
  heartbeat.counter = GetU64(&packet[8]);
  heartbeat.unix_ms = static_cast<std::int64_t>(GetU64(&packet[16]));
  heartbeat.node_id.assign(reinterpret_cast<const char*>(&packet[kHeaderBytes]), id_bytes);
  if (!IsNodeId(heartbeat.node_id)) return Malformed("node id is not printable ASCII");
  return heartbeat;
}

PeerPacketFault PeerPacketFaultOf(const Error& decode_error) {
  return decode_error.code() == ErrorCode::kPermissionDenied ? PeerPacketFault::kForged
                                                             : PeerPacketFault::kMalformed;
}

std::uint64_t PeerCounterStart(std::chrono::system_clock::time_point now) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  return micros > 0 ? static_cast<std::uint64_t>(micros) : 0;
}

PeerReplayWindow::PeerReplayWindow(std::string peer_node_id, std::chrono::milliseconds max_skew)
    : peer_node_id_(std::move(peer_node_id)), max_skew_(max_skew) {}

std::optional<PeerPacketRejection> PeerReplayWindow::Admit(
    const PeerHeartbeat& heartbeat, std::chrono::system_clock::time_point now) {
  if (heartbeat.node_id != peer_node_id_) {
    // Authentic but not from the peer: our own packet reflected back, or a
    // third node holding the key.
    return PeerPacketRejection{
        PeerPacketFault::kForged,
        "from node \"" + heartbeat.node_id + "\", not the peer \"" + peer_node_id_ + "\""};
  }
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  // Saturating: a hostile timestamp near the int64 limits must not overflow.
  const long double skew = static_cast<long double>(heartbeat.unix_ms) - now_ms;
  if (skew > max_skew_.count() || -skew > max_skew_.count()) {
    const auto magnitude = static_cast<long long>(std::min<long double>(std::fabs(skew), 9e18L));
    return PeerPacketRejection{PeerPacketFault::kStale,
                               "timestamp " + std::to_string(magnitude) + " ms " +
                                   (skew < 0 ? "behind" : "ahead of") + " this clock, limit " +
                                   std::to_string(max_skew_.count()) + " ms"};
  }
  if (last_counter_ && heartbeat.counter <= *last_counter_) {
    return PeerPacketRejection{PeerPacketFault::kReplayed, "counter " +
                                                               std::to_string(heartbeat.counter) +
                                                               " not above the last accepted " +
                                                               std::to_string(*last_counter_)};
  }
  last_counter_ = heartbeat.counter;
  return std::nullopt;
}

}  // namespace atmhealth::platform
