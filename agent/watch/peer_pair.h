// What one agent of an active/standby pair knows of the pair: the heartbeats
// it accepted from its peer (platform/peer_packet.h checks them), the roles
// of both nodes, and from those the pair's state in the one redundancy state
// model. Pure: the watcher owns the socket and the clock.
//
// The pair's state, judged on this node (peer present = a heartbeat
// accepted within peer_timeout):
//
//   this node   peer          state        meaning
//   active      standby       redundant    (failed_over when this node's
//   standby     active        redundant     configured role is the other one:
//                                           the pair runs the wrong way round)
//   active      active        split_brain  both serve: data may diverge
//   standby     standby       down         nobody serves
//   active      lost          degraded     redundancy lost while the service
//                                           is still up (failed_over when this
//                                           node was configured standby: it
//                                           took over because the peer is gone)
//   standby     lost          down         the active is gone and this node
//                                           has not taken over
//
// Before the first heartbeat the peer counts as present for one peer_timeout
// after start (it may simply be starting too); nothing is judged until then.
#ifndef ATMHEALTH_AGENT_WATCH_PEER_PAIR_H_
#define ATMHEALTH_AGENT_WATCH_PEER_PAIR_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "agent/watch/measurement.h"
#include "platform/peer_packet.h"

namespace atmhealth::agent {

// Packets received from the network, by what became of them.
struct PeerPacketCounts {
  std::uint64_t accepted = 0;
  // Refused, indexed by platform::PeerPacketFault.
  std::array<std::uint64_t, 4> refused{};

  std::uint64_t refused_total() const { return refused[0] + refused[1] + refused[2] + refused[3]; }
  std::uint64_t refused_of(platform::PeerPacketFault fault) const {
    return refused[static_cast<std::size_t>(fault)];
  }
};

// The pair as judged at one moment.
struct PeerPairView {
  RedundancyState state = RedundancyState::kRedundant;
  bool peer_present = false;
  std::optional<platform::PeerRole> peer_role;  // the role of its last accepted heartbeat
  // Since the last accepted heartbeat; nullopt before the first.
  std::optional<std::chrono::milliseconds> peer_silent_for;
  std::string condition;  // one line for the alert: why this state
};

// Not thread-safe: the watcher guards it.
class PeerPair {
 public:
  // `key` is the shared key (CheckPeerKey must accept it); `configured_role`
  // the role this node has by design. Heartbeats are accepted from
  // `peer_node_id` only, with a timestamp within `max_skew` of this node's
  // wall clock and a counter above the last accepted one.
  PeerPair(std::string key, std::string peer_node_id, platform::PeerRole configured_role,
           std::chrono::milliseconds peer_timeout, std::chrono::milliseconds max_skew,
           std::chrono::steady_clock::time_point started);

  // One datagram from the network. nullopt when it was accepted as the
  // peer's heartbeat; otherwise why it was refused (it changes nothing but
  // the counts).
  std::optional<platform::PeerPacketRejection> Receive(std::span<const std::uint8_t> datagram,
                                                       std::chrono::system_clock::time_point wall,
                                                       std::chrono::steady_clock::time_point now);

  // The pair's state while this node has `own_role`; nullopt during the
  // grace period after start, before any heartbeat.
  std::optional<PeerPairView> Judge(platform::PeerRole own_role,
                                    std::chrono::steady_clock::time_point now) const;

  const PeerPacketCounts& counts() const { return counts_; }
  platform::PeerRole configured_role() const { return configured_role_; }

 private:
  std::string key_;
  platform::PeerRole configured_role_;
  std::chrono::milliseconds peer_timeout_;
  std::chrono::steady_clock::time_point started_;
  platform::PeerReplayWindow window_;
  PeerPacketCounts counts_;
  std::optional<std::chrono::steady_clock::time_point> last_heard_;
  std::optional<platform::PeerRole> peer_role_;
};

// The counters of the heartbeats a node sends: strictly increasing, and
// following the wall clock in microseconds (PeerCounterStart), so that a
// restarted sender continues above every counter it sent before, and after
// its clock stepped back it is refused as a replay for at most that step.
class PeerCounter {
 public:
  std::uint64_t Next(std::chrono::system_clock::time_point wall);

 private:
  std::optional<std::uint64_t> last_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_PEER_PAIR_H_
