// A test collector: the mirror image of AgentClient. It listens on
// 127.0.0.1 port 0, speaks the session protocol through proto/frame_stream.h
// the way collector/ingest/agent_session.cc does (Welcome{last stored seq},
// Ack{highest stored seq} after every batch and every heartbeat), records
// every frame an agent sends, and lets the test script what it does:
//
//   auto collector = FakeCollector::Start();
//   ASSERT_TRUE(collector.ok()) << collector.error().message();
//   (*collector)->HoldBatches(true);            // receive, but do not store or ack
//   ... start an agent against (*collector)->port() ...
//   (*collector)->WaitUntil([](const auto& r) { return r.held_batches == 2; });
//   (*collector)->ReleaseBatches(1);            // store the oldest, Ack it
//
// It "stores" events by remembering their sequences, once each, like the
// real collector's (device, buffer, seq) key. One device at a time is
// assumed; a Hello with another buffer id than the last one starts a new,
// empty buffer, as the real collector's per-buffer sequence does.
//
// The collector runs on an io_context of its own, on a thread of its own.
// Every public member is thread-safe; the scripting calls return once the
// collector's thread has carried them out.
#ifndef ATMHEALTH_TESTS_SUPPORT_FAKE_COLLECTOR_H_
#define ATMHEALTH_TESTS_SUPPORT_FAKE_COLLECTOR_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "atmhealth/v1/session.pb.h"
#include "platform/asio.h"
#include "platform/status.h"
#include "proto/frame_stream.h"

namespace atmhealth::testing {

// Long enough for a loaded (sanitizer) build, short enough that a broken
// agent fails the test instead of hanging it.
inline constexpr std::chrono::milliseconds kCollectorWait{10000};

class FakeCollector {
 public:
  // What the collector has seen and done so far; a copy, or the view a
  // WaitUntil condition gets.
  struct Record {
    struct Frame {
      int connection;  // 1 for the first accepted connection, 2 for the next, ...
      std::chrono::steady_clock::time_point received_at;
      v1::AgentMessage message;
    };
    std::vector<Frame> frames;  // every frame from every agent, in arrival order
    int connections = 0;        // accepted so far
    int open_connections = 0;
    std::uint64_t stored_seq = 0;            // highest sequence stored
    std::vector<std::uint64_t> stored_seqs;  // every sequence stored, ascending, once each
    std::size_t held_batches = 0;            // received on the live connection, not yet stored
    std::vector<v1::Refusal> refusals_sent;  // every Refusal sent, in order
    std::string buffer_id;                   // of the latest Hello
    int buffers = 0;                         // different buffer ids seen in a row

    // connection 0 means every connection.
    std::vector<v1::Hello> Hellos(int connection = 0) const;
    std::vector<v1::Heartbeat> Heartbeats(int connection = 0) const;
    std::vector<std::chrono::steady_clock::time_point> HeartbeatTimes(int connection = 0) const;
    // The sequences of every event received, in arrival order (resends too).
    std::vector<std::uint64_t> ReceivedSeqs(int connection = 0) const;
    // The sequences of each batch received, one vector per batch.
    std::vector<std::vector<std::uint64_t>> Batches(int connection = 0) const;
    // Every event received, in arrival order.
    std::vector<v1::Event> Events(int connection = 0) const;
  };

  // Listens on 127.0.0.1, port 0 (the kernel picks a free port).
  static Result<std::unique_ptr<FakeCollector>> Start();
  ~FakeCollector();  // closes every connection and joins the thread
  FakeCollector(const FakeCollector&) = delete;
  FakeCollector& operator=(const FakeCollector&) = delete;

  std::uint16_t port() const { return port_; }

  // --- Script. Each takes effect for frames that arrive afterwards.

  // The collector already holds this device's events up to `seq` (from an
  // earlier installation of the agent): Welcome says so, Acks never go below.
  void PretendStored(std::uint64_t seq);
  // Answer every Hello with Refusal{reason, retry_after_ms} and close;
  // nullopt: Welcome again.
  void RefuseHellos(std::optional<v1::Refusal::Reason> reason,
                    std::chrono::milliseconds retry_after = {});
  // true: receive batches but neither store nor acknowledge them (a collector
  // whose disk stalls) until ReleaseBatches; heartbeats are still answered
  // with the highest stored seq, which the held batches do not raise.
  // false: store and Ack every batch as it arrives (batches already held stay
  // held).
  void HoldBatches(bool hold);
  // Stores the `count` oldest held batches of the live connection and sends
  // one Ack{highest stored seq} for each.
  void ReleaseBatches(std::size_t count = std::numeric_limits<std::size_t>::max());
  // false: heartbeats get no answer (a collector that hangs after reading).
  void AnswerHeartbeats(bool answer);
  // false: Hellos get no answer at all (a collector hung in its handshake).
  void AnswerHellos(bool answer);
  // Closes the live connection without a word, as a crashed collector would.
  // Held batches are dropped, never stored.
  void CloseConnection();
  // Sends Refusal{reason} on the live connection, then closes it.
  void Refuse(v1::Refusal::Reason reason);
  // Welcome announces these limits (0: the collector's defaults); batches
  // above max_batch_events are refused as the real collector does.
  void AnnounceLimits(std::uint32_t max_batch_events, std::uint32_t max_frame_bytes);
  // Every batch holding `seq` is refused naming it (REASON_PROTOCOL_VIOLATION,
  // refused_seq), as the real collector refuses an event over a limit.
  void RefuseEvent(std::uint64_t seq);

  // --- Observation.

  Record record() const;
  // Waits until `condition(record)` holds, re-checking whenever the record
  // changes; returns whether it held before `timeout`. The condition runs
  // with the collector's lock held: it must only look at the record.
  bool WaitUntil(const std::function<bool(const Record&)>& condition,
                 std::chrono::milliseconds timeout = kCollectorWait) const;

 private:
  struct Connection {
    int id = 0;
    std::shared_ptr<wire::FrameStream> stream;
    std::deque<std::vector<std::uint64_t>> held;  // batches not yet stored, oldest first
  };

  FakeCollector();
  asio::awaitable<void> Accept();
  asio::awaitable<void> Converse(std::shared_ptr<wire::FrameStream> stream);
  asio::awaitable<void> SendRefusal(std::shared_ptr<Connection> connection,
                                    v1::Refusal::Reason reason, std::string detail,
                                    std::chrono::milliseconds retry_after = {},
                                    std::uint64_t refused_seq = 0);
  // Stores `seqs` (once each) and sends Ack{stored_seq}. Collector thread only.
  void StoreAndAck(Connection& connection, const std::vector<std::uint64_t>& seqs);
  void Send(Connection& connection, const v1::CollectorMessage& message);
  // Runs `work` on the collector's thread and waits for it.
  void RunOnCollector(std::function<void()> work);

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;

  std::shared_ptr<Connection> live_;  // the newest open connection; collector thread only
  std::vector<std::shared_ptr<Connection>> open_;  // collector thread only

  mutable std::mutex mutex_;  // guards everything below
  mutable std::condition_variable changed_;
  Record record_;
  std::optional<v1::Refusal::Reason> refuse_hellos_;
  std::chrono::milliseconds refuse_retry_after_{0};
  bool hold_batches_ = false;
  bool answer_heartbeats_ = true;
  bool answer_hellos_ = true;
  std::uint32_t max_batch_events_ = 0;
  std::uint32_t max_frame_bytes_ = 0;
  std::uint64_t refused_event_ = 0;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_FAKE_COLLECTOR_H_
