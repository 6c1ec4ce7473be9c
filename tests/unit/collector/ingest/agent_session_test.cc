// The ingest stage over real TCP on 127.0.0.1 with a fake store: the session
// protocol as an agent sees it, and the counters an operator sees.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collector/ingest/agent_listener.h"
#include "collector/ingest/ingest_metrics.h"
#include "collector/ingest/store_executor.h"
#include "platform/clock.h"
#include "tests/support/agent_client.h"
#include "tests/support/message_text.h"
#include "tests/support/process.h"
#include "tests/unit/collector/ingest/fake_collector_store.h"
#include "tests/unit/collector/ingest/metric_value.h"

namespace atmhealth::collector {
namespace {

using atmhealth::testing::AgentClient;
using atmhealth::testing::Describe;
using atmhealth::testing::EncodeFrame;
using atmhealth::testing::HelloMessage;
using atmhealth::testing::SampleBatch;
using atmhealth::testing::SampleEvent;
using atmhealth::testing::SampleHeartbeatMessage;
using atmhealth::testing::SampleHello;
using testing::FakeCollectorStore;
using testing::MetricValue;
using namespace std::chrono_literals;

// Sessions count after they answered the peer, so a test that saw the
// answer waits a moment for the counter.
bool EventuallyEquals(prometheus::Registry& registry, const std::string& name,
                      const std::map<std::string, std::string>& labels, double expected) {
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (MetricValue(registry, name, labels) == expected) return true;
    std::this_thread::sleep_for(5ms);
  }
  return MetricValue(registry, name, labels) == expected;
}

// A varint length prefix, without the frame body.
std::string LengthPrefix(std::uint64_t length) {
  std::string bytes;
  do {
    std::uint8_t byte = length & 0x7f;
    length >>= 7;
    if (length != 0) byte |= 0x80;
    bytes.push_back(static_cast<char>(byte));
  } while (length != 0);
  return bytes;
}

// Waits until `calls` store calls are queued behind the one that runs.
bool QueueReaches(StoreExecutor& store, std::size_t calls) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (store.queued_calls() != calls) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class IngestTest : public ::testing::Test {
 protected:
  void StartListener() {
    store_ = std::make_unique<StoreExecutor>(std::make_unique<FakeCollectorStore>(store_state_),
                                             store_options_, &metrics_);
    options_.address = "127.0.0.1";
    options_.port = 0;
    options_.session.collector_id = "test-collector";
    auto listener = AgentListener::Bind(io_, options_, *store_, metrics_, platform::Clock::Real());
    ASSERT_TRUE(listener.ok()) << listener.error().message();
    listener_ = std::move(*listener);
    listener_->Start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    store_state_->Release();
    if (listener_ != nullptr) {
      listener_->Shutdown();
      const auto deadline = std::chrono::steady_clock::now() + 5s;
      while (listener_->active_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
      }
      listener_->AbortSessions();
    }
    work_.reset();
    for (std::thread& thread : threads_) thread.join();
    if (store_ != nullptr) store_->Join();
  }

  std::unique_ptr<AgentClient> Connect(std::string_view raw_bytes = {}) {
    auto client = AgentClient::Connect(listener_->port(), raw_bytes);
    EXPECT_TRUE(client.ok()) << client.error().message();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // An agent past its handshake.
  std::unique_ptr<AgentClient> ConnectedAgent(const std::string& device_id) {
    auto agent = Connect();
    if (agent == nullptr) return nullptr;
    const AgentClient::Received welcome = agent->Handshake(SampleHello(device_id));
    EXPECT_TRUE(welcome.ok()) << welcome.status.detail;
    EXPECT_TRUE(welcome.message.has_welcome()) << Describe(welcome.message);
    return agent;
  }

  // Welcomed, and past its first heartbeat, as atmhealthd is right after
  // its Welcome: no longer counted ahead of new sessions as a call to come.
  std::unique_ptr<AgentClient> EstablishedAgent(const std::string& device_id) {
    auto agent = ConnectedAgent(device_id);
    if (agent == nullptr) return nullptr;
    EXPECT_TRUE(agent->Send(SampleHeartbeatMessage()).ok());
    const AgentClient::Received ack = agent->Read();
    EXPECT_TRUE(ack.ok() && ack.message.has_ack()) << Describe(ack.message);
    return agent;
  }

  // An agent whose batch of seq 1..2 the store holds (Hold()) and whose
  // batch of seq 3..4 its session read ahead and queued behind it.
  std::unique_ptr<AgentClient> AgentWithTwoBatchesInStore(const std::string& device_id) {
    auto agent = ConnectedAgent(device_id);
    if (agent == nullptr) return nullptr;
    store_state_->Hold();
    const bool queued = agent->Send(SampleBatch(1, 2)).ok() && store_state_->WaitUntilHeld(5s) &&
                        agent->Send(SampleBatch(3, 4)).ok() && QueueReaches(*store_, 1);
    EXPECT_TRUE(queued) << "the batch behind the one stored was not read ahead";
    return queued ? std::move(agent) : nullptr;
  }

  // A new session for `device_id` is turned away at its Hello: told to
  // come back later (at least a second), and closed.
  void ExpectNewSessionRefusedAsOverloaded(const std::string& device_id) {
    auto late = Connect();
    ASSERT_NE(late, nullptr);
    const AgentClient::Received refusal = late->Handshake(SampleHello(device_id));
    ExpectRefusal(refusal, v1::Refusal::REASON_OVERLOADED);
    EXPECT_GE(refusal.message.refusal().retry_after_ms(), 1000u);
    ExpectClosed(*late);
  }

  double Metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    return MetricValue(registry_, name, labels);
  }
  bool MetricBecomes(const std::string& name, const std::map<std::string, std::string>& labels,
                     double expected) {
    return EventuallyEquals(registry_, name, labels, expected);
  }

  static void ExpectAck(const AgentClient::Received& received, std::uint64_t seq) {
    ASSERT_TRUE(received.ok()) << received.status.detail;
    ASSERT_TRUE(received.message.has_ack()) << Describe(received.message);
    EXPECT_EQ(received.message.ack().seq(), seq);
  }

  static void ExpectRefusal(const AgentClient::Received& received, v1::Refusal::Reason reason) {
    ASSERT_TRUE(received.ok()) << received.status.detail;
    ASSERT_TRUE(received.message.has_refusal()) << Describe(received.message);
    EXPECT_EQ(received.message.refusal().reason(), reason) << received.message.refusal().detail();
  }

  // The connection ends after a refusal or a replacement.
  static void ExpectClosed(AgentClient& agent) {
    const AgentClient::Received after = agent.Read(3s);
    EXPECT_EQ(after.status.fault, wire::FrameFault::kClosed) << Describe(after.message);
  }

  prometheus::Registry registry_;
  IngestMetrics metrics_{registry_};
  asio::io_context io_{2};
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::shared_ptr<FakeCollectorStore::State> store_state_ =
      std::make_shared<FakeCollectorStore::State>();
  StoreExecutor::Options store_options_;
  std::unique_ptr<StoreExecutor> store_;
  AgentListener::Options options_;
  std::unique_ptr<AgentListener> listener_;
  std::vector<std::thread> threads_;
};

TEST_F(IngestTest, HandshakeAnswersWelcomeWithTheStoresLastSeq) {
  store_state_->Preload("atm-0412", 41);
  options_.session.max_frame_bytes = 256 * 1024;
  StartListener();
  auto agent = Connect();
  ASSERT_NE(agent, nullptr);

  const auto before = platform::UnixNanos(std::chrono::system_clock::now());
  const AgentClient::Received reply = agent->Handshake(SampleHello("atm-0412", "shinjuku"));
  const auto after = platform::UnixNanos(std::chrono::system_clock::now());

  ASSERT_TRUE(reply.ok()) << reply.status.detail;
  ASSERT_TRUE(reply.message.has_welcome()) << Describe(reply.message);
  const v1::Welcome& welcome = reply.message.welcome();
  EXPECT_EQ(welcome.last_stored_seq(), 41u);
  EXPECT_EQ(welcome.protocol_version(), v1::PROTOCOL_VERSION_1);
  EXPECT_EQ(welcome.collector_id(), "test-collector");
  EXPECT_EQ(welcome.max_frame_bytes(), 256u * 1024);
  EXPECT_GE(welcome.collector_time_unix_ns(), before);
  EXPECT_LE(welcome.collector_time_unix_ns(), after);

  const std::vector<v1::Hello> hellos = store_state_->Hellos();
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].device().site_id(), "shinjuku");
  EXPECT_EQ(store_state_->HelloPeers()[0].rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(Metric("atmhealth_collector_sessions_total"), 1);
  EXPECT_EQ(Metric("atmhealth_collector_sessions_active"), 1);
}

TEST_F(IngestTest, BatchIsStoredThenAckedWithTheHighestStoredSeq) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);

  ASSERT_TRUE(agent->Send(SampleBatch(1, 3)).ok());
  ExpectAck(agent->Read(), 3);
  EXPECT_EQ(store_state_->StoredSeqs("atm-0412"), (std::vector<std::uint64_t>{1, 2, 3}));

  ASSERT_TRUE(agent->Send(SampleBatch(4, 4)).ok());
  ExpectAck(agent->Read(), 4);
  EXPECT_EQ(Metric("atmhealth_collector_events_stored_total"), 4);
  EXPECT_EQ(Metric("atmhealth_collector_events_duplicate_total"), 0);
}

TEST_F(IngestTest, AckArrivesOnlyAfterTheStoreReturned) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  store_state_->Hold();

  ASSERT_TRUE(agent->Send(SampleBatch(1, 3)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  std::future<AgentClient::Received> ack = agent->ReadAsync();
  EXPECT_EQ(ack.wait_for(300ms), std::future_status::timeout)
      << "an Ack arrived while the store had not returned";
  EXPECT_EQ(store_state_->store_events_returned(), 0);

  store_state_->Release();
  ExpectAck(ack.get(), 3);
  EXPECT_EQ(store_state_->store_events_returned(), 1);
}

TEST_F(IngestTest, ResentEventsAreAckedOnceStoredAndCountedAsDuplicates) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->Send(SampleBatch(1, 3)).ok());
  ExpectAck(agent->Read(), 3);

  // The Ack got lost: the agent reconnects and sends the same batch again,
  // then one that overlaps.
  agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->Send(SampleBatch(1, 3)).ok());
  ExpectAck(agent->Read(), 3);
  ASSERT_TRUE(agent->Send(SampleBatch(2, 5)).ok());
  ExpectAck(agent->Read(), 5);

  EXPECT_EQ(store_state_->StoredSeqs("atm-0412"), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Metric("atmhealth_collector_events_stored_total"), 5);
  EXPECT_EQ(Metric("atmhealth_collector_events_duplicate_total"), 5);
}

TEST_F(IngestTest, MalformedFrameIsRefusedWhileAnotherAgentCarriesOn) {
  StartListener();
  auto healthy = ConnectedAgent("atm-0001");
  ASSERT_NE(healthy, nullptr);

  // A valid Hello, then a valid length prefix with bytes that are no
  // protobuf message (a tag varint that never ends).
  auto broken = Connect(EncodeFrame(HelloMessage(SampleHello("atm-0002"))) + LengthPrefix(12) +
                        std::string(12, '\xff'));
  ASSERT_NE(broken, nullptr);
  const AgentClient::Received welcome = broken->Read();
  ASSERT_TRUE(welcome.message.has_welcome()) << Describe(welcome.message);
  ExpectRefusal(broken->Read(), v1::Refusal::REASON_MALFORMED_FRAME);
  ExpectClosed(*broken);

  ASSERT_TRUE(healthy->Send(SampleBatch(1, 2)).ok());
  ExpectAck(healthy->Read(), 2);
  ASSERT_TRUE(healthy->Send(SampleHeartbeatMessage()).ok());
  ExpectAck(healthy->Read(), 2);  // heartbeats are answered too
  ASSERT_TRUE(healthy->Send(SampleBatch(3, 3)).ok());
  ExpectAck(healthy->Read(), 3);

  EXPECT_TRUE(
      MetricBecomes("atmhealth_collector_frames_rejected_total", {{"reason", "malformed"}}, 1));
  EXPECT_EQ(Metric("atmhealth_collector_frames_rejected_total", {{"reason", "oversized"}}), 0);
  EXPECT_TRUE(store_state_->StoredSeqs("atm-0002").empty());
}

TEST_F(IngestTest, OversizedFrameIsRefusedWhileAnotherAgentCarriesOn) {
  options_.session.max_frame_bytes = 64 * 1024;
  StartListener();
  auto healthy = ConnectedAgent("atm-0001");
  ASSERT_NE(healthy, nullptr);

  // The first frame announces 2 MiB: refused before any of it is read.
  auto greedy = Connect(LengthPrefix(2 * 1024 * 1024));
  ASSERT_NE(greedy, nullptr);
  const AgentClient::Received refusal = greedy->Read();
  ExpectRefusal(refusal, v1::Refusal::REASON_OVERSIZED_FRAME);
  EXPECT_NE(refusal.message.refusal().detail().find("2097152"), std::string::npos)
      << refusal.message.refusal().detail();
  ExpectClosed(*greedy);

  ASSERT_TRUE(healthy->Send(SampleBatch(1, 5)).ok());
  ExpectAck(healthy->Read(), 5);
  EXPECT_TRUE(
      MetricBecomes("atmhealth_collector_frames_rejected_total", {{"reason", "oversized"}}, 1));
}

TEST_F(IngestTest, SilentConnectionIsClosedAfterTheHelloTimeout) {
  options_.session.hello_timeout = 200ms;
  StartListener();
  auto silent = Connect();
  ASSERT_NE(silent, nullptr);

  const auto start = std::chrono::steady_clock::now();
  const AgentClient::Received received = silent->Read(5s);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(received.status.fault, wire::FrameFault::kClosed);
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 3s);
  EXPECT_TRUE(
      MetricBecomes("atmhealth_collector_frames_rejected_total", {{"reason", "timeout"}}, 1));
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_sessions_active", {}, 0));
}

TEST_F(IngestTest, SessionWithoutFramesForTheIdleTimeoutIsClosed) {
  options_.session.idle_timeout = 300ms;
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  const AgentClient::Received received = agent->Read(5s);
  EXPECT_EQ(received.status.fault, wire::FrameFault::kClosed);
  EXPECT_TRUE(
      MetricBecomes("atmhealth_collector_frames_rejected_total", {{"reason", "timeout"}}, 1));
}

TEST_F(IngestTest, SameDeviceReconnectingReplacesItsOldSession) {
  StartListener();
  auto old_connection = ConnectedAgent("atm-0412");
  ASSERT_NE(old_connection, nullptr);
  ASSERT_TRUE(old_connection->Send(SampleBatch(1, 2)).ok());
  ExpectAck(old_connection->Read(), 2);

  // After a network cut the agent connects again while the collector still
  // holds the old connection.
  auto new_connection = Connect();
  ASSERT_NE(new_connection, nullptr);
  const AgentClient::Received welcome = new_connection->Handshake(SampleHello("atm-0412"));
  ASSERT_TRUE(welcome.message.has_welcome()) << Describe(welcome.message);
  EXPECT_EQ(welcome.message.welcome().last_stored_seq(), 2u);
  ExpectClosed(*old_connection);

  ASSERT_TRUE(new_connection->Send(SampleBatch(3, 4)).ok());
  ExpectAck(new_connection->Read(), 4);
  EXPECT_EQ(Metric("atmhealth_collector_sessions_replaced_total"), 1);
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_sessions_active", {}, 1));
  EXPECT_EQ(listener_->active_sessions(), 1u);
}

TEST_F(IngestTest, SecondHelloIsAProtocolViolation) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->Send(HelloMessage(SampleHello("atm-0412"))).ok());
  ExpectRefusal(agent->Read(), v1::Refusal::REASON_PROTOCOL_VIOLATION);
  ExpectClosed(*agent);
  EXPECT_TRUE(
      MetricBecomes("atmhealth_collector_frames_rejected_total", {{"reason", "protocol"}}, 1));
}

TEST_F(IngestTest, BatchBeforeHelloIsAProtocolViolation) {
  StartListener();
  auto agent = Connect();
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->Send(SampleBatch(1, 1)).ok());
  const AgentClient::Received refusal = agent->Read();
  ExpectRefusal(refusal, v1::Refusal::REASON_PROTOCOL_VIOLATION);
  EXPECT_NE(refusal.message.refusal().detail().find("expected a Hello"), std::string::npos);
  EXPECT_TRUE(
      MetricBecomes("atmhealth_collector_frames_rejected_total", {{"reason", "protocol"}}, 1));
}

TEST_F(IngestTest, InvalidHelloIsRefusedNamingTheField) {
  StartListener();
  auto agent = Connect();
  ASSERT_NE(agent, nullptr);
  const AgentClient::Received refusal = agent->Handshake(SampleHello("atm 0412/../x"));
  ExpectRefusal(refusal, v1::Refusal::REASON_PROTOCOL_VIOLATION);
  EXPECT_NE(refusal.message.refusal().detail().find("hello.device.device_id"), std::string::npos)
      << refusal.message.refusal().detail();
  EXPECT_TRUE(store_state_->Hellos().empty());
}

TEST_F(IngestTest, UnsupportedProtocolVersionIsRefused) {
  StartListener();
  auto agent = Connect();
  ASSERT_NE(agent, nullptr);
  v1::Hello hello = SampleHello("atm-0412");
  hello.set_protocol_version(v1::PROTOCOL_VERSION_UNSPECIFIED);
  ExpectRefusal(agent->Handshake(hello), v1::Refusal::REASON_UNSUPPORTED_VERSION);
}

TEST_F(IngestTest, BatchOutOfOrderIsRefusedAndNothingOfItIsStored) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  v1::AgentMessage batch = SampleBatch(5, 6);
  *batch.mutable_batch()->add_events() = SampleEvent(6);
  ASSERT_TRUE(agent->Send(batch).ok());
  const AgentClient::Received refusal = agent->Read();
  ExpectRefusal(refusal, v1::Refusal::REASON_PROTOCOL_VIOLATION);
  EXPECT_NE(refusal.message.refusal().detail().find("batch.events[2] (seq 6)"), std::string::npos)
      << refusal.message.refusal().detail();
  EXPECT_TRUE(store_state_->StoredSeqs("atm-0412").empty());
}

TEST_F(IngestTest, StoreFailureRefusesWithStoreUnavailableAndAcksNothing) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  store_state_->FailWith(Error(ErrorCode::kNoSpace, "collector.db: database or disk is full"));
  ASSERT_TRUE(agent->Send(SampleBatch(1, 3)).ok());
  const AgentClient::Received refusal = agent->Read();
  ExpectRefusal(refusal, v1::Refusal::REASON_STORE_UNAVAILABLE);
  EXPECT_EQ(refusal.message.refusal().detail().find("collector.db"), std::string::npos)
      << "the store's own message stays in the collector's log";
  ExpectClosed(*agent);
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_store_errors_total", {}, 1));
  EXPECT_EQ(Metric("atmhealth_collector_events_stored_total"), 0);
}

TEST_F(IngestTest, StoreThatHangsIsRefusedAtItsDeadlineAndNothingIsLost) {
  options_.session.store_timeout = 200ms;
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  store_state_->Hold();  // an fsync that does not come back

  ASSERT_TRUE(agent->Send(SampleBatch(1, 3)).ok());
  const AgentClient::Received refusal = agent->Read();
  ExpectRefusal(refusal, v1::Refusal::REASON_STORE_UNAVAILABLE);
  EXPECT_NE(refusal.message.refusal().detail().find("timeout"), std::string::npos)
      << refusal.message.refusal().detail();
  ExpectClosed(*agent);
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_store_errors_total", {}, 1));

  // The disk comes back and the late write lands, unacknowledged; the agent
  // reconnects and learns what is stored.
  store_state_->Release();
  agent = Connect();
  ASSERT_NE(agent, nullptr);
  const AgentClient::Received welcome = agent->Handshake(SampleHello("atm-0412"));
  ASSERT_TRUE(welcome.message.has_welcome()) << Describe(welcome.message);
  EXPECT_EQ(welcome.message.welcome().last_stored_seq(), 3u);
}

TEST_F(IngestTest, SessionsAboveTheLimitAreRefusedAsOverloaded) {
  options_.max_sessions = 1;
  StartListener();
  auto first = ConnectedAgent("atm-0001");
  ASSERT_NE(first, nullptr);

  auto second = Connect();
  ASSERT_NE(second, nullptr);
  ExpectRefusal(second->Handshake(SampleHello("atm-0002")), v1::Refusal::REASON_OVERLOADED);
  ExpectClosed(*second);
  EXPECT_EQ(Metric("atmhealth_collector_sessions_refused_total", {{"reason", "overloaded"}}), 1);

  ASSERT_TRUE(first->Send(SampleBatch(1, 1)).ok());
  ExpectAck(first->Read(), 1);
}

TEST_F(IngestTest, NewSessionsAreRefusedAsOverloadedWithARetryHintWhileTheStoreQueueIsLong) {
  store_options_.max_queued_calls = 4;
  StartListener();
  std::vector<std::unique_ptr<AgentClient>> agents;
  for (const char* device : {"atm-0001", "atm-0002", "atm-0003"}) {
    agents.push_back(EstablishedAgent(device));
    ASSERT_NE(agents.back(), nullptr);
  }
  store_state_->Hold();  // a disk that syncs slowly
  ASSERT_TRUE(agents[0]->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  ASSERT_TRUE(agents[1]->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(agents[2]->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(QueueReaches(*store_, 2));  // half of max_queued_calls
  EXPECT_EQ(Metric("atmhealth_collector_store_queue_depth"), 2);

  ExpectNewSessionRefusedAsOverloaded("atm-0004");
  EXPECT_EQ(Metric("atmhealth_collector_sessions_refused_total", {{"reason", "store_busy"}}), 1);
  EXPECT_TRUE(store_state_->Hellos().size() == 3) << "a refused Hello never reaches the store";

  // The sessions already open keep their place: every batch is acknowledged.
  store_state_->Release();
  for (auto& agent : agents) ExpectAck(agent->Read(), 1);
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_store_queue_depth", {}, 0));
  // Three Hellos, three heartbeats and the held batch commit one by one; the
  // two batches that queued behind the held one commit together, in one group.
  EXPECT_EQ(Metric("atmhealth_collector_store_commit_seconds"), 8);
  EXPECT_EQ(Metric("atmhealth_collector_ingest_seconds"), 3);  // one per acknowledged batch
  ASSERT_NE(ConnectedAgent("atm-0004"), nullptr) << "admitted once the queue drained";
}

// Admission looked only at the calls waiting in the queue, not at the group
// the store thread was running: while a fleet's first 500 Hellos were being
// committed the queue looked empty, the next 500 were let in, and the
// batches of the sessions just welcomed then found the queue full and were
// refused REASON_STORE_UNAVAILABLE.
TEST_F(IngestTest, NewSessionsCountTheGroupRunningNowNotOnlyTheQueuedCalls) {
  store_options_.max_queued_calls = 2;  // new sessions wait once one call is ahead
  StartListener();
  auto open = EstablishedAgent("atm-0001");
  ASSERT_NE(open, nullptr);
  store_state_->Hold();  // a commit in flight
  ASSERT_TRUE(open->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  EXPECT_EQ(store_->queued_calls(), 0u) << "the batch runs; nothing waits";

  ExpectNewSessionRefusedAsOverloaded("atm-0002");
  EXPECT_EQ(store_state_->Hellos().size(), 1u) << "a refused Hello never reaches the store";

  store_state_->Release();
  ExpectAck(open->Read(), 1);
  ASSERT_NE(ConnectedAgent("atm-0002"), nullptr) << "admitted once the group committed";
}

// The same burst, one step later: the Hellos of a fleet were committed and
// the queue was empty again while the agents, just welcomed, had not yet
// sent the heartbeats and batches that would fill it; the next burst of
// Hellos was let in, and the calls of both overflowed the queue.
TEST_F(IngestTest, SessionsJustWelcomedCountAsTheCallTheyAreAboutToMake) {
  store_options_.max_queued_calls = 4;  // new sessions wait once two calls are ahead
  StartListener();
  auto first = ConnectedAgent("atm-0001");
  auto second = ConnectedAgent("atm-0002");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(store_->queued_calls(), 0u) << "the Hellos are committed; nothing waits";

  ExpectNewSessionRefusedAsOverloaded("atm-0003");

  // Their first calls are made: they count as queued calls, then are done.
  ASSERT_TRUE(first->Send(SampleHeartbeatMessage()).ok());
  ExpectAck(first->Read(), 0);
  ASSERT_TRUE(second->Send(SampleBatch(1, 1)).ok());
  ExpectAck(second->Read(), 1);
  auto third_again = ConnectedAgent("atm-0003");
  ASSERT_NE(third_again, nullptr) << "admitted once they made their calls";
  auto fourth = ConnectedAgent("atm-0004");
  ASSERT_NE(fourth, nullptr);
  ExpectNewSessionRefusedAsOverloaded("atm-0005");

  // A session that ends before its first call stops counting too.
  fourth.reset();
  EXPECT_TRUE(atmhealth::testing::WaitFor(
      [&] {
        auto again = Connect();
        return again != nullptr && again->Handshake(SampleHello("atm-0005")).message.has_welcome();
      },
      5s));
}

TEST_F(IngestTest, BatchesOfSessionsQueuedBehindACommitShareTheNextAndAreAckedOnlyIfItCommits) {
  StartListener();
  std::vector<std::unique_ptr<AgentClient>> agents;
  for (const char* device : {"atm-0001", "atm-0002", "atm-0003", "atm-0004"}) {
    agents.push_back(ConnectedAgent(device));
    ASSERT_NE(agents.back(), nullptr);
  }
  store_state_->Hold();  // a commit in flight
  ASSERT_TRUE(agents[0]->Send(SampleBatch(1, 2)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  ASSERT_TRUE(agents[1]->Send(SampleBatch(1, 2)).ok());
  ASSERT_TRUE(agents[2]->Send(SampleBatch(1, 3)).ok());
  ASSERT_TRUE(agents[3]->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(QueueReaches(*store_, 3));
  // The group of the three waiting batches fails at its commit: the disk
  // lost them, so none of the three may be acknowledged.
  store_state_->FailNextGroupCommit(Error(ErrorCode::kIo, "collector.db: disk I/O error"));
  store_state_->Release();

  ExpectAck(agents[0]->Read(), 2);
  for (std::size_t i = 1; i < agents.size(); ++i) {
    ExpectRefusal(agents[i]->Read(), v1::Refusal::REASON_STORE_UNAVAILABLE);
    ExpectClosed(*agents[i]);
  }
  const std::vector<int> groups = store_state_->GroupSizes();
  ASSERT_GE(groups.size(), 2u);
  EXPECT_EQ(groups.back(), 3) << "the three batches that waited went into one commit";
  EXPECT_EQ(groups[groups.size() - 2], 1) << "the batch alone at an idle store went at once";
  EXPECT_EQ(store_state_->StoredSeqs("atm-0001"), (std::vector<std::uint64_t>{1, 2}));
  for (const char* lost : {"atm-0002", "atm-0003", "atm-0004"}) {
    EXPECT_TRUE(store_state_->StoredSeqs(lost).empty()) << lost;
  }
  EXPECT_FALSE(store_->WriteHealth().ok()) << "a failed commit says the store cannot write";

  // The agents come back and send again: stored and acknowledged once.
  for (std::size_t i = 1; i < agents.size(); ++i) {
    agents[i] = ConnectedAgent("atm-000" + std::to_string(i + 1));
    ASSERT_NE(agents[i], nullptr);
    ASSERT_TRUE(agents[i]->Send(SampleBatch(1, 2)).ok());
    ExpectAck(agents[i]->Read(), 2);
  }
  EXPECT_TRUE(store_->WriteHealth().ok());
}

// One agent's window: the frames it sends while its first batch is with
// the store are read at once and go together into the next group commit,
// not one commit each after the previous Ack.
TEST_F(IngestTest, BatchesOfOneSessionSentWhileTheStoreIsBusyShareTheNextCommitAndAckInOrder) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  store_state_->Hold();  // a slow commit
  ASSERT_TRUE(agent->Send(SampleBatch(1, 2)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  ASSERT_TRUE(agent->Send(SampleBatch(3, 4)).ok());
  ASSERT_TRUE(agent->Send(SampleHeartbeatMessage()).ok());
  ASSERT_TRUE(agent->Send(SampleBatch(5, 7)).ok());
  // The two batches queue; the heartbeat waits for the same group, outside
  // the queue.
  ASSERT_TRUE(QueueReaches(*store_, 2)) << "the frames behind the first were not read ahead";
  ASSERT_TRUE(atmhealth::testing::WaitFor([&] { return store_->pending_heartbeats() == 1; }, 5s));
  std::future<AgentClient::Received> first = agent->ReadAsync();
  EXPECT_EQ(first.wait_for(200ms), std::future_status::timeout)
      << "an Ack arrived before its batch was committed";
  EXPECT_EQ(store_state_->store_events_returned(), 0);

  store_state_->Release();
  ExpectAck(first.get(), 2);
  ExpectAck(agent->Read(), 4);
  ExpectAck(agent->Read(), 4);  // the heartbeat, answered after the batch before it
  ExpectAck(agent->Read(), 7);
  const std::vector<int> groups = store_state_->GroupSizes();
  ASSERT_GE(groups.size(), 2u);
  EXPECT_EQ(groups.back(), 3) << "the three frames read ahead went into one commit";
  EXPECT_EQ(groups[groups.size() - 2], 1);
  EXPECT_EQ(store_state_->StoredSeqs("atm-0412"),
            (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(store_state_->Heartbeats("atm-0412").size(), 1u);
  EXPECT_EQ(Metric("atmhealth_collector_events_stored_total"), 7);
}

TEST_F(IngestTest, BatchesReadAheadAreNotAckedWhenTheirCommitFailsWhileTheOnesBeforeItAre) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  store_state_->Hold();
  ASSERT_TRUE(agent->Send(SampleBatch(1, 2)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  ASSERT_TRUE(agent->Send(SampleBatch(3, 4)).ok());
  ASSERT_TRUE(agent->Send(SampleBatch(5, 6)).ok());
  ASSERT_TRUE(QueueReaches(*store_, 2));
  store_state_->FailNextGroupCommit(Error(ErrorCode::kIo, "collector.db: disk I/O error"));
  store_state_->Release();

  ExpectAck(agent->Read(), 2);
  ExpectRefusal(agent->Read(), v1::Refusal::REASON_STORE_UNAVAILABLE);
  ExpectClosed(*agent);
  EXPECT_EQ(store_state_->StoredSeqs("atm-0412"), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_sessions_active", {}, 0));
}

TEST_F(IngestTest, ASessionReadsAheadAtMostMaxFramesInStore) {
  options_.session.max_frames_in_store = 2;
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  store_state_->Hold();
  ASSERT_TRUE(agent->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  for (std::uint64_t seq = 2; seq <= 5; ++seq) ASSERT_TRUE(agent->Send(SampleBatch(seq, seq)).ok());
  ASSERT_TRUE(QueueReaches(*store_, 1));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(store_->queued_calls(), 1u) << "more than two frames of the session with the store";

  store_state_->Release();
  for (std::uint64_t seq = 1; seq <= 5; ++seq) ExpectAck(agent->Read(), seq);
  EXPECT_EQ(store_state_->StoredSeqs("atm-0412"), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
}

// Under a fleet's load the store queue is long: a session then takes one
// frame at a time, so one agent's window cannot crowd out the others.
TEST_F(IngestTest, ASessionDoesNotReadAheadWhileTheStoreQueueIsAtItsReadAheadLimit) {
  options_.session.read_ahead_queue_limit = 1;
  StartListener();
  auto other = ConnectedAgent("atm-0001");
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(other, nullptr);
  ASSERT_NE(agent, nullptr);
  store_state_->Hold();
  ASSERT_TRUE(other->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  ASSERT_TRUE(agent->Send(SampleBatch(1, 2)).ok());
  ASSERT_TRUE(QueueReaches(*store_, 1));
  ASSERT_TRUE(agent->Send(SampleBatch(3, 4)).ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(store_->queued_calls(), 1u) << "the session read ahead past the queue's limit";

  store_state_->Release();
  ExpectAck(other->Read(), 1);
  ExpectAck(agent->Read(), 2);
  ExpectAck(agent->Read(), 4);
  EXPECT_EQ(store_state_->StoredSeqs("atm-0412"), (std::vector<std::uint64_t>{1, 2, 3, 4}));
}

TEST_F(IngestTest, ShutdownWhileReadingAnswersTheFramesWithTheStoreThenRefuses) {
  StartListener();
  auto agent = AgentWithTwoBatchesInStore("atm-0412");
  ASSERT_NE(agent, nullptr);  // and reading its next frame now

  listener_->Shutdown();
  std::future<AgentClient::Received> ack = agent->ReadAsync();
  EXPECT_EQ(ack.wait_for(200ms), std::future_status::timeout);
  store_state_->Release();
  ExpectAck(ack.get(), 2);
  ExpectAck(agent->Read(), 4);
  ExpectRefusal(agent->Read(), v1::Refusal::REASON_SHUTTING_DOWN);
  ExpectClosed(*agent);
  EXPECT_EQ(store_state_->StoredSeqs("atm-0412"), (std::vector<std::uint64_t>{1, 2, 3, 4}));
}

TEST_F(IngestTest, AFrameRefusedBehindFramesWithTheStoreComesAfterTheirAcks) {
  StartListener();
  auto agent = AgentWithTwoBatchesInStore("atm-0412");
  ASSERT_NE(agent, nullptr);
  v1::AgentMessage out_of_order = SampleBatch(6, 6);
  *out_of_order.mutable_batch()->add_events() = SampleEvent(5);
  ASSERT_TRUE(agent->Send(out_of_order).ok());
  std::future<AgentClient::Received> first = agent->ReadAsync();
  EXPECT_EQ(first.wait_for(200ms), std::future_status::timeout);

  store_state_->Release();
  ExpectAck(first.get(), 2);
  ExpectAck(agent->Read(), 4);
  ExpectRefusal(agent->Read(), v1::Refusal::REASON_PROTOCOL_VIOLATION);
  ExpectClosed(*agent);
  EXPECT_EQ(store_state_->StoredSeqs("atm-0412"), (std::vector<std::uint64_t>{1, 2, 3, 4}));
}

TEST_F(IngestTest, StoreCallThatTimedOutInTheQueueIsSkippedNotRunLate) {
  options_.session.store_timeout = 200ms;
  StartListener();
  auto running = ConnectedAgent("atm-0001");
  auto queued = ConnectedAgent("atm-0002");
  ASSERT_NE(running, nullptr);
  ASSERT_NE(queued, nullptr);
  store_state_->Hold();
  ASSERT_TRUE(running->Send(SampleBatch(1, 3)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  ASSERT_TRUE(queued->Send(SampleBatch(1, 2)).ok());

  const AgentClient::Received refusal = queued->Read();
  ExpectRefusal(refusal, v1::Refusal::REASON_STORE_UNAVAILABLE);
  EXPECT_GE(refusal.message.refusal().retry_after_ms(), 1000u);
  ExpectRefusal(running->Read(), v1::Refusal::REASON_STORE_UNAVAILABLE);

  store_state_->Release();
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_store_calls_skipped_total", {}, 1));
  // The call already running finished; the one still queued never ran.
  EXPECT_EQ(store_state_->StoredSeqs("atm-0001"), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_TRUE(store_state_->StoredSeqs("atm-0002").empty());
}

TEST_F(IngestTest, AFullStoreQueueRefusesACallAtOnceInsteadOfQueueingIt) {
  store_options_.max_queued_calls = 2;
  StartListener();
  std::vector<std::unique_ptr<AgentClient>> agents;
  for (const char* device : {"atm-0001", "atm-0002", "atm-0003", "atm-0004"}) {
    agents.push_back(EstablishedAgent(device));
    ASSERT_NE(agents.back(), nullptr);
  }
  store_state_->Hold();
  ASSERT_TRUE(agents[0]->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  ASSERT_TRUE(agents[1]->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(agents[2]->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(QueueReaches(*store_, 2));

  ASSERT_TRUE(agents[3]->Send(SampleBatch(1, 1)).ok());
  const AgentClient::Received refusal = agents[3]->Read(3s);
  ExpectRefusal(refusal, v1::Refusal::REASON_STORE_UNAVAILABLE);
  EXPECT_EQ(store_->queued_calls(), 2u);
  store_state_->Release();
  for (std::size_t i = 0; i < 3; ++i) ExpectAck(agents[i]->Read(), 1);
  EXPECT_TRUE(store_state_->StoredSeqs("atm-0004").empty());
}

// An idle fleet over TLS was not held: while a commit ran, the heartbeats of
// the sessions filled the store queue, the ones beyond it were refused
// REASON_STORE_UNAVAILABLE and their sessions closed, and every agent so
// refused came back through a new handshake. Heartbeats are coalesced per
// device instead, outside the queue.
TEST_F(IngestTest, HeartbeatsOfMoreSessionsThanTheStoreQueueHoldsAreAllAcknowledged) {
  store_options_.max_queued_calls = 2;
  StartListener();
  std::vector<std::unique_ptr<AgentClient>> agents;
  for (int i = 1; i <= 6; ++i) {
    agents.push_back(EstablishedAgent("atm-000" + std::to_string(i)));
    ASSERT_NE(agents.back(), nullptr);
  }
  store_state_->Hold();  // a commit in flight
  ASSERT_TRUE(agents[0]->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  for (std::size_t i = 1; i < agents.size(); ++i) {
    ASSERT_TRUE(agents[i]->Send(SampleHeartbeatMessage()).ok());
  }
  ASSERT_TRUE(atmhealth::testing::WaitFor([&] { return store_->pending_heartbeats() == 5; }, 5s));
  EXPECT_EQ(store_->queued_calls(), 0u);

  store_state_->Release();
  ExpectAck(agents[0]->Read(), 1);
  for (std::size_t i = 1; i < agents.size(); ++i) ExpectAck(agents[i]->Read(), 0);
  EXPECT_EQ(store_state_->GroupSizes().back(), 5) << "the five heartbeats shared one commit";
  EXPECT_EQ(Metric("atmhealth_collector_store_errors_total"), 0);
  for (int i = 2; i <= 6; ++i) {
    EXPECT_EQ(store_state_->Heartbeats("atm-000" + std::to_string(i)).size(), 2u);
  }
}

TEST_F(IngestTest, WriteHealthReportsAFailedWriteAndAStalledStore) {
  store_options_.stalled_after = 100ms;
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  EXPECT_TRUE(store_->WriteHealth().ok());

  store_state_->Hold();  // a disk that hangs
  ASSERT_TRUE(agent->Send(SampleBatch(1, 1)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));
  ASSERT_TRUE(atmhealth::testing::WaitFor([&] { return !store_->WriteHealth().ok(); }, 5s));
  EXPECT_NE(store_->WriteHealth().error().message().find("running for"), std::string::npos);
  store_state_->Release();
  ExpectAck(agent->Read(), 1);
  EXPECT_TRUE(store_->WriteHealth().ok());

  store_state_->FailWith(Error(ErrorCode::kNoSpace, "collector.db: database or disk is full"));
  ASSERT_TRUE(agent->Send(SampleBatch(2, 2)).ok());
  ExpectRefusal(agent->Read(), v1::Refusal::REASON_STORE_UNAVAILABLE);
  const Status health = store_->WriteHealth();
  ASSERT_FALSE(health.ok());
  EXPECT_EQ(health.error().message(), "collector.db: database or disk is full");
}

TEST(WelcomeWait, IsTheStoreTimeoutOrHalfTheAgentsWaitWhicheverIsShorter) {
  v1::Hello hello = SampleHello("atm-0412");
  EXPECT_EQ(WelcomeWait(hello, 5s), 5s) << "an older agent announces nothing";
  hello.set_welcome_timeout_ms(15'000);
  EXPECT_EQ(WelcomeWait(hello, 5s), 5s);
  hello.set_welcome_timeout_ms(3'000);
  EXPECT_EQ(WelcomeWait(hello, 5s), 1500ms);
}

TEST_F(IngestTest, HeartbeatIsRecordedAndCounted) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->Send(SampleHeartbeatMessage()).ok());
  // The answer to a heartbeat is an Ack of what is stored (nothing yet), sent
  // once the heartbeat is recorded.
  ExpectAck(agent->Read(), 0);
  ASSERT_TRUE(agent->Send(SampleBatch(1, 1)).ok());
  ExpectAck(agent->Read(), 1);
  ASSERT_TRUE(agent->Send(SampleHeartbeatMessage()).ok());
  ExpectAck(agent->Read(), 1);
  const std::vector<v1::Heartbeat> heartbeats = store_state_->Heartbeats("atm-0412");
  ASSERT_EQ(heartbeats.size(), 2u);
  EXPECT_EQ(heartbeats[0].services_size(), ::atmhealth::testing::SampleHeartbeat().services_size());
  EXPECT_EQ(Metric("atmhealth_collector_heartbeats_total"), 2);
}

TEST_F(IngestTest, ShutdownLetsTheBatchBeingStoredFinishThenRefuses) {
  StartListener();
  auto busy = ConnectedAgent("atm-0001");
  auto idle = ConnectedAgent("atm-0002");
  ASSERT_NE(busy, nullptr);
  ASSERT_NE(idle, nullptr);
  store_state_->Hold();
  ASSERT_TRUE(busy->Send(SampleBatch(1, 3)).ok());
  ASSERT_TRUE(store_state_->WaitUntilHeld(5s));

  listener_->Shutdown();
  ExpectRefusal(idle->Read(), v1::Refusal::REASON_SHUTTING_DOWN);
  std::future<AgentClient::Received> ack = busy->ReadAsync();
  EXPECT_EQ(ack.wait_for(200ms), std::future_status::timeout);
  store_state_->Release();
  ExpectAck(ack.get(), 3);
  ExpectRefusal(busy->Read(), v1::Refusal::REASON_SHUTTING_DOWN);
  EXPECT_EQ(store_state_->StoredSeqs("atm-0001"), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_sessions_active", {}, 0));

  // No new connections once shutdown began.
  EXPECT_FALSE(AgentClient::Connect(listener_->port()).ok());
}

TEST_F(IngestTest, StoreCallsRunOnTheStoreThreadAndResumeOnTheCallersStrand) {
  StartListener();
  auto strand = asio::make_strand(io_);
  auto resumed_on_strand = asio::co_spawn(
      strand,
      [this, strand]() -> asio::awaitable<bool> {
        Result<std::uint64_t> last =
            co_await store_->RecordHello(SampleHello("atm-0412"), "127.0.0.1:1", 0, 5s);
        co_return last.ok() && strand.running_in_this_thread();
      },
      asio::use_future);
  EXPECT_TRUE(resumed_on_strand.get());
  ASSERT_TRUE(store_state_->store_thread().has_value());
  for (const std::thread& thread : threads_) {
    EXPECT_NE(*store_state_->store_thread(), thread.get_id());
  }
  EXPECT_NE(*store_state_->store_thread(), std::this_thread::get_id());
}

// Regression: two devices configured with one id were merged, each
// dropping the other's events as duplicates. A second live buffer under the
// same device id is refused, logged and counted; the first carries on.
TEST_F(IngestTest, SecondLiveBufferOfADeviceIsRefusedAsAConflict) {
  StartListener();
  v1::Hello first_hello = SampleHello("atm-0412");
  first_hello.set_buffer_id(std::string(32, 'a'));
  auto first = Connect();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->Handshake(first_hello).message.has_welcome());

  v1::Hello twin_hello = first_hello;
  twin_hello.set_buffer_id(std::string(32, 'b'));
  auto twin = Connect();
  ASSERT_NE(twin, nullptr);
  const AgentClient::Received refusal = twin->Handshake(twin_hello);
  ExpectRefusal(refusal, v1::Refusal::REASON_BUFFER_CONFLICT);
  EXPECT_NE(refusal.message.refusal().detail().find(std::string(32, 'a')), std::string::npos)
      << refusal.message.refusal().detail();
  ExpectClosed(*twin);
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_sessions_refused_total",
                            {{"reason", "buffer_conflict"}}, 1));

  ASSERT_TRUE(first->Send(SampleBatch(1, 2)).ok());
  ExpectAck(first->Read(), 2);
  EXPECT_EQ(Metric("atmhealth_collector_sessions_replaced_total"), 0);
}

// The collector's batch limit is announced in Welcome, and is what it checks.
TEST_F(IngestTest, WelcomeAnnouncesTheBatchLimitItEnforces) {
  options_.session.max_batch_events = 10;
  options_.session.max_frame_bytes = 64 * 1024;
  StartListener();
  auto agent = Connect();
  ASSERT_NE(agent, nullptr);
  const AgentClient::Received welcome = agent->Handshake(SampleHello("atm-0412"));
  ASSERT_TRUE(welcome.message.has_welcome());
  EXPECT_EQ(welcome.message.welcome().max_batch_events(), 10u);
  EXPECT_EQ(welcome.message.welcome().max_frame_bytes(), 64u * 1024);
  ASSERT_TRUE(agent->Send(SampleBatch(1, 10)).ok());
  ExpectAck(agent->Read(), 10);
  ASSERT_TRUE(agent->Send(SampleBatch(11, 21)).ok());
  ExpectRefusal(agent->Read(), v1::Refusal::REASON_PROTOCOL_VIOLATION);
}

// A Refusal caused by one event names it, so that the agent can set it aside.
TEST_F(IngestTest, RefusalOfOneEventNamesItsSeq) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  v1::AgentMessage batch = SampleBatch(1, 3);
  batch.mutable_batch()->mutable_events(1)->set_summary(std::string(600, 's'));
  ASSERT_TRUE(agent->Send(batch).ok());
  const AgentClient::Received refusal = agent->Read();
  ExpectRefusal(refusal, v1::Refusal::REASON_PROTOCOL_VIOLATION);
  EXPECT_EQ(refusal.message.refusal().refused_seq(), 2u);
}

// Regression: a late event filling a gap was counted as a duplicate; gaps
// were neither logged nor counted.
TEST_F(IngestTest, GapsAndLateEventsAreCounted) {
  StartListener();
  auto agent = ConnectedAgent("atm-0412");
  ASSERT_NE(agent, nullptr);
  v1::AgentMessage with_gap = SampleBatch(1, 2);
  *with_gap.mutable_batch()->add_events() = SampleEvent(5);
  ASSERT_TRUE(agent->Send(with_gap).ok());
  ExpectAck(agent->Read(), 5);
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_sequence_gaps_total", {}, 1));
  EXPECT_EQ(Metric("atmhealth_collector_sequence_gap_events_total"), 2);

  ASSERT_TRUE(agent->Send(SampleBatch(3, 3)).ok());
  ExpectAck(agent->Read(), 5);
  EXPECT_TRUE(MetricBecomes("atmhealth_collector_events_late_total", {}, 1));
  EXPECT_EQ(Metric("atmhealth_collector_events_duplicate_total"), 0);
  EXPECT_EQ(Metric("atmhealth_collector_events_stored_total"), 4);
}

// Regression: a frame cut off by the peer closing its side was taken for a
// clean close: neither refused nor counted.
TEST_F(IngestTest, TruncatedFrameFollowedByACloseIsRefusedAndCounted) {
  StartListener();
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), listener_->port()});
  const std::string bytes =
      EncodeFrame(HelloMessage(SampleHello("atm-0412"))) + LengthPrefix(100) + std::string(10, 'x');
  asio::write(socket, asio::buffer(bytes));
  socket.shutdown(asio::ip::tcp::socket::shutdown_send);

  std::string reply;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(reply), ec);  // until the collector closes
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  wire::FrameDecoder decoder;
  decoder.Append(reply);
  std::vector<v1::CollectorMessage> answers;
  std::string_view frame;
  while (decoder.Next(frame) == wire::FrameDecoder::Result::kFrame) {
    ASSERT_TRUE(
        answers.emplace_back().ParseFromArray(frame.data(), static_cast<int>(frame.size())));
  }
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_TRUE(answers[0].has_welcome());
  ASSERT_TRUE(answers[1].has_refusal());
  EXPECT_EQ(answers[1].refusal().reason(), v1::Refusal::REASON_MALFORMED_FRAME);
  EXPECT_TRUE(
      MetricBecomes("atmhealth_collector_frames_rejected_total", {{"reason", "truncated"}}, 1));
}

}  // namespace
}  // namespace atmhealth::collector
