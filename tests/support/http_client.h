// A one-request HTTP client for tests (Boost.Beast), with a deadline, so a
// test can talk to the collector's HTTP server the way curl or Prometheus
// would, including with requests no well-behaved client sends.
#ifndef ATMHEALTH_TESTS_SUPPORT_HTTP_CLIENT_H_
#define ATMHEALTH_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

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

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_HTTP_CLIENT_H_
