// A test agent: one connection to a collector, speaking the session protocol
// through proto/frame_stream.h, with a blocking API for test bodies.
//
//   auto agent = AgentClient::Connect(port);
//   ASSERT_TRUE(agent.ok()) << agent.error().message();
//   auto welcome = (*agent)->Handshake(SampleHello("atm-0412"));
//   (*agent)->Send(SampleBatch(1, 3));  // tests/support/sample_events.h
//   auto ack = (*agent)->Read();
//
// The connection runs on an io_context of its own, on a thread of its own,
// so a test can wait for a reply (ReadAsync) while it does something else.
#ifndef ATMHEALTH_TESTS_SUPPORT_AGENT_CLIENT_H_
#define ATMHEALTH_TESTS_SUPPORT_AGENT_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "atmhealth/v1/session.pb.h"
#include "platform/asio.h"
#include "platform/status.h"
#include "proto/frame_stream.h"
#include "tests/support/sample_events.h"

namespace atmhealth::testing {

inline constexpr std::chrono::milliseconds kReplyTimeout{5000};

class AgentClient {
 public:
  struct Received {
    wire::FrameStatus status;
    v1::CollectorMessage message;
    bool ok() const { return status.ok(); }
  };

  // Connects to host:port. `raw_bytes` are written as they are before any
  // frame, for tests of malformed input (EncodeFrame builds valid frames to
  // put in front of the garbage).
  static Result<std::unique_ptr<AgentClient>> Connect(std::uint16_t port,
                                                      std::string_view raw_bytes = {},
                                                      const std::string& host = "127.0.0.1");
  ~AgentClient();  // closes the connection and joins the thread
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  // Sends one message and waits until it left.
  wire::FrameStatus Send(const v1::AgentMessage& message);

  // Reads the next message from the collector; at most one read at a time.
  // A read that times out closes the connection (FrameStream's deadline).
  std::future<Received> ReadAsync(std::chrono::milliseconds timeout = kReplyTimeout);
  Received Read(std::chrono::milliseconds timeout = kReplyTimeout);

  // Sends `hello` and reads the reply (a Welcome, or a Refusal).
  Received Handshake(const v1::Hello& hello);

  void Close();
  const std::string& peer() const { return stream_->peer(); }

 private:
  AgentClient();

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::shared_ptr<wire::FrameStream> stream_;
  std::thread thread_;
};

// The bytes of one frame (length prefix and message), as an agent sends it.
std::string EncodeFrame(const v1::AgentMessage& message);

v1::AgentMessage HelloMessage(const v1::Hello& hello);

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_AGENT_CLIENT_H_
