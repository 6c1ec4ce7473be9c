#include "agent/feed/feed_receiver.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <string_view>
#include <utility>

#include "platform/local_socket.h"

namespace atmhealth::agent::feed {
namespace {

// Consecutive receive errors after which a socket is given up (a broken
// socket would otherwise spin).
constexpr int kMaxConsecutiveErrors = 100;

}  // namespace

Result<asio::ip::udp::endpoint> LoopbackUdpEndpoint(const platform::HostPort& address) {
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 "\"" + address.host +
                     "\" is not an IP address; the feed listens on loopback "
                     "only, e.g. 127.0.0.1");
  }
  if (!ip.is_loopback()) {
    return Error(ErrorCode::kInvalidArgument,
                 "\"" + address.host +
                     "\" is not a loopback address; the feed never listens "
                     "beyond this machine");
  }
  return asio::ip::udp::endpoint(ip, address.port);
}

FeedReceiver::FeedReceiver(asio::any_io_executor executor, const FeedListenOptions& options,
                           FeedIntake& intake)
    : options_(options),
      intake_(intake),
      local_(executor),
      udp_(executor),
      // One byte more than allowed tells an oversized datagram from one that
      // fits exactly.
      local_buffer_(options.max_datagram_bytes + 1),
      udp_buffer_(options.max_datagram_bytes + 1) {}

FeedReceiver::~FeedReceiver() {
  if (!closed_ && !options_.socket_path.empty() && local_.is_open()) {
    std::error_code ignored;
    std::filesystem::remove(options_.socket_path, ignored);
  }
}

Result<std::shared_ptr<FeedReceiver>> FeedReceiver::Open(asio::any_io_executor executor,
                                                         const FeedListenOptions& options,
                                                         FeedIntake& intake) {
  std::shared_ptr<FeedReceiver> receiver(new FeedReceiver(executor, options, intake));
  boost::system::error_code ec;
  const asio::socket_base::receive_buffer_size receive_buffer(
      static_cast<int>(options.receive_buffer_bytes));

  if (!options.socket_path.empty()) {
    const std::string& path = options.socket_path;
    auto& socket = receiver->local_;
    socket.open(asio::local::datagram_protocol(), ec);
    if (ec) return Error(ErrorCode::kIo, "feed socket \"" + path + "\": " + ec.message());
    if (Status bound = platform::BindLocalSocket(socket, path, options.socket_mode,
                                                 options.socket_group, "feed socket");
        !bound.ok()) {
      socket.close(ec);  // the path is not ours: the destructor must not remove it
      return bound.error();
    }
    socket.set_option(receive_buffer, ec);
    if (ec) spdlog::warn("feed socket \"{}\": receive buffer size: {}", path, ec.message());
  }

  if (options.udp) {
    auto endpoint = LoopbackUdpEndpoint(*options.udp);
    if (!endpoint.ok())
      return Error(endpoint.error().code(), "feed udp: " + endpoint.error().message());
    auto& socket = receiver->udp_;
    socket.open(endpoint->protocol(), ec);
    if (!ec) socket.bind(*endpoint, ec);
    if (ec) {
      return Error(ErrorCode::kIo, "feed udp " + endpoint->address().to_string() + ":" +
                                       std::to_string(endpoint->port()) +
                                       ": bind: " + ec.message());
    }
    socket.set_option(receive_buffer, ec);
    if (ec) spdlog::warn("feed udp: receive buffer size: {}", ec.message());
    receiver->udp_port_ = socket.local_endpoint().port();
  }

  if (receiver->local_.is_open()) receiver->DoReceiveLocal();
  if (receiver->udp_.is_open()) receiver->DoReceiveUdp();
  return receiver;
}

void FeedReceiver::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  if (local_.is_open()) {
    local_.close(ignored);
    std::error_code removed;
    std::filesystem::remove(options_.socket_path, removed);
  }
  if (udp_.is_open()) udp_.close(ignored);
}

bool FeedReceiver::OnReceive(const boost::system::error_code& error, std::size_t bytes,
                             const std::vector<char>& buffer) {
  if (error == asio::error::operation_aborted || closed_) return false;
  if (error) {
    if (++receive_errors_ <= 3)
      spdlog::warn("transaction feed: receive failed: {}", error.message());
    if (++consecutive_errors_ < kMaxConsecutiveErrors) return true;
    spdlog::error("transaction feed: {} receive errors in a row, socket given up",
                  consecutive_errors_);
    return false;
  }
  consecutive_errors_ = 0;
  const bool truncated = bytes > options_.max_datagram_bytes;
  intake_.Datagram(std::string_view(buffer.data(), truncated ? options_.max_datagram_bytes : bytes),
                   truncated);
  return true;
}

void FeedReceiver::DoReceiveLocal() {
  local_.async_receive(
      asio::buffer(local_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, std::size_t bytes) {
        if (self->OnReceive(error, bytes, self->local_buffer_)) {
          self->DoReceiveLocal();
        }
      });
}

void FeedReceiver::DoReceiveUdp() {
  udp_.async_receive(
      asio::buffer(udp_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, std::size_t bytes) {
        if (self->OnReceive(error, bytes, self->udp_buffer_)) self->DoReceiveUdp();
      });
}

}  // namespace atmhealth::agent::feed
