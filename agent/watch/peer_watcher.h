// The peer watcher: this agent's half of an active/standby pair. The two
// agents send each other a heartbeat every send_interval over UDP
// (platform/peer_packet.h: HMAC-SHA-256 with the shared key, a timestamp and
// a counter against replay); each judges the pair in the one redundancy
// state model (agent/watch/peer_pair.h) from its own role and what it heard.
//
// Each Sample() appends:
//   ALERT_KIND_PEER <peer_device>  nodes of the pair alive (UNIT_COUNT:
//     2 while the peer is heard, 1 when it is lost), expected 2, state
//     redundant / degraded (peer lost while this node serves: redundancy
//     lost while the service is still up) / failed_over / split_brain /
//     down, see peer_pair.h; context: both roles, the condition, when the
//     peer was last heard and the packet counts. Not measured during the
//     first peer_timeout after start unless the peer was heard.
//   ALERT_KIND_PEER refused:<peer_device>  packets refused since the last
//     sample (UNIT_COUNT), a warning from 1: forged (MAC does not verify, or
//     not from the peer), replayed (counter not above the last accepted),
//     stale (timestamp outside max_skew) or malformed; context: the counts of
//     each since start. The first refusal of each kind is logged with its
//     reason and sender, then at most one line a minute.
//   ALERT_KIND_AGENT_HEALTH probe:<role_file>  1 while the role file cannot
//     be read or parsed; this node keeps its last role meanwhile.
//
// Split brain is ALERT_KIND_PEER too: one pair, one alert that moves through
// its states. ALERT_KIND_CLUSTER is a cluster manager's own view
// (keepalived, pacemaker).
//
// The socket lives on the watcher's own I/O thread; Sample() only takes a
// short lock to read what it heard, so network I/O never blocks the sampler.
#ifndef ATMHEALTH_AGENT_WATCH_PEER_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_PEER_WATCHER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/watch/peer_config.h"
#include "agent/watch/peer_pair.h"
#include "agent/watch/redundancy_rule.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"
#include "platform/asio.h"
#include "platform/clock.h"

namespace atmhealth::agent {

// Sampled by one thread; the socket runs on the watcher's own.
class PeerWatcher final : public Watcher {
 public:
  // The registry entry: [peer], off unless the section is present.
  static WatcherKind Kind();
  // Binds the socket and starts sending and receiving heartbeats as
  // `device` (this node's id). `clock` must outlive the watcher.
  static Result<std::unique_ptr<PeerWatcher>> Create(const PeerConfig& config,
                                                     const std::string& device,
                                                     const platform::Clock& clock);
  ~PeerWatcher() override;

  std::string_view name() const override { return "peer"; }
  void Sample(std::vector<Measurement>& out) override;
  std::vector<RuleDefinition> Rules() const override;
  // The socket's thread, "peer", for the daemon's watchdog: a hung I/O
  // thread stops the heartbeats, so it must get the agent restarted.
  std::vector<WatcherThread> Threads() const override { return {WatcherThread{"peer", executor_}}; }

  // The subject of the refused-packets alert.
  static std::string RefusedSubject(std::string_view peer_device) {
    return "refused:" + std::string(peer_device);
  }
  // The bound UDP port.
  std::uint16_t port() const { return port_; }

  // What the socket shares with the sampler.
  struct Shared {
    Shared(PeerPair pair_, platform::PeerRole role_) : pair(std::move(pair_)), role(role_) {}
    std::mutex mutex;
    PeerPair pair;                         // guarded by mutex
    std::atomic<platform::PeerRole> role;  // this node's role now, sent in heartbeats
  };
  class Link;

 private:
  PeerWatcher(const PeerConfig& config, const platform::Clock& clock,
              std::shared_ptr<Shared> shared);

  PeerConfig config_;
  const platform::Clock& clock_;
  std::shared_ptr<Shared> shared_;
  SourceHealth role_source_;
  std::uint64_t refused_reported_ = 0;           // refused packets already in a measurement
  std::optional<RedundancyState> logged_state_;  // the pair's state last logged
  std::uint16_t port_ = 0;
  asio::io_context io_{1};
  asio::any_io_executor executor_{io_.get_executor()};
  std::shared_ptr<Link> link_;
  std::thread thread_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_PEER_WATCHER_H_
