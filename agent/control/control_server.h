// The daemon's local control socket: atmhealthctl asks it for the agent's
// status and runs drills through it. A Unix stream socket whose file mode and
// group decide who may connect; the agent never listens on TCP.
//
// Protocol: the client sends one JSON object on one line,
//   {"command": "status"}\n
// and the server answers with one JSON object on one line, then closes:
//   {"ok": true, ...}\n    or    {"ok": false, "error": "what was wrong"}\n
// A request longer than kMaxRequestBytes, one that is not a JSON object with
// a known "command", or one not complete within kRequestTimeout gets an
// error answer (when the client can still take it) and is counted; nothing a
// client sends can stop the daemon.
#ifndef ATMHEALTH_AGENT_CONTROL_CONTROL_SERVER_H_
#define ATMHEALTH_AGENT_CONTROL_CONTROL_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/config.h"
#include "platform/asio.h"
#include "platform/status.h"

namespace atmhealth::agent::control {

// Bounds of one request: the whole line, and the time to send it.
inline constexpr std::size_t kMaxRequestBytes = 4096;
inline constexpr std::chrono::milliseconds kRequestTimeout{5000};

// Counters for status; read from any thread.
struct ControlCounters {
  std::atomic<std::uint64_t> requests{0};      // answered with ok
  std::atomic<std::uint64_t> bad_requests{0};  // too long, not JSON, unknown command, too slow
  std::atomic<std::uint64_t> failed{0};        // a command that answered with an error
  std::atomic<std::uint64_t> refused{0};       // connections beyond max_clients
};

class ControlServer {
 public:
  // Answers a request (the parsed object, "command" included). Runs on the
  // server's executor; a command's own failure is an answer with
  // "ok": false and an "error", which the server passes on.
  using Command = std::function<asio::awaitable<nlohmann::json>(const nlohmann::json& request)>;

  // Binds the socket at `path` with the configured mode and group and starts
  // accepting on `executor`. Fails naming the socket when it cannot be bound.
  static Result<std::unique_ptr<ControlServer>> Open(asio::any_io_executor executor,
                                                     const std::string& path,
                                                     const ControlConfig& config,
                                                     std::map<std::string, Command> commands);
  // Closes the socket and removes its file. On the executor's thread, or
  // once that thread has stopped.
  ~ControlServer();

  // Stops accepting, ends open connections and removes the socket file. On
  // the executor's thread; idempotent.
  void Close();

  const ControlCounters& counters() const { return *counters_; }

 private:
  struct Shared;
  explicit ControlServer(std::shared_ptr<Shared> shared);
  static asio::awaitable<void> Accept(std::shared_ptr<Shared> shared);
  static asio::awaitable<void> Serve(std::shared_ptr<Shared> shared,
                                     asio::local::stream_protocol::socket socket);

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<ControlCounters> counters_;
};

}  // namespace atmhealth::agent::control

#endif  // ATMHEALTH_AGENT_CONTROL_CONTROL_SERVER_H_
