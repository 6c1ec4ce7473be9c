#include "agent/watch/peer_watcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <limits>
#include <optional>
#include <utility>

#include "platform/repeated_condition.h"
#include "platform/text_input.h"

namespace atmhealth::agent {
namespace {

using platform::PeerPacketFault;
using platform::PeerRole;

constexpr std::array<PeerPacketFault, 4> kFaults = {
    PeerPacketFault::kForged, PeerPacketFault::kReplayed, PeerPacketFault::kStale,
    PeerPacketFault::kMalformed};

// After a receive error the socket waits this long before it receives
// again, so an error that repeats at once cannot spin the I/O thread.
constexpr std::chrono::milliseconds kReceiveRetry{100};

asio::ip::udp::endpoint EndpointOf(const platform::HostPort& address) {
  return {asio::ip::make_address(address.host), address.port};
}

std::string FormatCounts(const PeerPacketCounts& counts, PeerPacketFault fault) {
  return std::to_string(counts.refused_of(fault));
}

}  // namespace

// The socket: sends a heartbeat every send_interval and hands every
// datagram received to the PeerPair. Lives on one executor: Start(), Close()
// and every handler run there.
class PeerWatcher::Link : public std::enable_shared_from_this<PeerWatcher::Link> {
 public:
  Link(asio::io_context& io, asio::ip::udp::socket socket, const PeerConfig& config,
       std::string device, const platform::Clock& clock, std::shared_ptr<Shared> shared)
      : socket_(std::move(socket)),
        send_timer_(io),
        retry_timer_(io),
        peer_(EndpointOf(config.peer)),
        key_(config.key),
        send_interval_(config.send_interval),
        device_(std::move(device)),
        clock_(clock),
        shared_(std::move(shared)),
        send_failures_(clock),
        refusals_{platform::RepeatedCondition(clock), platform::RepeatedCondition(clock),
                  platform::RepeatedCondition(clock), platform::RepeatedCondition(clock)} {}

  void Start() {
    DoReceive();
    DoSend();
  }

  void Close() {
    closed_ = true;
    send_timer_.cancel();
    retry_timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void DoSend() {
    if (closed_) return;
    if (!sending_) {
      const auto wall = clock_.WallNow();
      platform::PeerHeartbeat heartbeat;
      heartbeat.node_id = device_;
      heartbeat.role = shared_->role.load();
      heartbeat.counter = counter_.Next(wall);
      heartbeat.unix_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
      // The config checked the key and the device id, so encoding cannot fail.
      packet_ = platform::EncodePeerPacket(heartbeat, key_).value();
      sending_ = true;
      socket_.async_send_to(asio::buffer(packet_), peer_,
                            [self = shared_from_this()](const boost::system::error_code& error,
                                                        std::size_t) { self->OnSend(error); });
    }
    send_timer_.expires_after(send_interval_);
    send_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (!error) self->DoSend();
    });
  }

  void OnSend(const boost::system::error_code& error) {
    sending_ = false;
    if (error == asio::error::operation_aborted || closed_) return;
    if (error) {
      if (auto repeats = send_failures_.Occurred()) {
        spdlog::warn("peer: cannot send a heartbeat to {}: {}{}", Describe(peer_), error.message(),
                     platform::RepeatedCondition::Note(*repeats));
      }
    } else if (auto total = send_failures_.Cleared()) {
      spdlog::info("peer: heartbeats to {} go out again after {} failed", Describe(peer_), *total);
    }
  }

  void DoReceive() {
    if (closed_) return;
    socket_.async_receive_from(
        asio::buffer(buffer_), sender_,
        [self = shared_from_this()](const boost::system::error_code& error, std::size_t bytes) {
          self->OnReceive(error, bytes);
        });
  }

  void OnReceive(const boost::system::error_code& error, std::size_t bytes) {
    if (error == asio::error::operation_aborted || closed_) return;
    if (error) {
      // ICMP errors of earlier sends (the peer's port closed) surface here.
      if (error != asio::error::connection_refused) {
        spdlog::warn("peer: receive failed: {}", error.message());
      }
      retry_timer_.expires_after(kReceiveRetry);
      retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (!e) self->DoReceive();
      });
      return;
    }
    std::optional<platform::PeerPacketRejection> rejection;
    {
      std::lock_guard lock(shared_->mutex);
      rejection = shared_->pair.Receive(std::span<const std::uint8_t>(buffer_.data(), bytes),
                                        clock_.WallNow(), clock_.MonotonicNow());
    }
    if (rejection) {
      auto& condition = refusals_[static_cast<std::size_t>(rejection->fault)];
      if (auto repeats = condition.Occurred()) {
        spdlog::warn("peer: refused a {} heartbeat from {}: {}{}",
                     platform::PeerPacketFaultName(rejection->fault), Describe(sender_),
                     rejection->detail, platform::RepeatedCondition::Note(*repeats));
      }
    }
    DoReceive();
  }

  static std::string Describe(const asio::ip::udp::endpoint& endpoint) {
    return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
  }

  asio::ip::udp::socket socket_;
  asio::steady_timer send_timer_;
  asio::steady_timer retry_timer_;
  asio::ip::udp::endpoint peer_;
  std::string key_;
  std::chrono::milliseconds send_interval_;
  std::string device_;
  const platform::Clock& clock_;
  std::shared_ptr<Shared> shared_;
  PeerCounter counter_;
  std::vector<std::uint8_t> packet_;  // the heartbeat being sent
  bool sending_ = false;
  // One byte more than the largest packet: a longer datagram is seen as
  // too long, not cut to a valid-looking size.
  std::array<std::uint8_t, platform::kMaxPeerPacketBytes + 1> buffer_{};
  asio::ip::udp::endpoint sender_;
  platform::RepeatedCondition send_failures_;
  std::array<platform::RepeatedCondition, 4> refusals_;  // by PeerPacketFault
  bool closed_ = false;
};

WatcherKind PeerWatcher::Kind() {
  WatcherKind kind;
  kind.section = "peer";
  kind.parse = [](const ConfigSection& section,
                  const DeviceConfig& device) -> Result<std::shared_ptr<const WatcherSettings>> {
    auto config = ReadPeerConfig(section, device.id, device.services);
    if (!config.ok()) return config.error();
    return std::shared_ptr<const WatcherSettings>(std::move(config).value());
  };
  kind.create = [](const WatcherSettings& settings,
                   const WatcherContext& context) -> Result<std::unique_ptr<Watcher>> {
    auto watcher =
        Create(dynamic_cast<const PeerConfig&>(settings), context.device.id, context.clock);
    if (!watcher.ok()) return watcher.error();
    for (const auto& line : settings.Describe()) spdlog::info("{}", line);
    return std::unique_ptr<Watcher>(std::move(watcher).value());
  };
  return kind;
}

PeerWatcher::PeerWatcher(const PeerConfig& config, const platform::Clock& clock,
                         std::shared_ptr<Shared> shared)
    : config_(config),
      clock_(clock),
      shared_(std::move(shared)),
      role_source_("peer", config.role_file) {}

Result<std::unique_ptr<PeerWatcher>> PeerWatcher::Create(const PeerConfig& config,
                                                         const std::string& device,
                                                         const platform::Clock& clock) {
  if (auto key = platform::CheckPeerKey(config.key); !key.ok()) {
    return Error(key.error().code(), "peer: " + key.error().message());
  }
  auto shared =
      std::make_shared<Shared>(PeerPair(config.key, config.peer_device, config.role,
                                        config.peer_timeout, config.max_skew, clock.MonotonicNow()),
                               config.role);
  std::unique_ptr<PeerWatcher> watcher(new PeerWatcher(config, clock, shared));
  boost::system::error_code error;
  const auto listen = asio::ip::udp::endpoint(asio::ip::make_address(config.listen.host, error),
                                              config.listen.port);
  if (error) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("peer: listen address \"{}\": {}",
                                                          config.listen.host, error.message()));
  }
  asio::ip::udp::socket socket(watcher->io_);
  socket.open(listen.protocol(), error);
  if (!error) socket.bind(listen, error);
  if (!error) watcher->port_ = socket.local_endpoint(error).port();
  if (error) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("peer: cannot receive heartbeats on {}:{}: {}", config.listen.host,
                             config.listen.port, error.message()));
  }
  watcher->link_ = std::make_shared<Link>(watcher->io_, std::move(socket), config, device, clock,
                                          std::move(shared));
  asio::post(watcher->io_, [link = watcher->link_] { link->Start(); });
  watcher->thread_ = std::thread([io = &watcher->io_] { io->run(); });
  return watcher;
}

PeerWatcher::~PeerWatcher() {
  if (link_) asio::post(io_, [link = link_] { link->Close(); });
  if (thread_.joinable()) thread_.join();  // run() returns once the socket and timers are done
}

void PeerWatcher::Sample(std::vector<Measurement>& out) {
  PeerRole role = shared_->role.load();
  if (!config_.role_file.empty()) {
    auto text = platform::ReadTextFile(config_.role_file, kMaxPeerKeyFileBytes);
    auto read =
        text.ok() ? ParsePeerRole(*text, config_.role_file) : Result<PeerRole>(text.error());
    if (read.ok()) {
      if (*read != role) {
        spdlog::info("peer: this node is {} now ({})", platform::PeerRoleName(*read),
                     config_.role_file);
      }
      role = *read;
      shared_->role.store(role);
      out.push_back(role_source_.Worked());
    } else {
      out.push_back(role_source_.Failed(read.error()));
    }
  }

  std::optional<PeerPairView> view;
  PeerPacketCounts counts;
  {
    std::lock_guard lock(shared_->mutex);
    view = shared_->pair.Judge(role, clock_.MonotonicNow());
    counts = shared_->pair.counts();
  }
  std::vector<std::pair<std::string, std::string>> refused;
  for (PeerPacketFault fault : kFaults) {
    refused.emplace_back(platform::PeerPacketFaultName(fault), FormatCounts(counts, fault));
  }

  if (view && view->state != logged_state_) {
    spdlog::info("peer: the pair with {} is {}: {}", config_.peer_device,
                 RedundancyStateName(view->state), view->condition);
    logged_state_ = view->state;
  }
  if (view) {
    Measurement pair(
        v1::ALERT_KIND_PEER, config_.peer_device, view->peer_present ? 2 : 1, v1::UNIT_COUNT,
        {{"condition", view->condition},
         {"role", platform::PeerRoleName(role)},
         {"configured_role", platform::PeerRoleName(config_.role)},
         {"peer_role", view->peer_role ? platform::PeerRoleName(*view->peer_role) : "never heard"},
         {"peer_last_heard", view->peer_silent_for
                                 ? platform::FormatDuration(*view->peer_silent_for) + " ago"
                                 : "never"},
         {"heartbeats_accepted", std::to_string(counts.accepted)},
         {"heartbeats_refused", std::to_string(counts.refused_total())}});
    pair.expected = 2;
    pair.state = view->state;
    out.push_back(std::move(pair));
  }

  const std::uint64_t total = counts.refused_total();
  Measurement rejected(v1::ALERT_KIND_PEER, RefusedSubject(config_.peer_device),
                       static_cast<double>(total - refused_reported_), v1::UNIT_COUNT,
                       std::move(refused));
  rejected.context.emplace_back("refused_total", std::to_string(total));
  rejected.context.emplace_back("accepted_total", std::to_string(counts.accepted));
  refused_reported_ = total;
  out.push_back(std::move(rejected));
}

std::vector<RuleDefinition> PeerWatcher::Rules() const {
  std::vector<RuleDefinition> rules;
  rules.push_back(RedundancyRule(v1::ALERT_KIND_PEER, config_.peer_device, config_.states));
  // Someone sends heartbeats the pair must not believe: a wrong key, a
  // replay, a clock far off. A warning while they come; the counts since
  // start are in the context.
  ThresholdSpec refused(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  refused.warning = 1;
  refused.critical = std::numeric_limits<double>::infinity();
  rules.push_back(
      RuleDefinition{v1::ALERT_KIND_PEER, RefusedSubject(config_.peer_device), std::move(refused)});
  if (!config_.role_file.empty()) rules.push_back(role_source_.Rule());
  return rules;
}

}  // namespace atmhealth::agent
