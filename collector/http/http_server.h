// The collector's HTTP server (Boost.Beast): a small route table of exact
// paths and methods, a bounded request size and a deadline per request.
// Each connection is a coroutine on a strand of its own, so idle or slow
// connections never hold up another one's request; when the connection
// limit is reached, the connection idle the longest makes room.
// /metrics and /healthz come from operational_routes.h; the JSON API and the
// dashboard add their routes the same way.
//
// Unknown paths get 404, a known path with another method 405 (with Allow),
// a request above the size bound 413 or 431, a request that does not parse
// 400; each refusal is counted in atmhealth_collector_http_requests_rejected_total.
#ifndef ATMHEALTH_COLLECTOR_HTTP_HTTP_SERVER_H_
#define ATMHEALTH_COLLECTOR_HTTP_HTTP_SERVER_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "platform/asio.h"
#include "platform/status.h"

namespace atmhealth::collector {

namespace http = boost::beast::http;

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// Answers one request. Runs on the connection's strand; may co_await (the
// store, say) but must finish well within the request deadline.
using HttpHandler = std::function<asio::awaitable<HttpResponse>(const HttpRequest&)>;

// Takes the connection over after a GET request and writes the response
// itself, for as long as it likes (server-sent events): the request timeout
// does not apply, and the connection closes when the handler returns. The
// handler sets its own write deadlines.
using HttpStreamHandler =
    std::function<asio::awaitable<void>(const HttpRequest&, boost::beast::tcp_stream&)>;

// A complete response with `body`; keep-alive and the version are filled in
// by the server.
HttpResponse MakeResponse(http::status status, std::string body,
                          std::string_view content_type = "text/plain; charset=utf-8");

class HttpServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";                  // IP address to listen on
    std::uint16_t port = 0;                             // 0: any free port (see port())
    std::size_t max_header_bytes = 8 * 1024;            // request line and headers
    std::size_t max_body_bytes = 64 * 1024;             // request body
    std::chrono::milliseconds request_timeout{10'000};  // to read a request, or write a response
    // Connections at once. When all are taken, the one that waited longest
    // for its next request is closed to make room; when none waits, the new
    // connection is closed at once.
    std::size_t max_connections = 64;
  };

  // Binds and listens now, so that the port is known before Start(). The
  // io_context and registry must outlive the server, and the server must
  // outlive its connections (run the io_context until it has no work left
  // before destroying the server).
  static Result<std::unique_ptr<HttpServer>> Bind(asio::io_context& io, Options options,
                                                  prometheus::Registry& registry);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a route: `handler` answers `method` on `path` (the target without
  // its query string). Call before Start(); not thread-safe.
  void AddRoute(http::verb method, std::string path, HttpHandler handler);

  // Adds a streaming route for GET on `path`. Call before Start().
  void AddStreamRoute(std::string path, HttpStreamHandler handler);

  std::uint16_t port() const { return port_; }

  // Starts accepting on the io_context. Call once.
  void Start();

  // Stops accepting and closes every connection. Thread-safe.
  void Stop();

 private:
  enum class Rejection { kTooLarge, kMalformed, kTimeout, kOverloaded, kEvicted };

  HttpServer(asio::io_context& io, Options options, prometheus::Registry& registry);
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(std::shared_ptr<boost::beast::tcp_stream> stream, std::uint64_t id);
  asio::awaitable<HttpResponse> Dispatch(const HttpRequest& request);
  // Marks a connection idle (waiting for a request) or busy.
  void SetIdle(std::uint64_t id, bool idle);
  // Under mutex_: closes the connection idle the longest; false when none is.
  bool EvictIdleLocked();
  void CountResponse(const HttpResponse& response);
  void CountRejection(Rejection rejection);

  asio::io_context& io_;
  const Options options_;
  asio::ip::tcp::acceptor acceptor_;  // on a strand of its own
  std::uint16_t port_ = 0;
  // path -> method -> handler; written before Start() only.
  std::map<std::string, std::map<http::verb, HttpHandler>, std::less<>> routes_;
  std::map<std::string, HttpStreamHandler, std::less<>> stream_routes_;  // GET only

  prometheus::Family<prometheus::Counter>& responses_;  // by status code
  prometheus::Family<prometheus::Counter>& rejected_;   // by reason

  std::mutex mutex_;  // guards the members below
  bool stopped_ = false;
  std::uint64_t next_connection_id_ = 0;
  struct Connection {
    std::weak_ptr<boost::beast::tcp_stream> stream;
    // Since when it waits for its next request; nullopt while a request is
    // being read, answered or written.
    std::optional<std::chrono::steady_clock::time_point> idle_since;
  };
  std::map<std::uint64_t, Connection> connections_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_HTTP_HTTP_SERVER_H_
