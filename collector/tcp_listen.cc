#include "collector/tcp_listen.h"

#include <fmt/format.h>

namespace atmhealth::collector {

Result<std::uint16_t> ListenOn(asio::ip::tcp::acceptor& acceptor, const std::string& address,
                               std::uint16_t port, std::string_view what) {
  const std::string where = fmt::format("{} {}:{}", what, address, port);
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(address, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{}: \"{}\" is not an IP address", where, address));
  }
  const asio::ip::tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error(ErrorCode::kUnavailable, fmt::format("{}: {}", where, ec.message()));
  const std::uint16_t bound = acceptor.local_endpoint(ec).port();
  if (ec) return Error(ErrorCode::kIo, fmt::format("{}: {}", where, ec.message()));
  return bound;
}

}  // namespace atmhealth::collector
