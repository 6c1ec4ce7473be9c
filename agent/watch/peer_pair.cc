#include "agent/watch/peer_pair.h"

#include <fmt/format.h>

#include <utility>

#include "platform/config_values.h"

namespace atmhealth::agent {

using platform::PeerRole;

PeerPair::PeerPair(std::string key, std::string peer_node_id, PeerRole configured_role,
                   std::chrono::milliseconds peer_timeout, std::chrono::milliseconds max_skew,
                   std::chrono::steady_clock::time_point started)
    : key_(std::move(key)),
      configured_role_(configured_role),
      peer_timeout_(peer_timeout),
      started_(started),
      window_(std::move(peer_node_id), max_skew) {}

std::optional<platform::PeerPacketRejection> PeerPair::Receive(
    std::span<const std::uint8_t> datagram, std::chrono::system_clock::time_point wall,
    std::chrono::steady_clock::time_point now) {
  auto heartbeat = platform::DecodePeerPacket(datagram, key_);
  std::optional<platform::PeerPacketRejection> rejection;
  if (!heartbeat.ok()) {
    rejection = platform::PeerPacketRejection{platform::PeerPacketFaultOf(heartbeat.error()),
                                              heartbeat.error().message()};
  } else {
    rejection = window_.Admit(*heartbeat, wall);
  }
  if (rejection) {
    ++counts_.refused[static_cast<std::size_t>(rejection->fault)];
    return rejection;
  }
  ++counts_.accepted;
  last_heard_ = now;
  peer_role_ = heartbeat->role;
  return std::nullopt;
}

std::optional<PeerPairView> PeerPair::Judge(PeerRole own_role,
                                            std::chrono::steady_clock::time_point now) const {
  PeerPairView view;
  view.peer_role = peer_role_;
  if (last_heard_) {
    view.peer_silent_for =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - *last_heard_);
    view.peer_present = *view.peer_silent_for <= peer_timeout_;
  } else if (now - started_ < peer_timeout_) {
    return std::nullopt;  // the peer may be starting too
  }
  const bool active = own_role == PeerRole::kActive;
  const bool reversed = own_role != configured_role_;
  const std::string self =
      fmt::format("this node {} (configured {})", platform::PeerRoleName(own_role),
                  platform::PeerRoleName(configured_role_));
  if (!view.peer_present) {
    const std::string silence =
        view.peer_silent_for
            ? fmt::format("no valid heartbeat from the peer for {} (peer_timeout {})",
                          platform::FormatDuration(*view.peer_silent_for),
                          platform::FormatDuration(peer_timeout_))
            : fmt::format("no valid heartbeat from the peer since start (peer_timeout {})",
                          platform::FormatDuration(peer_timeout_));
    if (!active) {
      view.state = RedundancyState::kDown;
      view.condition = fmt::format("{}; {}, and this node has not taken over", silence, self);
    } else {
      view.state = reversed ? RedundancyState::kFailedOver : RedundancyState::kDegraded;
      view.condition = fmt::format("{}; {}", silence, self);
    }
    return view;
  }
  const bool peer_active = *peer_role_ == PeerRole::kActive;
  if (active && peer_active) {
    view.state = RedundancyState::kSplitBrain;
  } else if (!active && !peer_active) {
    view.state = RedundancyState::kDown;
  } else {
    view.state = reversed ? RedundancyState::kFailedOver : RedundancyState::kRedundant;
  }
  view.condition = fmt::format("peer {}, {}", platform::PeerRoleName(*peer_role_), self);
  return view;
}

std::uint64_t PeerCounter::Next(std::chrono::system_clock::time_point wall) {
  std::uint64_t next = platform::PeerCounterStart(wall);
  if (last_ && next <= *last_) next = *last_ + 1;
  last_ = next;
  return next;
}

}  // namespace atmhealth::agent
