#include "tests/support/http_client.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "platform/asio.h"

namespace atmhealth::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

asio::awaitable<Result<HttpReply>> Exchange(std::uint16_t port, std::string raw_request,
                                            std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  boost::system::error_code ec;
  co_await stream.async_connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port),
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error(ErrorCode::kUnavailable, "connect: " + ec.message());
  co_await asio::async_write(stream, asio::buffer(raw_request),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error(ErrorCode::kIo, "write: " + ec.message());
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  co_await http::async_read(stream, buffer, response,
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error(ErrorCode::kIo, "read: " + ec.message());
  HttpReply reply;
  reply.status = static_cast<unsigned>(response.result());
  for (const auto& field : response) {
    reply.headers[std::string(field.name_string())] = std::string(field.value());
  }
  reply.body = std::move(response.body());
  co_return reply;
}

}  // namespace

Result<HttpReply> HttpExchange(std::uint16_t port, const std::string& raw_request,
                               std::chrono::milliseconds timeout) {
  asio::io_context io;
  std::optional<Result<HttpReply>> result;
  // co_spawn needs a default-constructible result, which Result is not:
  // the reply is handed out through `result` instead.
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result.emplace(co_await Exchange(port, raw_request, timeout));
      },
      asio::detached);
  io.run();
  if (!result) return Error(ErrorCode::kInternal, "HttpExchange: no result");
  return std::move(*result);
}

Result<HttpReply> HttpGet(std::uint16_t port, const std::string& target) {
  return HttpExchange(
      port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

Result<HttpReply> HttpGetWith(std::uint16_t port, const std::string& target,
                              const std::string& headers) {
  return HttpExchange(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
                                "Connection: close\r\n\r\n");
}

StreamReader::StreamReader(std::uint16_t port, const std::string& target,
                           const std::string& headers) {
  thread_ = std::thread([this, port,
                         request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
                                   "Accept: text/event-stream\r\n\r\n"] {
    boost::system::error_code ec;
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
    if (!ec) asio::write(socket_, asio::buffer(request), ec);
    char buffer[4096];
    while (!ec) {
      const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
      std::lock_guard lock(mutex_);
      text_.append(buffer, n);
    }
    std::lock_guard lock(mutex_);
    ended_ = true;
  });
}

StreamReader::~StreamReader() {
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  thread_.join();
  socket_.close(ignored);
}

std::string StreamReader::Text() const {
  std::lock_guard lock(mutex_);
  return text_;
}

bool StreamReader::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

}  // namespace atmhealth::testing
