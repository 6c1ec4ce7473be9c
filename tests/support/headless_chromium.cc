#include "tests/support/headless_chromium.h"

#include <openssl/evp.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string_view>

#include "tests/support/http_client.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

namespace websocket = boost::beast::websocket;
using nlohmann::json;

constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kCallTimeout = std::chrono::seconds(30);

// Standard base64 (RFC 4648) to bytes, with OpenSSL.
Result<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return Error(ErrorCode::kInvalidArgument, "base64 length");
  std::string bytes(text.size() / 4 * 3, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0) return Error(ErrorCode::kInvalidArgument, "not base64");
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  bytes.resize(static_cast<std::size_t>(written) - padding);
  return bytes;
}

}  // namespace

std::filesystem::path HeadlessChromium::Find() {
  std::filesystem::path binary = FindOnPath("chromium");
  return binary.empty() ? FindOnPath("chromium-browser") : binary;
}

HeadlessChromium::HeadlessChromium(const std::filesystem::path& dir, int width, int height)
    : dir_(dir) {
  std::filesystem::create_directories(dir / "profile");
  const std::filesystem::path binary = Find();
  if (binary.empty()) {
    error_ = "chromium is not installed";
    return;
  }
  process_ = std::make_unique<Process>(
      binary,
      std::vector<std::string>{
          "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--no-first-run", "--no-default-browser-check", "--disable-extensions",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--mute-audio", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
          "--user-data-dir=" + (dir / "profile").string(),
          "--window-size=" + std::to_string(width) + "," + std::to_string(height), "about:blank"},
      dir / "chromium.log");
  // Chromium writes the port it chose, then the browser's WebSocket path.
  const std::filesystem::path active_port = dir / "profile" / "DevToolsActivePort";
  std::uint16_t port = 0;
  if (!WaitFor(
          [&] {
            std::ifstream in(active_port);
            unsigned value = 0;
            std::string path;
            if (!(in >> value >> path)) return false;
            port = static_cast<std::uint16_t>(value);
            return true;
          },
          kStartTimeout)) {
    error_ = "chromium did not start its DevTools server:\n" + process_->Log();
    return;
  }
  // The page's own WebSocket, from the target list.
  std::string page_path;
  WaitFor(
      [&] {
        Result<HttpReply> list = HttpGet(port, "/json/list");
        if (!list || list->status != 200) return false;
        const json targets = json::parse(list->body, nullptr, false);
        if (!targets.is_array()) return false;
        for (const json& target : targets) {
          if (target.value("type", "") != "page") continue;
          const std::string url = target.value("webSocketDebuggerUrl", "");
          const std::size_t path = url.find("/devtools/");
          if (path != std::string::npos) page_path = url.substr(path);
        }
        return !page_path.empty();
      },
      kStartTimeout);
  if (page_path.empty()) {
    error_ = "chromium lists no page:\n" + process_->Log();
    return;
  }
  auto ws = std::make_unique<websocket::stream<asio::ip::tcp::socket>>(io_);
  boost::system::error_code ec;
  ws->next_layer().connect({asio::ip::address_v4::loopback(), port}, ec);
  if (!ec) ws->handshake("127.0.0.1:" + std::to_string(port), page_path, ec);
  if (ec) {
    error_ = "DevTools WebSocket: " + ec.message();
    return;
  }
  ws->read_message_max(64 * 1024 * 1024);  // screenshots
  ws_ = std::move(ws);
  if (Result<json> enabled = Call("Page.enable", json::object()); !enabled) {
    error_ = enabled.error().message();
    ws_.reset();
  }
}

HeadlessChromium::~HeadlessChromium() {
  if (ws_ != nullptr) {
    // Browser.close ends every chromium process; its answer may not come.
    boost::system::error_code ec;
    ws_->write(asio::buffer(json({{"id", next_id_++}, {"method", "Browser.close"}}).dump()), ec);
    ws_->next_layer().close(ec);
  }
  if (process_ != nullptr && !process_->Wait(std::chrono::seconds(10))) {
    process_->Signal(SIGKILL);
  }
}

Result<json> HeadlessChromium::Call(const std::string& method, json params) {
  if (ws_ == nullptr) return Error(ErrorCode::kUnavailable, "no browser: " + error_);
  const int id = next_id_++;
  boost::system::error_code ec;
  ws_->write(asio::buffer(json({{"id", id}, {"method", method}, {"params", params}}).dump()), ec);
  if (ec) return Error(ErrorCode::kUnavailable, method + ": " + ec.message());
  const auto deadline = std::chrono::steady_clock::now() + kCallTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    // A blocking read: chromium answers every command, and the deadline of
    // the whole test bounds a browser that hangs.
    boost::beast::flat_buffer buffer;
    ws_->read(buffer, ec);
    if (ec) return Error(ErrorCode::kUnavailable, method + ": " + ec.message());
    const json message =
        json::parse(boost::beast::buffers_to_string(buffer.data()), nullptr, false);
    if (!message.is_object() || message.value("id", 0) != id) continue;  // an event
    if (message.contains("error")) {
      return Error(ErrorCode::kInternal, method + ": " + message["error"].dump());
    }
    return message.value("result", json::object());
  }
  return Error(ErrorCode::kTimeout, method + ": no answer");
}

Status HeadlessChromium::Navigate(const std::string& url) {
  Result<json> navigated = Call("Page.navigate", {{"url", url}});
  if (!navigated) return navigated.error();
  if (navigated->contains("errorText")) {
    return Error(ErrorCode::kUnavailable, url + ": " + (*navigated)["errorText"].dump());
  }
  if (!WaitFor(
          [&] {
            Result<json> ready = Evaluate("document.readyState");
            return ready.ok() && *ready == "complete";
          },
          kCallTimeout)) {
    return Error(ErrorCode::kTimeout, url + ": the page did not finish loading");
  }
  return OkStatus();
}

Result<json> HeadlessChromium::Evaluate(const std::string& expression) {
  Result<json> result =
      Call("Runtime.evaluate",
           {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
  if (!result) return result.error();
  if (result->contains("exceptionDetails")) {
    return Error(ErrorCode::kInvalidArgument,
                 expression + ": " + (*result)["exceptionDetails"].dump());
  }
  const json& value = (*result)["result"];
  return value.contains("value") ? value["value"] : json(nullptr);
}

Status HeadlessChromium::Screenshot(const std::filesystem::path& png) {
  Result<json> shot =
      Call("Page.captureScreenshot", {{"format", "png"}, {"captureBeyondViewport", true}});
  if (!shot) return shot.error();
  Result<std::string> bytes = DecodeBase64(shot->value("data", ""));
  if (!bytes) return bytes.error();
  std::filesystem::create_directories(png.parent_path());
  WriteFile(png, *bytes);
  return OkStatus();
}

}  // namespace atmhealth::testing
