// Receives the transaction feed: datagrams on a Unix socket whose mode and
// group decide who may write (the ATM application's account), and optionally
// on UDP bound to a loopback address (never any other). Every datagram goes
// to a FeedIntake.
//
// Bounded: one receive buffer of max_datagram_bytes per socket, and the
// kernel's socket buffer set to receive_buffer_bytes; a datagram larger than
// max_datagram_bytes is counted as truncated, its whole lines still used.
#ifndef ATMHEALTH_AGENT_FEED_FEED_RECEIVER_H_
#define ATMHEALTH_AGENT_FEED_FEED_RECEIVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/feed/feed_intake.h"
#include "platform/asio.h"
#include "platform/config_values.h"
#include "platform/status.h"

namespace atmhealth::agent::feed {

struct FeedListenOptions {
  std::string socket_path;                // Unix datagram socket; empty: none
  std::uint32_t socket_mode = 0660;       // permission bits of the socket file
  std::string socket_group;               // group of the socket file; empty: the agent's
  std::optional<platform::HostPort> udp;  // loopback address only
  std::size_t max_datagram_bytes = 8192;
  std::size_t receive_buffer_bytes = 256 * 1024;  // SO_RCVBUF
};

// The UDP endpoint of `address` if it is a loopback IP address literal
// (127.0.0.0/8 or ::1); anything else is refused, names included, because a
// name could resolve elsewhere.
Result<asio::ip::udp::endpoint> LoopbackUdpEndpoint(const platform::HostPort& address);

// Lives on one executor: Open(), Close() and the receive handlers all run
// there (Close() may also be called before the executor runs).
class FeedReceiver : public std::enable_shared_from_this<FeedReceiver> {
 public:
  // Binds the sockets (the Unix socket is bound under a temporary name, given
  // its mode and group, then renamed into place, so it is never writable by
  // others) and starts receiving. `intake` must outlive the receiver.
  static Result<std::shared_ptr<FeedReceiver>> Open(asio::any_io_executor executor,
                                                    const FeedListenOptions& options,
                                                    FeedIntake& intake);
  ~FeedReceiver();

  // Stops receiving and removes the socket file.
  void Close();

  // The bound UDP port (0 without UDP): for a config that asks for port 0.
  std::uint16_t udp_port() const { return udp_port_; }
  // Receive errors other than a close, since start.
  std::uint64_t receive_errors() const { return receive_errors_.load(); }

 private:
  FeedReceiver(asio::any_io_executor executor, const FeedListenOptions& options,
               FeedIntake& intake);
  void DoReceiveLocal();
  void DoReceiveUdp();
  // Returns whether to receive again.
  bool OnReceive(const boost::system::error_code& error, std::size_t bytes,
                 const std::vector<char>& buffer);

  FeedListenOptions options_;
  FeedIntake& intake_;
  asio::local::datagram_protocol::socket local_;
  asio::ip::udp::socket udp_;
  std::vector<char> local_buffer_;
  std::vector<char> udp_buffer_;
  std::uint16_t udp_port_ = 0;
  std::atomic<std::uint64_t> receive_errors_{0};
  int consecutive_errors_ = 0;
  bool closed_ = false;
};

}  // namespace atmhealth::agent::feed

#endif  // ATMHEALTH_AGENT_FEED_FEED_RECEIVER_H_
