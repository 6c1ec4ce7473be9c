// One agent connection, from its Hello to its close.
//
//   [TLS handshake (hello_timeout): client certificate verified]
//   await Hello (hello_timeout) ─▶ validate ─▶ admitted by the store queue? ─▶ claim the
//     device (a live session of another buffer: REASON_BUFFER_CONFLICT) ─▶ store.RecordHello
//     ─▶ Welcome{last_stored_seq} ─▶ loop: await a frame (idle_timeout)
//          EventBatch: validate ─▶ store.StoreEvents ─▶ Ack{highest stored seq}
//                      (gaps in the buffer's sequence are logged and counted)
//          Heartbeat:  validate ─▶ store.RecordHeartbeat ─▶ Ack{highest stored seq}
//
// Read-ahead: a frame handed to the store does not stop the session from
// reading the next ones. Up to SessionSettings::max_frames_in_store of its
// frames are with the store at once, queued in the order they arrived, so
// the batches an agent sends within its window join the same or the next
// group commit instead of paying a commit each. The Acks leave strictly in
// that order, each once its own frame's group committed. Past that bound,
// or while the store queue holds read_ahead_queue_limit calls or more (a
// fleet's sessions then take turns as before), the session reads nothing
// more until its oldest frame is answered, so memory stays bounded by about
// max_frames_in_store x max_frame_bytes per session.
//
// An Ack is sent only after the store returned OK, so an acknowledged event
// is durable. A frame that fails (oversized, malformed, out of order, bad
// fields) is answered with a Refusal, the send queue is drained briefly and
// the connection closes; a store error is answered with
// REASON_STORE_UNAVAILABLE (nothing unacknowledged is lost: the agent resends).
// Each of these is logged once with the peer and device and counted. Under
// TLS, a Hello whose device id is not the client certificate's identity is
// refused with REASON_IDENTITY_MISMATCH before it can claim the device.
// A Hello that arrives while the store queue is too long is answered with
// REASON_OVERLOADED; it and REASON_STORE_UNAVAILABLE carry a retry hint
// (Refusal.retry_after_ms). A frame refused, or a Stop(), waits until the
// frames already with the store are answered; a store failure refuses the
// session at the failed frame and the frames behind it get no Ack.
//
// All members run on the session's strand (the FrameStream's executor);
// Stop() and Abort() may be called from any thread.
#ifndef ATMHEALTH_COLLECTOR_INGEST_AGENT_SESSION_H_
#define ATMHEALTH_COLLECTOR_INGEST_AGENT_SESSION_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atmhealth/v1/session.pb.h"
#include "collector/ingest/handshake_gate.h"
#include "collector/ingest/ingest_metrics.h"
#include "collector/ingest/session_registry.h"
#include "collector/ingest/store_executor.h"
#include "platform/asio.h"
#include "platform/clock.h"
#include "proto/frame_stream.h"
#include "proto/schema_limits.h"

namespace atmhealth::collector {

struct SessionSettings {
  std::size_t max_frame_bytes = wire::kDefaultMaxFrameBytes;  // bytes, both directions
  std::chrono::milliseconds hello_timeout{10000};             // from accept to a whole Hello
  std::chrono::milliseconds idle_timeout{60000};              // longest silence between frames
  // Longest wait for one store call; then REASON_STORE_UNAVAILABLE. The
  // Hello waits at most half the agent's Welcome wait (WelcomeWait()).
  std::chrono::milliseconds store_timeout{5000};
  std::string collector_id;  // sent in Welcome
  // Most events accepted in one batch, announced in Welcome; at most
  // wire::kMaxEventsPerBatch.
  std::size_t max_batch_events = wire::kMaxEventsPerBatch;
  // Frames of one session with the store at once (read ahead while the
  // earlier ones are stored); at least 1, which is one frame at a time.
  std::size_t max_frames_in_store = 4;
  // A session reads ahead only while fewer calls than this wait in the
  // store queue; set it to half the queue's bound.
  std::size_t read_ahead_queue_limit = 500;
};

// How long the store may take with a session's Hello: `store_timeout`, or
// half the Welcome wait the agent announced in its Hello when that is
// shorter, so that the agent hears Welcome or a Refusal before it gives up
// (the other half is for the network and the queue of the session's strand).
std::chrono::milliseconds WelcomeWait(const v1::Hello& hello,
                                      std::chrono::milliseconds store_timeout);

// How long a Refusal may take to leave before the connection closes anyway.
inline constexpr std::chrono::milliseconds kRefusalDrainTimeout{1000};

// What the sessions share; owned by the listener's owner and outliving every
// session.
struct SessionServices {
  StoreExecutor& store;
  SessionRegistry& registry;
  IngestMetrics& metrics;
  platform::Clock& clock;
  HandshakeFailureLog& handshake_failures;  // counts and logs failed TLS handshakes
};

class AgentSession : public std::enable_shared_from_this<AgentSession> {
 public:
  // Why a session is asked to end early.
  enum class StopCause {
    kShutdown,  // the collector stops: Refusal REASON_SHUTTING_DOWN
    kReplaced,  // the same device connected again: closed without a word,
                // since the old connection is usually half-open
  };

  AgentSession(std::shared_ptr<wire::FrameStream> stream, const SessionSettings& settings,
               SessionServices services);

  // Runs the session until it ends; the caller keeps the session alive
  // until the returned awaitable completes. Call it once, on the stream's
  // executor. `handshake_slot`: the listener's TLS handshake slot, held
  // until the handshake ended (empty in plaintext).
  asio::awaitable<void> Run(HandshakeGate::Slot handshake_slot = {});

  // Ends the session after the frames it is storing now, if any (a batch
  // fully received is stored and acknowledged first). Thread-safe.
  void Stop(StopCause cause);

  // Closes the connection at once; a batch being stored is not
  // acknowledged. Thread-safe.
  void Abort();

 private:
  enum class Phase {
    kReading,  // waiting for a frame: safe to end once no frame is with the store
    kBusy,     // validating, storing or answering a frame
  };

  // A frame handed to the store, answered in the order it arrived.
  struct InStore {
    bool is_batch = false;
    std::uint64_t first_seq = 0;  // of a batch
    std::uint64_t last_seq = 0;
    std::chrono::steady_clock::time_point received;
    bool done = false;  // the store answered; `batch` or `heartbeat` holds it
    std::optional<Result<StoredBatch>> batch;
    Status heartbeat;
  };

  asio::awaitable<void> Converse();
  // Runs the TLS handshake of a TLS stream; false (logged, counted, closed)
  // when it failed.
  asio::awaitable<bool> AcceptTls();
  // Reads one frame; false when the session must end (fault or stop), which
  // was already answered, logged and counted.
  asio::awaitable<bool> ReadFrame(v1::AgentMessage& message, std::chrono::milliseconds timeout,
                                  std::string_view waiting_for);
  asio::awaitable<bool> Handshake(const v1::Hello& hello);
  asio::awaitable<bool> HandleBatch(v1::EventBatch& batch);
  asio::awaitable<bool> HandleHeartbeat(v1::Heartbeat& heartbeat);
  // Hands a validated batch (`events`) or heartbeat to the store behind the
  // session's earlier frames and returns at once; StoreFrame answers it.
  void Queue(std::shared_ptr<InStore> frame, std::vector<v1::Event> events,
             v1::Heartbeat heartbeat);
  // Awaits the store call of `frame` and answers whatever is answerable.
  asio::awaitable<void> StoreFrame(std::shared_ptr<InStore> frame, std::vector<v1::Event> events,
                                   v1::Heartbeat heartbeat);
  // Sends the answers of the oldest frames the store has answered, in order.
  asio::awaitable<void> AnswerStored();
  // Answers one frame the store answered; false when the session must end.
  asio::awaitable<bool> Answer(InStore& frame);
  // Waits until fewer than `limit` frames are with the store, or (unless
  // `until_empty`) the session is closing.
  asio::awaitable<void> AwaitInStoreBelow(std::size_t limit, bool until_empty = false);
  // How many frames may be with the store before the next read.
  std::size_t ReadAheadLimit() const;
  asio::awaitable<void> OnStop(StopCause cause);
  asio::awaitable<void> EndForStop();

  // Logs, counts and answers a frame that breaks the protocol, then closes.
  // `refused_seq` names the one event at fault, if one is.
  asio::awaitable<void> Reject(FrameRejection rejection, v1::Refusal::Reason reason,
                               const std::string& detail, std::uint64_t refused_seq = 0);
  // Logs, counts and answers a failed store call, then closes.
  asio::awaitable<void> FailStore(const Error& error, std::string_view doing);
  // Sends one Refusal, drains briefly and closes. Only the first call sends.
  // `retry_after` (0: none) goes into the Refusal as the agent's retry hint;
  // `refused_seq` (0: none) names the event refused.
  asio::awaitable<void> Refuse(v1::Refusal::Reason reason, const std::string& detail,
                               std::chrono::milliseconds retry_after = {},
                               std::uint64_t refused_seq = 0);
  bool SendOrEnd(const v1::CollectorMessage& message);

  std::int64_t NowUnixNanos() const;
  // "peer 10.1.2.3:51234 device atm-0412" for log lines.
  std::string Who() const;

  const std::shared_ptr<wire::FrameStream> stream_;
  const SessionSettings settings_;
  const SessionServices services_;
  HandshakeGate::Slot handshake_slot_;
  // Held from admission until the first batch or heartbeat reaches the store.
  StoreExecutor::StartingSession starting_;

  std::string device_id_;              // empty until a valid Hello arrived
  std::string buffer_id_;              // the agent's buffer, from its Hello
  std::uint64_t last_stored_seq_ = 0;  // highest seq the store reported for the buffer
  Phase phase_ = Phase::kBusy;
  bool stop_requested_ = false;
  StopCause stop_cause_ = StopCause::kShutdown;
  bool closing_ = false;  // a Refusal or close is under way: nothing more is sent
  // Frames with the store, oldest first; at most max_frames_in_store.
  std::deque<std::shared_ptr<InStore>> in_store_;
  bool answering_ = false;  // AnswerStored() is running
  // Never expires: cancelled whenever a frame left in_store_ or the session
  // began closing, to wake AwaitInStoreBelow().
  asio::steady_timer in_store_changed_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_AGENT_SESSION_H_
