#include "collector/http/http_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <optional>
#include <utility>

#include "collector/tcp_listen.h"

namespace atmhealth::collector {
namespace {

namespace beast = boost::beast;
using asio::redirect_error;
using asio::use_awaitable;

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

std::string PeerOf(const beast::tcp_stream& stream) {
  boost::system::error_code ec;
  const auto endpoint = stream.socket().remote_endpoint(ec);
  if (ec) return "unknown peer";
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

bool IsHttpParseError(const boost::system::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category();
}

}  // namespace

HttpResponse MakeResponse(http::status status, std::string body, std::string_view content_type) {
  HttpResponse response(status, 11);
  response.set(http::field::server, "atmhealth-collector");
  response.set(http::field::content_type,
               boost::beast::string_view(content_type.data(), content_type.size()));
  response.body() = std::move(body);
  return response;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Bind(asio::io_context& io, Options options,
                                                     prometheus::Registry& registry) {
  std::unique_ptr<HttpServer> server(new HttpServer(io, std::move(options), registry));
  Result<std::uint16_t> port =
      ListenOn(server->acceptor_, server->options_.address, server->options_.port, "HTTP listener");
  if (!port.ok()) return port.error();
  server->port_ = *port;
  return server;
}

HttpServer::HttpServer(asio::io_context& io, Options options, prometheus::Registry& registry)
    : io_(io),
      options_(std::move(options)),
      acceptor_(asio::make_strand(io)),
      responses_(prometheus::BuildCounter()
                     .Name("atmhealth_collector_http_responses_total")
                     .Help("HTTP responses sent, by status code")
                     .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("atmhealth_collector_http_requests_rejected_total")
                    .Help("HTTP requests refused before routing, by reason")
                    .Register(registry)) {
  // Create the series up front so that a scrape shows them at zero.
  for (const char* reason : {"too_large", "malformed", "timeout", "overloaded", "idle_evicted"}) {
    rejected_.Add({{"reason", reason}});
  }
}

void HttpServer::AddRoute(http::verb method, std::string path, HttpHandler handler) {
  routes_[std::move(path)][method] = std::move(handler);
}

void HttpServer::AddStreamRoute(std::string path, HttpStreamHandler handler) {
  stream_routes_[std::move(path)] = std::move(handler);
}

void HttpServer::Start() { asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached); }

void HttpServer::Stop() {
  std::map<std::uint64_t, Connection> connections;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    connections = connections_;
  }
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  for (const auto& [id, connection] : connections) {
    if (auto stream = connection.stream.lock()) {
      asio::post(stream->get_executor(), [stream] { stream->close(); });
    }
  }
}

asio::awaitable<void> HttpServer::AcceptLoop() {
  spdlog::info("HTTP on {}:{}", options_.address, port_);
  asio::steady_timer retry(acceptor_.get_executor());
  for (;;) {
    boost::system::error_code ec;
    asio::ip::tcp::socket socket = co_await acceptor_.async_accept(
        asio::any_io_executor(asio::make_strand(io_)), redirect_error(use_awaitable, ec));
    if (!acceptor_.is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      spdlog::warn("HTTP listener {}:{}: accept failed: {}", options_.address, port_, ec.message());
      retry.expires_after(kAcceptRetryDelay);
      co_await retry.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) co_return;
      if (connections_.size() < options_.max_connections || EvictIdleLocked()) {
        id = ++next_connection_id_;
        connections_.emplace(id, Connection{stream, std::chrono::steady_clock::now()});
      }
    }
    if (id == 0) {
      CountRejection(Rejection::kOverloaded);
      spdlog::warn("HTTP {}: closed: {} connections are open and busy, the most this server takes",
                   PeerOf(*stream), options_.max_connections);
      stream->close();
      continue;
    }
    asio::co_spawn(stream->get_executor(), Serve(stream, id), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Serve(std::shared_ptr<beast::tcp_stream> stream,
                                        std::uint64_t id) {
  const std::string peer = PeerOf(*stream);
  beast::flat_buffer buffer(options_.max_header_bytes + options_.max_body_bytes);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    stream->expires_after(options_.request_timeout);
    boost::system::error_code ec;
    SetIdle(id, true);
    co_await http::async_read(*stream, buffer, parser, redirect_error(use_awaitable, ec));
    SetIdle(id, false);

    std::optional<HttpResponse> refusal;
    if (ec == beast::error::timeout) {
      // An idle keep-alive connection just ends; a request that stalled
      // half-way is counted.
      if (parser.got_some()) {
        CountRejection(Rejection::kTimeout);
        spdlog::warn("HTTP {}: closed: request not complete within {} ms", peer,
                     options_.request_timeout.count());
      }
      break;
    } else if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
      CountRejection(Rejection::kTooLarge);
      refusal = MakeResponse(http::status::payload_too_large,
                             fmt::format("request body above {} bytes\n", options_.max_body_bytes));
    } else if (ec == http::error::header_limit) {
      CountRejection(Rejection::kTooLarge);
      refusal = MakeResponse(
          http::status::request_header_fields_too_large,
          fmt::format("request line and headers above {} bytes\n", options_.max_header_bytes));
    } else if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
      break;  // the client closed the connection
    } else if (ec && IsHttpParseError(ec)) {
      CountRejection(Rejection::kMalformed);
      refusal = MakeResponse(http::status::bad_request,
                             fmt::format("malformed request: {}\n", ec.message()));
    } else if (ec) {
      break;  // the connection failed or Stop() closed it
    }

    if (!refusal && parser.get().method() == http::verb::get) {
      const boost::beast::string_view target = parser.get().target();
      const std::string_view path =
          std::string_view(target.data(), target.size())
              .substr(0, std::string_view(target.data(), target.size()).find('?'));
      if (const auto streaming = stream_routes_.find(path); streaming != stream_routes_.end()) {
        stream->expires_never();
        co_await streaming->second(parser.get(), *stream);
        break;
      }
    }

    const bool keep_alive = !refusal && parser.get().keep_alive();
    HttpResponse response;
    if (refusal) {
      spdlog::warn("HTTP {}: refused ({}): {}", peer, static_cast<unsigned>(refusal->result()),
                   ec.message());
      response = std::move(*refusal);
    } else {
      response = co_await Dispatch(parser.get());
      response.version(parser.get().version());
    }
    response.keep_alive(keep_alive);
    response.prepare_payload();
    CountResponse(response);
    stream->expires_after(options_.request_timeout);
    co_await http::async_write(*stream, response, redirect_error(use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  stream->socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream->close();
  std::lock_guard lock(mutex_);
  connections_.erase(id);
}

void HttpServer::SetIdle(std::uint64_t id, bool idle) {
  std::lock_guard lock(mutex_);
  const auto connection = connections_.find(id);
  if (connection == connections_.end()) return;
  if (idle) {
    // Idle since accept, or since its last answer.
    if (!connection->second.idle_since) {
      connection->second.idle_since = std::chrono::steady_clock::now();
    }
  } else {
    connection->second.idle_since.reset();
  }
}

bool HttpServer::EvictIdleLocked() {
  auto oldest = connections_.end();
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (!it->second.idle_since) continue;
    if (oldest == connections_.end() || *it->second.idle_since < *oldest->second.idle_since) {
      oldest = it;
    }
  }
  if (oldest == connections_.end()) return false;
  // Its coroutine sees the close as a failed read and ends; from now on it
  // no longer counts against the limit.
  if (auto stream = oldest->second.stream.lock()) {
    asio::post(stream->get_executor(), [stream] { stream->close(); });
  }
  connections_.erase(oldest);
  CountRejection(Rejection::kEvicted);
  return true;
}

asio::awaitable<HttpResponse> HttpServer::Dispatch(const HttpRequest& request) {
  const boost::beast::string_view target = request.target();
  std::string_view path(target.data(), target.size());
  path = path.substr(0, path.find('?'));
  const auto route = routes_.find(path);
  if (route == routes_.end()) {
    co_return MakeResponse(http::status::not_found, fmt::format("no such path: {}\n", path));
  }
  const auto handler = route->second.find(request.method());
  if (handler == route->second.end()) {
    std::string allow;
    for (const auto& [method, unused] : route->second) {
      if (!allow.empty()) allow += ", ";
      allow += std::string(http::to_string(method));
    }
    HttpResponse response =
        MakeResponse(http::status::method_not_allowed,
                     fmt::format("{} is not allowed on {}; use {}\n",
                                 std::string(request.method_string()), path, allow));
    response.set(http::field::allow, allow);
    co_return response;
  }
  co_return co_await handler->second(request);
}

void HttpServer::CountResponse(const HttpResponse& response) {
  responses_.Add({{"code", std::to_string(static_cast<unsigned>(response.result()))}}).Increment();
}

void HttpServer::CountRejection(Rejection rejection) {
  const char* reason = "malformed";
  switch (rejection) {
    case Rejection::kTooLarge:
      reason = "too_large";
      break;
    case Rejection::kMalformed:
      reason = "malformed";
      break;
    case Rejection::kTimeout:
      reason = "timeout";
      break;
    case Rejection::kOverloaded:
      reason = "overloaded";
      break;
    case Rejection::kEvicted:
      reason = "idle_evicted";
      break;
  }
  rejected_.Add({{"reason", reason}}).Increment();
}

}  // namespace atmhealth::collector
