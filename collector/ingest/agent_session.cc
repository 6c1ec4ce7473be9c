#include "collector/ingest/agent_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

#include "collector/ingest/message_validation.h"

namespace atmhealth::collector {
namespace {

// A buffer id for the log: validated hex, or "(none)" from agents older
// than buffer ids.
std::string BufferName(const std::string& buffer_id) {
  return buffer_id.empty() ? std::string("(none)") : buffer_id;
}

const char* BodyName(const v1::AgentMessage& message) {
  switch (message.body_case()) {
    case v1::AgentMessage::kHello:
      return "a Hello";
    case v1::AgentMessage::kBatch:
      return "an EventBatch";
    case v1::AgentMessage::kHeartbeat:
      return "a Heartbeat";
    case v1::AgentMessage::BODY_NOT_SET:
      break;
  }
  return "an AgentMessage with no body";
}

// Sessions refused as store-busy are summarised in the log at most this often.
constexpr std::chrono::seconds kBusyLogInterval{10};

void LogStoreBusy(const StoreExecutor::Admission& admission) {
  static std::mutex mutex;
  static std::chrono::steady_clock::time_point last_logged{};
  static std::uint64_t unlogged = 0;
  std::lock_guard lock(mutex);
  ++unlogged;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_logged < kBusyLogInterval) return;
  spdlog::warn(
      "{} new sessions refused (REASON_OVERLOADED) since the last report: {}; retry in {} ms",
      unlogged, admission.reason, admission.retry_after.count());
  unlogged = 0;
  last_logged = now;
}

}  // namespace

std::chrono::milliseconds WelcomeWait(const v1::Hello& hello,
                                      std::chrono::milliseconds store_timeout) {
  if (hello.welcome_timeout_ms() == 0) return store_timeout;
  return std::min(store_timeout, std::chrono::milliseconds(hello.welcome_timeout_ms() / 2));
}

AgentSession::AgentSession(std::shared_ptr<wire::FrameStream> stream,
                           const SessionSettings& settings, SessionServices services)
    : stream_(std::move(stream)),
      settings_(settings),
      services_(services),
      in_store_changed_(stream_->executor(), std::chrono::steady_clock::time_point::max()) {}

asio::awaitable<void> AgentSession::Run(HandshakeGate::Slot handshake_slot) {
  handshake_slot_ = std::move(handshake_slot);
  services_.metrics.CountSessionStarted();
  co_await Converse();
  // Frames still with the store finish (each within store_timeout); once
  // the session is closing their answers are dropped.
  co_await AwaitInStoreBelow(1, /*until_empty=*/true);
  starting_.Release();  // a session that ended makes no more calls
  // A Refusal under way closes the stream once it left (or its drain
  // deadline passed); closing here would cut it off.
  if (!closing_) stream_->Close();
  services_.registry.Remove(this, device_id_);
  services_.metrics.CountSessionEnded();
}

void AgentSession::Stop(StopCause cause) {
  asio::co_spawn(
      stream_->executor(),
      [self = shared_from_this(), cause]() -> asio::awaitable<void> {
        co_await self->OnStop(cause);
      },
      asio::detached);
}

void AgentSession::Abort() {
  asio::post(stream_->executor(), [self = shared_from_this()] {
    self->stop_requested_ = true;
    self->closing_ = true;
    self->stream_->Close();
    self->in_store_changed_.cancel();
  });
}

asio::awaitable<void> AgentSession::OnStop(StopCause cause) {
  if (stop_requested_) co_return;
  stop_requested_ = true;
  stop_cause_ = cause;
  // While busy, the session ends by itself once the frame in hand is
  // answered; while reading, once the frames with the store are answered
  // (AnswerStored() ends it then), or at once when there are none.
  if (phase_ == Phase::kReading && in_store_.empty()) co_await EndForStop();
}

asio::awaitable<void> AgentSession::EndForStop() {
  switch (stop_cause_) {
    case StopCause::kShutdown:
      if (!closing_) spdlog::info("{}: session ends: the collector is stopping", Who());
      co_await Refuse(v1::Refusal::REASON_SHUTTING_DOWN,
                      "the collector is stopping; reconnect later or elsewhere");
      co_return;
    case StopCause::kReplaced:
      if (!closing_) {
        spdlog::info("{}: session ends: the device opened a newer session", Who());
        closing_ = true;
        stream_->Close();
      }
      co_return;
  }
}

asio::awaitable<bool> AgentSession::AcceptTls() {
  if (!stream_->is_tls()) co_return true;
  // Busy, not reading: a Stop() now ends the session right after the
  // handshake, when a Refusal can be sent over TLS.
  const wire::FrameStatus status =
      co_await stream_->Handshake(asio::ssl::stream_base::server, settings_.hello_timeout);
  handshake_slot_.Release();  // the listener may accept the next connection
  if (status.ok()) co_return true;
  services_.handshake_failures.Failed(Who(), stream_->handshake_failure(), status.detail);
  closing_ = true;
  stream_->Close();
  co_return false;
}

asio::awaitable<void> AgentSession::Converse() {
  if (!co_await AcceptTls()) co_return;
  v1::AgentMessage message;
  if (!co_await ReadFrame(message, settings_.hello_timeout, "Hello")) co_return;
  if (!message.has_hello()) {
    co_await Reject(FrameRejection::kProtocol, v1::Refusal::REASON_PROTOCOL_VIOLATION,
                    fmt::format("first frame is {}, expected a Hello", BodyName(message)));
    co_return;
  }
  if (!co_await Handshake(message.hello())) co_return;

  for (;;) {
    // The store call of the frame just handed over starts on this strand
    // after a post; yield once so that it is queued, and counted in the
    // store queue's length that ReadAheadLimit() looks at.
    if (!in_store_.empty()) co_await asio::post(stream_->executor(), asio::use_awaitable);
    co_await AwaitInStoreBelow(ReadAheadLimit());
    if (closing_) co_return;  // a store failure refused the session
    if (!co_await ReadFrame(message, settings_.idle_timeout, "the next frame")) co_return;
    bool carry_on = false;
    switch (message.body_case()) {
      case v1::AgentMessage::kBatch:
        carry_on = co_await HandleBatch(*message.mutable_batch());
        break;
      case v1::AgentMessage::kHeartbeat:
        carry_on = co_await HandleHeartbeat(*message.mutable_heartbeat());
        break;
      case v1::AgentMessage::kHello:
        co_await Reject(FrameRejection::kProtocol, v1::Refusal::REASON_PROTOCOL_VIOLATION,
                        "a second Hello in one session");
        break;
      case v1::AgentMessage::BODY_NOT_SET:
        co_await Reject(FrameRejection::kProtocol, v1::Refusal::REASON_PROTOCOL_VIOLATION,
                        "an AgentMessage with no body");
        break;
    }
    if (!carry_on) co_return;
    if (stop_requested_) {
      co_await AwaitInStoreBelow(1, /*until_empty=*/true);
      co_await EndForStop();
      co_return;
    }
  }
}

asio::awaitable<bool> AgentSession::ReadFrame(v1::AgentMessage& message,
                                              std::chrono::milliseconds timeout,
                                              std::string_view waiting_for) {
  if (stop_requested_) {  // asked to stop before the session got this far
    co_await AwaitInStoreBelow(1, /*until_empty=*/true);
    co_await EndForStop();
    co_return false;
  }
  message.Clear();
  phase_ = Phase::kReading;
  const wire::FrameStatus status = co_await stream_->Read(message, timeout);
  phase_ = Phase::kBusy;
  if (stop_requested_) {
    co_await AwaitInStoreBelow(1, /*until_empty=*/true);
    co_await EndForStop();
    co_return false;
  }
  if (closing_) co_return false;  // refused meanwhile for a frame with the store
  switch (status.fault) {
    case wire::FrameFault::kNone:
      co_return true;
    case wire::FrameFault::kTimeout:
      // The stream closed the socket when the deadline passed: nothing can
      // be sent any more.
      services_.metrics.CountFrameRejected(FrameRejection::kTimeout);
      spdlog::warn("{}: closed: no {} within {} ms", Who(), waiting_for, timeout.count());
      co_return false;
    case wire::FrameFault::kOversized:
      co_await Reject(FrameRejection::kOversized, v1::Refusal::REASON_OVERSIZED_FRAME,
                      status.detail);
      co_return false;
    case wire::FrameFault::kMalformed:
      co_await Reject(FrameRejection::kMalformed, v1::Refusal::REASON_MALFORMED_FRAME,
                      status.detail);
      co_return false;
    case wire::FrameFault::kTruncated:
      co_await Reject(FrameRejection::kTruncated, v1::Refusal::REASON_MALFORMED_FRAME,
                      status.detail);
      co_return false;
    case wire::FrameFault::kClosed:
    case wire::FrameFault::kBackpressure:
    case wire::FrameFault::kHandshake:  // only Handshake() reports it
      spdlog::info("{}: connection closed while waiting for {}: {}", Who(), waiting_for,
                   status.detail);
      co_return false;
  }
  co_return false;
}

asio::awaitable<bool> AgentSession::Handshake(const v1::Hello& hello) {
  // protocol_version is the highest version the agent speaks; every version
  // from 1 up includes version 1, which is what this collector speaks.
  if (hello.protocol_version() < v1::PROTOCOL_VERSION_1) {
    co_await Reject(FrameRejection::kProtocol, v1::Refusal::REASON_UNSUPPORTED_VERSION,
                    fmt::format("hello.protocol_version: {} is not supported; this collector "
                                "speaks version 1",
                                static_cast<int>(hello.protocol_version())));
    co_return false;
  }
  if (Status valid = ValidateHello(hello); !valid) {
    co_await Reject(FrameRejection::kProtocol, v1::Refusal::REASON_PROTOCOL_VIOLATION,
                    valid.error().message());
    co_return false;
  }
  if (stream_->is_tls() && hello.device().device_id() != stream_->peer_identity()) {
    // Checked before the device is claimed: a forged Hello must not end
    // the real device's session.
    services_.metrics.CountSessionRefused(SessionRefusal::kIdentityMismatch);
    const std::string detail = fmt::format(
        "hello.device.device_id \"{}\" is not the identity of the client certificate (\"{}\")",
        hello.device().device_id(), stream_->peer_identity());
    spdlog::warn("{}: refused (REASON_IDENTITY_MISMATCH): {}", Who(), detail);
    co_await Refuse(v1::Refusal::REASON_IDENTITY_MISMATCH, detail);
    co_return false;
  }
  device_id_ = hello.device().device_id();
  const std::chrono::milliseconds welcome_wait = WelcomeWait(hello, settings_.store_timeout);
  if (StoreExecutor::Admission admission = services_.store.AdmitSession(welcome_wait);
      admission.admitted) {
    starting_ = std::move(admission.starting);
  } else {
    services_.metrics.CountSessionRefused(SessionRefusal::kStoreBusy);
    // A fleet reconnecting at once is turned away by the thousand: log each
    // at debug, and a summary at most every kBusyLogInterval.
    spdlog::debug("{}: refused (REASON_OVERLOADED): {}; retry in {} ms", Who(), admission.reason,
                  admission.retry_after.count());
    LogStoreBusy(admission);
    co_await Refuse(
        v1::Refusal::REASON_OVERLOADED,
        fmt::format("the collector's store is busy; retry in {} ms", admission.retry_after.count()),
        admission.retry_after);
    co_return false;
  }
  buffer_id_ = hello.buffer_id();
  SessionRegistry::ClaimResult claim =
      services_.registry.Claim(device_id_, buffer_id_, stream_->peer(), shared_from_this());
  if (claim.conflict) {
    // Two live buffers under one device id: two devices configured with the
    // same id, or a recreated buffer while the old connection is half-open.
    // Merging them would interleave two sequences; the newcomer waits.
    services_.metrics.CountSessionRefused(SessionRefusal::kBufferConflict);
    spdlog::error(
        "{}: refused (REASON_BUFFER_CONFLICT): buffer {} while the device's session from {} "
        "with buffer {} is live; two devices configured with one device id?",
        Who(), BufferName(buffer_id_), claim.live_peer, BufferName(claim.live_buffer_id));
    co_await Refuse(v1::Refusal::REASON_BUFFER_CONFLICT,
                    fmt::format("device {} is connected from {} with another event buffer ({}); "
                                "check that no two devices share this device id; retry later",
                                device_id_, claim.live_peer, BufferName(claim.live_buffer_id)));
    co_return false;
  }
  if (claim.replaced) {
    services_.metrics.CountSessionReplaced();
    spdlog::info("{}: replaces the device's previous session", Who());
    claim.replaced->Stop(StopCause::kReplaced);
  }

  Result<std::uint64_t> last_stored =
      co_await services_.store.RecordHello(hello, stream_->peer(), NowUnixNanos(), welcome_wait);
  if (!last_stored) {
    co_await FailStore(last_stored.error(), "recording the Hello");
    co_return false;
  }
  if (stop_requested_) {
    co_await EndForStop();
    co_return false;
  }
  last_stored_seq_ = *last_stored;

  v1::CollectorMessage reply;
  v1::Welcome& welcome = *reply.mutable_welcome();
  welcome.set_last_stored_seq(last_stored_seq_);
  welcome.set_protocol_version(v1::PROTOCOL_VERSION_1);
  welcome.set_collector_id(settings_.collector_id);
  welcome.set_collector_time_unix_ns(NowUnixNanos());
  welcome.set_max_frame_bytes(static_cast<std::uint32_t>(settings_.max_frame_bytes));
  welcome.set_max_batch_events(
      static_cast<std::uint32_t>(std::min(settings_.max_batch_events, wire::kMaxEventsPerBatch)));
  if (!SendOrEnd(reply)) co_return false;
  spdlog::info("{}: session open (site {}, agent {}, buffer {}, last stored seq {})", Who(),
               hello.device().site_id(), hello.agent_version(), BufferName(buffer_id_),
               last_stored_seq_);
  co_return true;
}

asio::awaitable<bool> AgentSession::HandleBatch(v1::EventBatch& batch) {
  std::uint64_t refused_seq = 0;
  if (Status valid = ValidateEventBatch(batch, settings_.max_batch_events, &refused_seq); !valid) {
    co_await Reject(FrameRejection::kProtocol, v1::Refusal::REASON_PROTOCOL_VIOLATION,
                    valid.error().message(), refused_seq);
    co_return false;
  }
  auto frame = std::make_shared<InStore>();
  frame->is_batch = true;
  frame->received = std::chrono::steady_clock::now();
  frame->first_seq = batch.events(0).seq();
  frame->last_seq = batch.events(batch.events_size() - 1).seq();
  std::vector<v1::Event> events(std::make_move_iterator(batch.mutable_events()->begin()),
                                std::make_move_iterator(batch.mutable_events()->end()));
  Queue(std::move(frame), std::move(events), {});
  co_return true;
}

asio::awaitable<bool> AgentSession::HandleHeartbeat(v1::Heartbeat& heartbeat) {
  if (Status valid = ValidateHeartbeat(heartbeat); !valid) {
    co_await Reject(FrameRejection::kProtocol, v1::Refusal::REASON_PROTOCOL_VIOLATION,
                    valid.error().message());
    co_return false;
  }
  auto frame = std::make_shared<InStore>();
  frame->received = std::chrono::steady_clock::now();
  Queue(std::move(frame), {}, std::move(heartbeat));
  co_return true;
}

void AgentSession::Queue(std::shared_ptr<InStore> frame, std::vector<v1::Event> events,
                         v1::Heartbeat heartbeat) {
  in_store_.push_back(frame);
  // This call now counts as made: queued, or for a heartbeat waiting for the
  // next group, coalesced with its device's newer ones.
  starting_.Release();
  // Spawned on the session's strand, the store calls start, and so queue in
  // the store, in the order their frames arrived.
  asio::co_spawn(
      stream_->executor(),
      [self = shared_from_this(), frame = std::move(frame), events = std::move(events),
       heartbeat = std::move(heartbeat)]() mutable -> asio::awaitable<void> {
        co_await self->StoreFrame(std::move(frame), std::move(events), std::move(heartbeat));
      },
      asio::detached);
}

asio::awaitable<void> AgentSession::StoreFrame(std::shared_ptr<InStore> frame,
                                               std::vector<v1::Event> events,
                                               v1::Heartbeat heartbeat) {
  // The store tells what each event was: stored now, a resend (after a
  // reconnect or a lost Ack) or a late one filling a gap.
  if (frame->is_batch) {
    frame->batch = co_await services_.store.StoreEvents(device_id_, buffer_id_, std::move(events),
                                                        NowUnixNanos(), settings_.store_timeout);
  } else {
    frame->heartbeat = co_await services_.store.RecordHeartbeat(
        device_id_, std::move(heartbeat), NowUnixNanos(), settings_.store_timeout);
  }
  frame->done = true;
  co_await AnswerStored();
}

asio::awaitable<void> AgentSession::AnswerStored() {
  // One answerer at a time: a frame answered while another's answer is
  // under way (a Refusal draining) is taken by the loop running already.
  if (answering_) co_return;
  answering_ = true;
  while (!in_store_.empty() && in_store_.front()->done) {
    const std::shared_ptr<InStore> frame = std::move(in_store_.front());
    in_store_.pop_front();
    if (!closing_ && !co_await Answer(*frame) && !closing_) {
      closing_ = true;  // the Ack could not be sent: the stream is gone
      stream_->Close();
    }
    in_store_changed_.cancel();
  }
  answering_ = false;
  if (in_store_.empty() && stop_requested_ && phase_ == Phase::kReading) co_await EndForStop();
}

asio::awaitable<bool> AgentSession::Answer(InStore& frame) {
  v1::CollectorMessage reply;
  if (!frame.is_batch) {
    if (!frame.heartbeat) {
      co_await FailStore(frame.heartbeat.error(), "recording a heartbeat");
      co_return false;
    }
    services_.metrics.CountHeartbeat();
    // Every heartbeat is answered, so a quiet agent still hears from its
    // collector and can tell a dead connection from an idle one.
    reply.mutable_ack()->set_seq(last_stored_seq_);
    co_return SendOrEnd(reply);
  }
  Result<StoredBatch>& stored = *frame.batch;
  if (!stored) {
    co_await FailStore(stored.error(),
                       fmt::format("storing events {}..{}", frame.first_seq, frame.last_seq));
    co_return false;
  }
  services_.metrics.CountEventsStored(stored->inserted);
  if (stored->duplicates > 0) services_.metrics.CountEventsDuplicate(stored->duplicates);
  if (stored->late > 0) {
    services_.metrics.CountEventsLate(stored->late);
    spdlog::info("{}: {} late events of seq {}..{} filled gaps in buffer {}", Who(), stored->late,
                 frame.first_seq, frame.last_seq, BufferName(buffer_id_));
  }
  if (stored->gap_ranges > 0) {
    services_.metrics.CountSequenceGaps(stored->gap_ranges, stored->gap_events);
    std::string ranges;
    for (const SequenceGap& gap : stored->gaps) {
      if (!ranges.empty()) ranges += ", ";
      ranges += gap.first == gap.last ? std::to_string(gap.first)
                                      : fmt::format("{}..{}", gap.first, gap.last);
    }
    if (stored->gaps.size() < stored->gap_ranges) ranges += ", ...";
    spdlog::warn(
        "{}: buffer {}: {} events missing, seq {} (the agent dropped them, see its drop "
        "notice, or they arrive late)",
        Who(), BufferName(buffer_id_), stored->gap_events, ranges);
  }
  last_stored_seq_ = std::max(last_stored_seq_, stored->last_stored_seq);

  reply.mutable_ack()->set_seq(stored->last_stored_seq);
  services_.metrics.ObserveIngest(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - frame.received).count());
  co_return SendOrEnd(reply);
}

std::size_t AgentSession::ReadAheadLimit() const {
  // Under a fleet's load the store queue is long already: each session
  // then waits for its Ack as before, and the queue stays fair.
  if (services_.store.queued_calls() >= settings_.read_ahead_queue_limit) return 1;
  return std::max<std::size_t>(settings_.max_frames_in_store, 1);
}

asio::awaitable<void> AgentSession::AwaitInStoreBelow(std::size_t limit, bool until_empty) {
  while (in_store_.size() >= limit && (until_empty || !closing_)) {
    boost::system::error_code cancelled;
    co_await in_store_changed_.async_wait(asio::redirect_error(asio::use_awaitable, cancelled));
  }
}

asio::awaitable<void> AgentSession::Reject(FrameRejection rejection, v1::Refusal::Reason reason,
                                           const std::string& detail, std::uint64_t refused_seq) {
  services_.metrics.CountFrameRejected(rejection);
  spdlog::warn("{}: refused ({}): {}", Who(), v1::Refusal::Reason_Name(reason), detail);
  // The frames before it that are with the store are answered first, as
  // when the session took one frame at a time.
  co_await AwaitInStoreBelow(1, /*until_empty=*/true);
  co_await Refuse(reason, detail, {}, refused_seq);
}

asio::awaitable<void> AgentSession::FailStore(const Error& error, std::string_view doing) {
  services_.metrics.CountStoreError();
  spdlog::error("{}: store failed {}: {}; refused, the agent sends again later", Who(), doing,
                error.message());
  // The agent gets the kind of failure, not the store's message, which may
  // name paths of this machine.
  co_await Refuse(
      v1::Refusal::REASON_STORE_UNAVAILABLE,
      fmt::format("the collector cannot store now ({}); retry later", ErrorCodeName(error.code())),
      services_.store.RetryHint());
}

asio::awaitable<void> AgentSession::Refuse(v1::Refusal::Reason reason, const std::string& detail,
                                           std::chrono::milliseconds retry_after,
                                           std::uint64_t refused_seq) {
  if (closing_) co_return;
  closing_ = true;
  v1::CollectorMessage message;
  message.mutable_refusal()->set_reason(reason);
  message.mutable_refusal()->set_detail(detail);
  message.mutable_refusal()->set_retry_after_ms(static_cast<std::uint32_t>(retry_after.count()));
  message.mutable_refusal()->set_refused_seq(refused_seq);
  if (stream_->Send(message).ok()) co_await stream_->Drain(kRefusalDrainTimeout);
  stream_->Close();
}

bool AgentSession::SendOrEnd(const v1::CollectorMessage& message) {
  if (closing_) return false;
  const wire::FrameStatus sent = stream_->Send(message);
  if (sent.ok()) return true;
  spdlog::warn("{}: closed: cannot send: {}: {}", Who(), wire::FrameFaultName(sent.fault),
               sent.detail);
  return false;
}

std::int64_t AgentSession::NowUnixNanos() const {
  return platform::UnixNanos(services_.clock.WallNow());
}

std::string AgentSession::Who() const {
  return fmt::format("agent {} device {}", stream_->peer(),
                     device_id_.empty() ? "(before Hello)" : device_id_);
}

}  // namespace atmhealth::collector
