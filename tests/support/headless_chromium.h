// Headless Chromium driven over the DevTools protocol, for tests of the
// dashboard: the real browser loads a page from a real collector, a test
// evaluates JavaScript in it (reads the DOM, clicks, types) and takes
// screenshots. The protocol is spoken over a Beast WebSocket, so nothing
// but Debian's `chromium` package is needed.
#ifndef ATMHEALTH_TESTS_SUPPORT_HEADLESS_CHROMIUM_H_
#define ATMHEALTH_TESTS_SUPPORT_HEADLESS_CHROMIUM_H_

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "platform/asio.h"
#include "platform/status.h"
#include "tests/support/process.h"

namespace atmhealth::testing {

class HeadlessChromium {
 public:
  // The chromium program on PATH; empty when it is not installed.
  static std::filesystem::path Find();

  // Starts chromium with a fresh profile in `dir` and a `width` x `height`
  // window, and attaches to its page. Check ok().
  HeadlessChromium(const std::filesystem::path& dir, int width, int height);
  ~HeadlessChromium();  // closes the browser
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  bool ok() const { return ws_ != nullptr; }
  // Why it is not ok(), with the browser's log.
  const std::string& error() const { return error_; }

  // Loads `url` in the page and waits for its load event.
  Status Navigate(const std::string& url);
  // The value of a JavaScript expression in the page (promises awaited);
  // an error when it throws.
  Result<nlohmann::json> Evaluate(const std::string& expression);
  // The page as PNG, written to `png`.
  Status Screenshot(const std::filesystem::path& png);

 private:
  // Sends one command and waits for its answer (events in between are
  // skipped: the test asks instead of listening).
  Result<nlohmann::json> Call(const std::string& method, nlohmann::json params);

  std::filesystem::path dir_;
  std::unique_ptr<Process> process_;
  asio::io_context io_;
  std::unique_ptr<boost::beast::websocket::stream<asio::ip::tcp::socket>> ws_;
  int next_id_ = 1;
  std::string error_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_HEADLESS_CHROMIUM_H_
