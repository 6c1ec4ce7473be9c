// The whole collector process, minus its SQLite store (a fake one here):
// ready file, agents, /metrics, and the shutdown on SIGTERM.
#include "collector/collector.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/agent_client.h"
#include "tests/support/http_client.h"
#include "tests/support/message_text.h"
#include "tests/support/test_paths.h"
#include "tests/unit/collector/ingest/fake_collector_store.h"

namespace atmhealth::collector {
namespace {

using atmhealth::testing::AgentClient;
using atmhealth::testing::Describe;
using atmhealth::testing::HttpGet;
using atmhealth::testing::HttpReply;
using atmhealth::testing::SampleBatch;
using atmhealth::testing::SampleHello;
using atmhealth::testing::ScratchDir;
using testing::FakeCollectorStore;
using namespace std::chrono_literals;

CollectorConfig TestConfig() {
  CollectorConfig config = DefaultCollectorConfig();
  config.listen.port = 0;
  config.http.port = 0;
  return config;
}

// Waits for the ready file the way the integration tests do.
nlohmann::json WaitForReadyFile(const std::filesystem::path& path) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream file(path);
    if (file) return nlohmann::json::parse(file);
    std::this_thread::sleep_for(10ms);
  }
  return nullptr;
}

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto collector =
        Collector::Open(TestConfig(), std::make_unique<FakeCollectorStore>(store_state_));
    ASSERT_TRUE(collector.ok()) << collector.error().message();
    collector_ = std::move(*collector);
    run_ =
        std::async(std::launch::async, [this] { return collector_->Run(scratch_ / "ready.json"); });
    ready_ = WaitForReadyFile(scratch_ / "ready.json");
    ASSERT_TRUE(ready_.is_object());
  }

  void TearDown() override {
    if (run_.valid()) {
      collector_->RequestStop();
      EXPECT_EQ(run_.wait_for(15s), std::future_status::ready);
    }
  }

  ScratchDir scratch_;
  std::shared_ptr<FakeCollectorStore::State> store_state_ =
      std::make_shared<FakeCollectorStore::State>();
  std::unique_ptr<Collector> collector_;
  std::future<Status> run_;
  nlohmann::json ready_;
};

TEST_F(CollectorTest, ReadyFileNamesTheBoundPortsAndThisProcess) {
  EXPECT_EQ(ready_["agent_port"].get<int>(), collector_->agent_port());
  EXPECT_EQ(ready_["http_port"].get<int>(), collector_->http_port());
  EXPECT_NE(collector_->agent_port(), 0);
  EXPECT_NE(collector_->http_port(), 0);
  EXPECT_EQ(ready_["pid"].get<int>(), ::getpid());
  // Only the file itself is left: the temporary was renamed onto it.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(scratch_.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(CollectorTest, StoresAnAgentsEventsAndShowsThemInMetrics) {
  auto agent = AgentClient::Connect(ready_["agent_port"].get<std::uint16_t>());
  ASSERT_TRUE(agent.ok()) << agent.error().message();
  const AgentClient::Received welcome = (*agent)->Handshake(SampleHello("atm-0412"));
  ASSERT_TRUE(welcome.message.has_welcome()) << Describe(welcome.message);
  EXPECT_FALSE(welcome.message.welcome().collector_id().empty());
  ASSERT_TRUE((*agent)->Send(SampleBatch(1, 3)).ok());
  const AgentClient::Received ack = (*agent)->Read();
  ASSERT_TRUE(ack.message.has_ack()) << Describe(ack.message);
  EXPECT_EQ(ack.message.ack().seq(), 3u);

  Result<HttpReply> metrics = HttpGet(ready_["http_port"].get<std::uint16_t>(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.error().message();
  EXPECT_NE(metrics->body.find("atmhealth_collector_events_stored_total 3\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("atmhealth_collector_sessions_active 1\n"), std::string::npos);
}

TEST_F(CollectorTest, SigtermRefusesSessionsAsShuttingDownAndReturns) {
  auto agent = AgentClient::Connect(collector_->agent_port());
  ASSERT_TRUE(agent.ok()) << agent.error().message();
  ASSERT_TRUE((*agent)->Handshake(SampleHello("atm-0412")).message.has_welcome());

  ASSERT_EQ(std::raise(SIGTERM), 0);
  const AgentClient::Received refusal = (*agent)->Read();
  ASSERT_TRUE(refusal.message.has_refusal()) << Describe(refusal.message);
  EXPECT_EQ(refusal.message.refusal().reason(), v1::Refusal::REASON_SHUTTING_DOWN);
  ASSERT_EQ(run_.wait_for(15s), std::future_status::ready);
  const Status ran = run_.get();
  EXPECT_TRUE(ran.ok()) << ran.error().message();
  EXPECT_FALSE(HttpGet(collector_->http_port(), "/healthz").ok());
}

TEST(CollectorOpen, PortInUseIsAnErrorNamingTheListener) {
  auto first = Collector::Open(TestConfig(), std::make_unique<FakeCollectorStore>(
                                                 std::make_shared<FakeCollectorStore::State>()));
  ASSERT_TRUE(first.ok()) << first.error().message();
  CollectorConfig config = TestConfig();
  config.listen.port = (*first)->agent_port();
  auto second = Collector::Open(
      config, std::make_unique<FakeCollectorStore>(std::make_shared<FakeCollectorStore::State>()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message().rfind(
                "agent listener 127.0.0.1:" + std::to_string(config.listen.port) + ": ", 0),
            0u)
      << second.error().message();
}

}  // namespace
}  // namespace atmhealth::collector
