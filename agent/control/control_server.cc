#include "agent/control/control_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>
#include <string_view>
#include <utility>

#include "platform/local_socket.h"

namespace atmhealth::agent::control {
namespace {

using asio::redirect_error;
using asio::use_awaitable;
using Socket = asio::local::stream_protocol::socket;

// Consecutive accept errors (no file descriptors left, ...) are retried after
// this pause instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetry{100};

nlohmann::json ErrorAnswer(std::string message) {
  return nlohmann::json{{"ok", false}, {"error", std::move(message)}};
}

// Text from a client, shortened and made printable for an error answer.
std::string Quote(std::string_view text) {
  constexpr std::size_t kMaxQuoted = 40;
  std::string out;
  for (char c : text.substr(0, kMaxQuoted)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > kMaxQuoted) out += "...";
  return out;
}

// Writes one answer line, within kRequestTimeout.
asio::awaitable<void> Answer(std::shared_ptr<Socket> socket, nlohmann::json reply) {
  const std::string text =
      reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  asio::steady_timer deadline(socket->get_executor(), kRequestTimeout);
  deadline.async_wait([socket](boost::system::error_code ec) {
    if (!ec) socket->close(ec);
  });
  boost::system::error_code ec;
  co_await asio::async_write(*socket, asio::buffer(text), redirect_error(use_awaitable, ec));
  deadline.cancel();
}

}  // namespace

struct ControlServer::Shared {
  Shared(asio::any_io_executor executor, std::string path_, const ControlConfig& config,
         std::map<std::string, Command> commands_)
      : acceptor(executor),
        path(std::move(path_)),
        max_clients(config.max_clients),
        commands(std::move(commands_)) {}

  asio::local::stream_protocol::acceptor acceptor;
  std::string path;
  std::size_t max_clients;
  std::map<std::string, Command> commands;
  std::shared_ptr<ControlCounters> counters = std::make_shared<ControlCounters>();
  std::set<std::shared_ptr<Socket>> clients;  // open connections, for Close()
  bool closed = false;
};

ControlServer::ControlServer(std::shared_ptr<Shared> shared)
    : shared_(std::move(shared)), counters_(shared_->counters) {}

ControlServer::~ControlServer() { Close(); }

Result<std::unique_ptr<ControlServer>> ControlServer::Open(
    asio::any_io_executor executor, const std::string& path, const ControlConfig& config,
    std::map<std::string, Command> commands) {
  auto shared = std::make_shared<Shared>(executor, path, config, std::move(commands));
  boost::system::error_code ec;
  shared->acceptor.open(asio::local::stream_protocol(), ec);
  if (ec) return Error(ErrorCode::kIo, "control socket \"" + path + "\": " + ec.message());
  if (Status bound = platform::BindLocalSocket(shared->acceptor, path, config.socket_mode,
                                               config.socket_group, "control socket");
      !bound.ok()) {
    return bound.error();
  }
  shared->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    return Error(ErrorCode::kIo, "control socket \"" + path + "\": listen: " + ec.message());
  }
  asio::co_spawn(executor, Accept(shared), asio::detached);
  spdlog::info("control socket {} (mode {:04o}{})", path, config.socket_mode,
               config.socket_group.empty() ? "" : ", group " + config.socket_group);
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(shared)));
}

void ControlServer::Close() {
  if (!shared_ || shared_->closed) return;
  shared_->closed = true;
  boost::system::error_code ignored;
  shared_->acceptor.close(ignored);
  for (const auto& client : shared_->clients) client->close(ignored);
  shared_->clients.clear();
  std::error_code removed;
  std::filesystem::remove(shared_->path, removed);
}

asio::awaitable<void> ControlServer::Accept(std::shared_ptr<Shared> shared) {
  while (!shared->closed) {
    boost::system::error_code ec;
    Socket socket = co_await shared->acceptor.async_accept(redirect_error(use_awaitable, ec));
    if (shared->closed || ec == asio::error::operation_aborted) break;
    if (ec) {
      spdlog::warn("control socket {}: accept: {}", shared->path, ec.message());
      asio::steady_timer pause(shared->acceptor.get_executor(), kAcceptRetry);
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    asio::co_spawn(shared->acceptor.get_executor(), Serve(shared, std::move(socket)),
                   asio::detached);
  }
}

asio::awaitable<void> ControlServer::Serve(std::shared_ptr<Shared> shared, Socket accepted) {
  // Shared with the deadline's handler, which may run after this coroutine
  // returned when the deadline passes just as an operation completes.
  auto socket = std::make_shared<Socket>(std::move(accepted));
  ControlCounters& counters = *shared->counters;
  if (shared->clients.size() >= shared->max_clients) {
    ++counters.refused;
    co_await Answer(socket, ErrorAnswer(fmt::format("busy: {} clients are being served; try again",
                                                    shared->clients.size())));
    co_return;
  }
  shared->clients.insert(socket);

  std::string line;
  boost::system::error_code ec;
  {
    asio::steady_timer deadline(socket->get_executor(), kRequestTimeout);
    auto timed_out = std::make_shared<bool>(false);
    deadline.async_wait([socket, timed_out, shared](boost::system::error_code wait) {
      if (wait || shared->closed) return;
      *timed_out = true;
      socket->cancel(wait);
    });
    co_await asio::async_read_until(*socket, asio::dynamic_buffer(line, kMaxRequestBytes), '\n',
                                    redirect_error(use_awaitable, ec));
    deadline.cancel();
    if (*timed_out) ec = asio::error::timed_out;
  }

  nlohmann::json reply;
  bool bad = true;
  if (shared->closed) {
    co_return;
  } else if (ec == asio::error::not_found) {
    reply = ErrorAnswer(fmt::format("request longer than {} bytes", kMaxRequestBytes));
  } else if (ec == asio::error::timed_out) {
    reply =
        ErrorAnswer(fmt::format("no complete request line within {} ms", kRequestTimeout.count()));
  } else if (ec && (ec != asio::error::eof || line.empty())) {
    // The client went away before asking anything: nothing to answer.
    ++counters.bad_requests;
    shared->clients.erase(socket);
    co_return;
  } else {
    const auto request = nlohmann::json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
      reply = ErrorAnswer(fmt::format("not a JSON object: \"{}\"", Quote(line)));
    } else if (!request.contains("command") || !request["command"].is_string()) {
      reply = ErrorAnswer("no \"command\" string in the request");
    } else if (auto command = shared->commands.find(request["command"].get<std::string>());
               command == shared->commands.end()) {
      std::string known;
      for (const auto& [name, unused] : shared->commands)
        known += (known.empty() ? "" : ", ") + name;
      reply = ErrorAnswer(fmt::format("unknown command \"{}\" (known: {})",
                                      Quote(request["command"].get<std::string>()), known));
    } else {
      bad = false;
      try {
        reply = co_await command->second(request);
      } catch (const nlohmann::json::exception& error) {
        // A field of the wrong type in the request.
        bad = true;
        reply = ErrorAnswer(fmt::format("bad request: {}", error.what()));
      }
    }
  }
  if (shared->closed) co_return;
  if (bad) {
    ++counters.bad_requests;
    spdlog::warn("control socket: bad request: {}", reply.value("error", std::string()));
  } else if (reply.value("ok", false)) {
    ++counters.requests;
  } else {
    ++counters.failed;
  }
  co_await Answer(socket, reply);
  shared->clients.erase(socket);
  socket->close(ec);
}

}  // namespace atmhealth::agent::control
