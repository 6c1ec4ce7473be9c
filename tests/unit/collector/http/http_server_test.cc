// The collector's HTTP server over real TCP on 127.0.0.1.
#include "collector/http/http_server.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collector/http/operational_routes.h"
#include "collector/ingest/ingest_metrics.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace atmhealth::collector {
namespace {

using atmhealth::testing::HttpExchange;
using atmhealth::testing::HttpGet;
using atmhealth::testing::HttpReply;
using namespace std::chrono_literals;

class HttpServerTest : public ::testing::Test {
 protected:
  void Start() {
    options_.address = "127.0.0.1";
    options_.port = 0;
    auto server = HttpServer::Bind(io_, options_, registry_);
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    AddOperationalRoutes(*server_, registry_, [this] { return store_health_(); });
    server_->AddRoute(http::verb::post, "/echo",
                      [](const HttpRequest& request) -> asio::awaitable<HttpResponse> {
                        co_return MakeResponse(http::status::ok, request.body());
                      });
    server_->Start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
    work_.reset();
    for (std::thread& thread : threads_) thread.join();
  }

  std::uint16_t port() const { return server_->port(); }

  // The text of /metrics, for one line: "name{labels} value".
  // Polls: the server counts a refusal on its own thread, which may run just
  // after the client saw the connection end.
  bool MetricsShow(const std::string& line) {
    return testing::WaitFor(
        [&] {
          Result<HttpReply> reply = HttpGet(port(), "/metrics");
          return reply.ok() && reply->body.find(line + "\n") != std::string::npos;
        },
        std::chrono::seconds(5));
  }

  prometheus::Registry registry_;
  HttpServer::Options options_;
  asio::io_context io_{2};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> threads_;
  std::function<Status()> store_health_ = [] { return OkStatus(); };
};

// A client connection to the server that sends `bytes` (maybe nothing, maybe
// half a request) and then stays silent.
class IdleClient {
 public:
  IdleClient(asio::io_context& io, std::uint16_t port, const std::string& bytes) : socket_(io) {
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port));
    if (!bytes.empty()) asio::write(socket_, asio::buffer(bytes));
  }
  // Whether the server still holds the connection open: nothing to read and
  // no end of stream.
  bool StillOpen() {
    socket_.non_blocking(true);
    char byte;
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::would_block;
  }

 private:
  asio::ip::tcp::socket socket_;
};

TEST_F(HttpServerTest, MetricsServesTheRegistryInPrometheusTextFormat) {
  IngestMetrics metrics(registry_);
  metrics.CountEventsStored(3);
  metrics.CountFrameRejected(FrameRejection::kMalformed);
  metrics.CountSessionStarted();
  Start();

  Result<HttpReply> reply = HttpGet(port(), "/metrics");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 200u);
  EXPECT_EQ(reply->headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = reply->body;
  EXPECT_NE(text.find("# TYPE atmhealth_collector_events_stored_total counter\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("atmhealth_collector_events_stored_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("atmhealth_collector_frames_rejected_total{reason=\"malformed\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("atmhealth_collector_frames_rejected_total{reason=\"oversized\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("atmhealth_collector_sessions_active 1\n"), std::string::npos);
  EXPECT_NE(text.find("atmhealth_collector_heartbeats_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("atmhealth_collector_store_errors_total 0\n"), std::string::npos);
}

TEST_F(HttpServerTest, HealthzAnswersOk) {
  Start();
  Result<HttpReply> reply = HttpGet(port(), "/healthz");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 200u);
  EXPECT_EQ(reply->body, "ok\n");
}

TEST_F(HttpServerTest, HealthzIs503WithTheReasonWhenTheStoreCannotWrite) {
  store_health_ = [] {
    return Status(Error(ErrorCode::kNoSpace, "collector.db: database or disk is full"));
  };
  Start();
  Result<HttpReply> reply = HttpGet(port(), "/healthz");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 503u);
  EXPECT_EQ(reply->body, "store cannot write: collector.db: database or disk is full\n");
}

// Regression: a few idle connections (opened and silent, or stalled half-way
// through a request) must not hold up /healthz and /metrics. The deadline is
// long, so the idle ones are all still open when the answers come.
TEST_F(HttpServerTest, IdleConnectionsDoNotHoldUpHealthzOrMetrics) {
  options_.request_timeout = 60s;
  Start();
  asio::io_context client_io;
  std::vector<std::unique_ptr<IdleClient>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<IdleClient>(client_io, port(), ""));
  for (int i = 0; i < 4; ++i) {
    idle.push_back(
        std::make_unique<IdleClient>(client_io, port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n"));
  }

  Result<HttpReply> health =
      HttpExchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 30s);
  ASSERT_TRUE(health.ok()) << health.error().message();
  EXPECT_EQ(health->status, 200u);
  Result<HttpReply> metrics =
      HttpExchange(port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 30s);
  ASSERT_TRUE(metrics.ok()) << metrics.error().message();
  EXPECT_EQ(metrics->status, 200u);
  for (const auto& client : idle) EXPECT_TRUE(client->StillOpen());
}

// Regression: with every connection slot taken by idle clients, a new
// request used to be closed unanswered; now the longest idle one makes room.
TEST_F(HttpServerTest, AtTheConnectionLimitTheLongestIdleConnectionMakesRoom) {
  options_.request_timeout = 60s;
  options_.max_connections = 4;
  Start();
  asio::io_context client_io;
  std::vector<std::unique_ptr<IdleClient>> idle;
  // The server accepts connections in the order they were made, so the
  // first is the one idle the longest.
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<IdleClient>(client_io, port(), ""));

  Result<HttpReply> health =
      HttpExchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 30s);
  ASSERT_TRUE(health.ok()) << health.error().message();
  EXPECT_EQ(health->status, 200u);
  EXPECT_TRUE(atmhealth::testing::WaitFor([&] { return !idle[0]->StillOpen(); }, 10s))
      << "the longest idle connection made room";
  for (std::size_t i = 1; i < idle.size(); ++i) EXPECT_TRUE(idle[i]->StillOpen());
}

TEST_F(HttpServerTest, UnknownPathIs404AndCounted) {
  Start();
  Result<HttpReply> reply = HttpGet(port(), "/admin?x=1");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 404u);
  EXPECT_EQ(reply->body, "no such path: /admin\n");
  EXPECT_TRUE(MetricsShow("atmhealth_collector_http_responses_total{code=\"404\"} 1"));
}

TEST_F(HttpServerTest, KnownPathWithAnotherMethodIs405WithAllow) {
  Start();
  Result<HttpReply> reply =
      HttpExchange(port(), "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 405u);
  EXPECT_EQ(reply->headers["Allow"], "GET");
}

TEST_F(HttpServerTest, QueryStringDoesNotChangeTheRoute) {
  Start();
  Result<HttpReply> reply = HttpGet(port(), "/healthz?verbose=1");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 200u);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  Result<HttpReply> reply =
      HttpExchange(port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 200u);
  EXPECT_EQ(reply->body, "hello");
  EXPECT_EQ(reply->headers.count("Connection"), 0u) << "HTTP/1.1 keeps the connection by default";
}

TEST_F(HttpServerTest, BodyAboveTheBoundIsRefusedWith413AndTheServerCarriesOn) {
  options_.max_body_bytes = 1024;
  Start();
  // The length alone exceeds the bound: refused before the body is read.
  Result<HttpReply> reply =
      HttpExchange(port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 413u);
  EXPECT_EQ(reply->headers["Connection"], "close");

  Result<HttpReply> after = HttpGet(port(), "/healthz");
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(after->status, 200u);
  EXPECT_TRUE(
      MetricsShow("atmhealth_collector_http_requests_rejected_total{reason=\"too_large\"} 1"));
}

TEST_F(HttpServerTest, HeadersAboveTheBoundAreRefusedWith431) {
  options_.max_header_bytes = 1024;
  Start();
  Result<HttpReply> reply = HttpExchange(port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: " +
                                                     std::string(4096, 'p') + "\r\n\r\n");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 431u);
  EXPECT_TRUE(
      MetricsShow("atmhealth_collector_http_requests_rejected_total{reason=\"too_large\"} 1"));
}

TEST_F(HttpServerTest, GarbageIsRefusedWith400) {
  Start();
  Result<HttpReply> reply = HttpExchange(port(), "\x16\x03\x01 not http at all\r\n\r\n");
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->status, 400u);
  EXPECT_TRUE(
      MetricsShow("atmhealth_collector_http_requests_rejected_total{reason=\"malformed\"} 1"));
}

TEST_F(HttpServerTest, RequestThatStallsIsClosedAtItsDeadline) {
  options_.request_timeout = 200ms;
  Start();
  const auto start = std::chrono::steady_clock::now();
  Result<HttpReply> reply = HttpExchange(port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n", 5s);
  EXPECT_FALSE(reply.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(
      MetricsShow("atmhealth_collector_http_requests_rejected_total{reason=\"timeout\"} 1"));
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  Start();
  // A keep-alive request leaves the connection open after its answer; Stop
  // must not wait for its deadline.
  asio::io_context client_io;
  asio::ip::tcp::socket client(client_io);
  client.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port()));
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(client, asio::buffer(request));
  std::string received;
  boost::system::error_code ec;
  while (received.find("ok\n") == std::string::npos && !ec) {
    char chunk[512];
    const std::size_t n = client.read_some(asio::buffer(chunk), ec);
    received.append(chunk, n);
  }
  ASSERT_FALSE(ec) << ec.message();

  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  work_.reset();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  char byte;
  client.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

}  // namespace
}  // namespace atmhealth::collector
