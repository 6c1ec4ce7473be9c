// Opens, binds and listens a TCP acceptor, for the agent listener and the
// HTTP server alike, with errors that name what is listening.
#ifndef ATMHEALTH_COLLECTOR_TCP_LISTEN_H_
#define ATMHEALTH_COLLECTOR_TCP_LISTEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "platform/asio.h"
#include "platform/status.h"

namespace atmhealth::collector {

// Binds `acceptor` to `address`:`port` (an IP address; port 0 picks a free
// one) and listens. Returns the bound port. `what` names the listener in
// errors: `agent listener 127.0.0.1:7411: Address already in use`.
Result<std::uint16_t> ListenOn(asio::ip::tcp::acceptor& acceptor, const std::string& address,
                               std::uint16_t port, std::string_view what);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_TCP_LISTEN_H_
