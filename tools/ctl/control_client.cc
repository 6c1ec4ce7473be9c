#include "tools/ctl/control_client.h"

#include <fmt/format.h>

#include <string_view>

#include "platform/asio.h"

namespace atmhealth::ctl {

Result<nlohmann::json> AskDaemon(const std::string& socket_path, const nlohmann::json& request,
                                 std::chrono::milliseconds timeout) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  const std::string line = request.dump() + "\n";
  std::string answer;
  boost::system::error_code failure;
  enum class Step { kConnect, kSend, kReceive, kDone } step = Step::kConnect;

  socket.async_connect(
      asio::local::stream_protocol::endpoint(socket_path), [&](boost::system::error_code ec) {
        if (ec) {
          failure = ec;
          return;
        }
        step = Step::kSend;
        asio::async_write(
            socket, asio::buffer(line), [&](boost::system::error_code written, std::size_t) {
              if (written) {
                failure = written;
                return;
              }
              step = Step::kReceive;
              asio::async_read_until(socket, asio::dynamic_buffer(answer, kMaxAnswerBytes), '\n',
                                     [&](boost::system::error_code read, std::size_t) {
                                       if (read)
                                         failure = read;
                                       else
                                         step = Step::kDone;
                                     });
            });
      });
  io.run_for(timeout);

  if (step == Step::kConnect) {
    if (failure == asio::error::no_permission || failure == asio::error::access_denied) {
      return Error(ErrorCode::kPermissionDenied,
                   fmt::format("control socket {}: permission denied: this account is not "
                               "allowed by the socket's mode and group ([control] socket_mode, "
                               "socket_group)",
                               socket_path));
    }
    if (failure == asio::error::not_found || failure.value() == ENOENT ||
        failure == asio::error::connection_refused) {
      return Error(
          ErrorCode::kUnavailable,
          fmt::format("atmhealthd is not running: {} control socket at {}",
                      failure == asio::error::connection_refused ? "nobody listens on the" : "no",
                      socket_path));
    }
    return Error(failure ? ErrorCode::kUnavailable : ErrorCode::kTimeout,
                 fmt::format("control socket {}: {}", socket_path,
                             failure ? failure.message() : "connect timed out"));
  }
  if (step != Step::kDone) {
    if (!failure) {
      return Error(ErrorCode::kTimeout, fmt::format("atmhealthd did not answer within {} ms on {}",
                                                    timeout.count(), socket_path));
    }
    if (failure == asio::error::not_found) {
      return Error(ErrorCode::kIo,
                   fmt::format("atmhealthd's answer is longer than {} bytes", kMaxAnswerBytes));
    }
    return Error(ErrorCode::kIo, fmt::format("control socket {}: the daemon closed without an "
                                             "answer: {}",
                                             socket_path, failure.message()));
  }
  auto parsed =
      nlohmann::json::parse(std::string_view(answer).substr(0, answer.find('\n')), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Error(ErrorCode::kIo, "atmhealthd's answer is not a JSON object");
  }
  return parsed;
}

}  // namespace atmhealth::ctl
