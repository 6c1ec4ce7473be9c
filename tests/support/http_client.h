// A one-request HTTP client for tests (Boost.Beast), with a deadline, so a
// test can talk to the collector's HTTP server the way curl or Prometheus
// would, including with requests no well-behaved client sends.
#ifndef ATMHEALTH_TESTS_SUPPORT_HTTP_CLIENT_H_
#define ATMHEALTH_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "platform/asio.h"
#include "platform/status.h"

namespace atmhealth::testing {

struct HttpReply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // field name as sent -> value
  std::string body;
};

// Connects to 127.0.0.1:port, writes `raw_request` as it is and reads one
// response. An error when the server closes without answering or the
// deadline passes.
Result<HttpReply> HttpExchange(std::uint16_t port, const std::string& raw_request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));

// GET `target` with Connection: close.
Result<HttpReply> HttpGet(std::uint16_t port, const std::string& target);

// GET `target` with Connection: close and the extra header lines `headers`
// ("Authorization: Bearer x\r\n" ...).
Result<HttpReply> HttpGetWith(std::uint16_t port, const std::string& target,
                              const std::string& headers);

// A long-lived GET (server-sent events): connects, sends the request and
// collects everything that arrives on a thread of its own until destroyed.
class StreamReader {
 public:
  StreamReader(std::uint16_t port, const std::string& target, const std::string& headers);
  ~StreamReader();  // closes the connection, joins the thread
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // Everything received so far (head and body).
  std::string Text() const;
  // True once the connection ended (the server closed it, or it failed).
  bool ended() const;

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_{io_};
  mutable std::mutex mutex_;
  std::string text_;    // guarded by mutex_
  bool ended_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_HTTP_CLIENT_H_
