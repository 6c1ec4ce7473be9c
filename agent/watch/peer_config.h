// The [peer] section: the other agent of an active/standby pair, the
// heartbeats the two exchange over UDP and the states of the pair.
#ifndef ATMHEALTH_AGENT_WATCH_PEER_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_PEER_CONFIG_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/rules/rule.h"
#include "platform/config_values.h"
#include "platform/peer_packet.h"

namespace atmhealth::agent {

struct PeerConfig final : WatcherSettings {
  PeerConfig() { interval = std::chrono::seconds(1); }

  // [peer] listen: the IP address and port this node receives heartbeats on
  // and sends them from. An address literal, never a name.
  platform::HostPort listen;
  // [peer] peer: the IP address and port of the peer's `listen`.
  platform::HostPort peer;
  // [peer] peer_device: the peer's [device] id; heartbeats from any other
  // node are refused. The alert's subject.
  std::string peer_device;
  // [peer] key_file: the shared key, the same file on both nodes; readable
  // by its owner only. Its text without surrounding blanks is the key, at
  // least platform::kMinPeerKeyBytes bytes.
  std::string key_file;
  std::string key;  // the key read from key_file; never logged or described
  // [peer] role: this node's role by design.
  platform::PeerRole role = platform::PeerRole::kStandby;
  // [peer] role_file: where the cluster manager or the ATM application
  // writes the role this node has now ("active" or "standby", one line);
  // empty: the node always has `role`.
  std::string role_file;
  std::chrono::milliseconds send_interval{1000};  // [peer] send_interval: between two heartbeats
  // [peer] peer_timeout: without a valid heartbeat for this long the peer is
  // lost. At least two send intervals: one lost datagram is not a lost peer.
  std::chrono::milliseconds peer_timeout{5000};
  // [peer] max_skew: a heartbeat whose timestamp is further than this from
  // this node's clock is refused as stale (replay protection).
  std::chrono::milliseconds max_skew{10000};
  // [peer] for and [peer.states], category daily operation redundancy.
  StateSpec states{v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY};

  std::vector<std::string> Describe() const override;
};

// The key files's largest accepted size, bytes.
inline constexpr std::size_t kMaxPeerKeyFileBytes = 4096;

// Reads [peer] (and its key file); nullptr when the file has none (the
// watcher is off). `device` is this node's id, which the peer's must differ
// from.
Result<std::shared_ptr<const PeerConfig>> ReadPeerConfig(
    const ConfigSection& section, const std::string& device,
    const std::vector<v1::CustomerService>& offered);

// The role in a role file's text: its first line that is neither blank nor
// a '#' comment, "active" or "standby". Errors name `source` and the line.
Result<platform::PeerRole> ParsePeerRole(std::string_view text, std::string_view source);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_PEER_CONFIG_H_
