#include "tests/support/fake_collector.h"

#include <algorithm>
#include <future>
#include <string>
#include <utility>

#include "proto/frame_codec.h"

namespace atmhealth::testing {
namespace {

using Clock = std::chrono::steady_clock;
using asio::redirect_error;
using asio::use_awaitable;

// The agent decides when a session ends; the collector waits as long as any
// test runs.
constexpr std::chrono::milliseconds kReadTimeout{60000};
constexpr std::chrono::milliseconds kRefusalDrainTimeout{1000};

bool Matches(const FakeCollector::Record::Frame& frame, int connection) {
  return connection == 0 || frame.connection == connection;
}

std::vector<std::uint64_t> SeqsOf(const v1::EventBatch& batch) {
  std::vector<std::uint64_t> seqs;
  for (const v1::Event& event : batch.events()) seqs.push_back(event.seq());
  return seqs;
}

}  // namespace

std::vector<v1::Hello> FakeCollector::Record::Hellos(int connection) const {
  std::vector<v1::Hello> hellos;
  for (const Frame& frame : frames) {
    if (Matches(frame, connection) && frame.message.has_hello()) {
      hellos.push_back(frame.message.hello());
    }
  }
  return hellos;
}

std::vector<v1::Heartbeat> FakeCollector::Record::Heartbeats(int connection) const {
  std::vector<v1::Heartbeat> heartbeats;
  for (const Frame& frame : frames) {
    if (Matches(frame, connection) && frame.message.has_heartbeat()) {
      heartbeats.push_back(frame.message.heartbeat());
    }
  }
  return heartbeats;
}

std::vector<Clock::time_point> FakeCollector::Record::HeartbeatTimes(int connection) const {
  std::vector<Clock::time_point> times;
  for (const Frame& frame : frames) {
    if (Matches(frame, connection) && frame.message.has_heartbeat()) {
      times.push_back(frame.received_at);
    }
  }
  return times;
}

std::vector<std::uint64_t> FakeCollector::Record::ReceivedSeqs(int connection) const {
  std::vector<std::uint64_t> seqs;
  for (const auto& batch : Batches(connection)) seqs.insert(seqs.end(), batch.begin(), batch.end());
  return seqs;
}

std::vector<std::vector<std::uint64_t>> FakeCollector::Record::Batches(int connection) const {
  std::vector<std::vector<std::uint64_t>> batches;
  for (const Frame& frame : frames) {
    if (Matches(frame, connection) && frame.message.has_batch()) {
      batches.push_back(SeqsOf(frame.message.batch()));
    }
  }
  return batches;
}

std::vector<v1::Event> FakeCollector::Record::Events(int connection) const {
  std::vector<v1::Event> events;
  for (const Frame& frame : frames) {
    if (!Matches(frame, connection) || !frame.message.has_batch()) continue;
    for (const v1::Event& event : frame.message.batch().events()) events.push_back(event);
  }
  return events;
}

FakeCollector::FakeCollector() : work_(asio::make_work_guard(io_)), acceptor_(io_) {}

Result<std::unique_ptr<FakeCollector>> FakeCollector::Start() {
  std::unique_ptr<FakeCollector> collector(new FakeCollector());
  const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  boost::system::error_code ec;
  collector->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) collector->acceptor_.bind(endpoint, ec);
  if (!ec) collector->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kUnavailable, "FakeCollector: listen on 127.0.0.1:0: " + ec.message());
  }
  collector->port_ = collector->acceptor_.local_endpoint(ec).port();
  if (ec) return Error(ErrorCode::kIo, "FakeCollector: local endpoint: " + ec.message());
  asio::co_spawn(collector->io_, collector->Accept(), asio::detached);
  collector->thread_ = std::thread([io = &collector->io_] { io->run(); });
  return collector;
}

FakeCollector::~FakeCollector() {
  RunOnCollector([this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& connection : open_) connection->stream->Close();
  });
  work_.reset();
  // A refusal still draining would hold the thread for its deadline; what is
  // left undone is destroyed with the io_context.
  io_.stop();
  thread_.join();
}

void FakeCollector::RunOnCollector(std::function<void()> work) {
  std::promise<void> done;
  asio::post(io_, [&work, &done] {
    work();
    done.set_value();
  });
  done.get_future().wait();
}

asio::awaitable<void> FakeCollector::Accept() {
  for (;;) {
    boost::system::error_code ec;
    asio::ip::tcp::socket socket =
        co_await acceptor_.async_accept(redirect_error(use_awaitable, ec));
    if (ec) co_return;  // closed: the collector is going away
    asio::co_spawn(
        io_, Converse(wire::FrameStream::Create(std::move(socket), wire::FrameStream::Limits{})),
        asio::detached);
  }
}

asio::awaitable<void> FakeCollector::Converse(std::shared_ptr<wire::FrameStream> stream) {
  auto connection = std::make_shared<Connection>();
  connection->stream = stream;
  {
    std::lock_guard lock(mutex_);
    connection->id = ++record_.connections;
    ++record_.open_connections;
    record_.held_batches = 0;
  }
  changed_.notify_all();
  live_ = connection;
  open_.push_back(connection);

  bool welcomed = false;
  for (;;) {
    v1::AgentMessage message;
    const wire::FrameStatus status = co_await stream->Read(message, kReadTimeout);
    if (!status.ok()) break;
    std::optional<v1::Refusal::Reason> refuse;
    std::chrono::milliseconds retry_after{0};
    bool hold = false;
    bool answer = false;
    bool answer_hello = false;
    std::uint64_t stored = 0;
    std::uint32_t max_batch_events = 0;
    std::uint32_t max_frame_bytes = 0;
    std::uint64_t refused_event = 0;
    {
      std::lock_guard lock(mutex_);
      record_.frames.push_back({connection->id, Clock::now(), message});
      if (message.has_hello() &&
          (record_.buffers == 0 || message.hello().buffer_id() != record_.buffer_id)) {
        if (record_.buffers > 0) {  // a new buffer: its sequence starts over
          record_.stored_seq = 0;
          record_.stored_seqs.clear();
        }
        record_.buffer_id = message.hello().buffer_id();
        ++record_.buffers;
      }
      max_batch_events = max_batch_events_;
      max_frame_bytes = max_frame_bytes_;
      refused_event = refused_event_;
      refuse = refuse_hellos_;
      retry_after = refuse_retry_after_;
      hold = hold_batches_;
      answer = answer_heartbeats_;
      answer_hello = answer_hellos_;
      stored = record_.stored_seq;
    }
    changed_.notify_all();

    if (!welcomed) {
      if (!message.has_hello()) break;  // the real collector refuses; the test sees the frame
      if (refuse) {
        co_await SendRefusal(connection, *refuse, "scripted refusal of the Hello", retry_after);
        break;
      }
      if (!answer_hello) continue;  // and whatever comes next is read as the Hello
      v1::CollectorMessage reply;
      v1::Welcome& welcome = *reply.mutable_welcome();
      welcome.set_last_stored_seq(stored);
      welcome.set_protocol_version(v1::PROTOCOL_VERSION_1);
      welcome.set_collector_id("fake-collector");
      welcome.set_collector_time_unix_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
      welcome.set_max_frame_bytes(max_frame_bytes != 0
                                      ? max_frame_bytes
                                      : static_cast<std::uint32_t>(wire::kDefaultMaxFrameBytes));
      welcome.set_max_batch_events(max_batch_events);
      Send(*connection, reply);
      welcomed = true;
      continue;
    }
    if (message.has_batch()) {
      std::vector<std::uint64_t> seqs = SeqsOf(message.batch());
      if (max_batch_events != 0 && seqs.size() > max_batch_events) {
        co_await SendRefusal(connection, v1::Refusal::REASON_PROTOCOL_VIOLATION,
                             "batch above max_batch_events");
        break;
      }
      if (refused_event != 0 && std::find(seqs.begin(), seqs.end(), refused_event) != seqs.end()) {
        co_await SendRefusal(connection, v1::Refusal::REASON_PROTOCOL_VIOLATION,
                             "scripted refusal of one event", {}, refused_event);
        break;
      }
      if (!hold) {
        StoreAndAck(*connection, seqs);
        continue;
      }
      connection->held.push_back(std::move(seqs));
      {
        std::lock_guard lock(mutex_);
        if (live_ == connection) record_.held_batches = connection->held.size();
      }
      changed_.notify_all();
    } else if (message.has_heartbeat()) {
      if (!answer) continue;
      // As the real collector does: every heartbeat is answered with the
      // highest stored sequence, so an idle agent knows its collector lives.
      v1::CollectorMessage reply;
      reply.mutable_ack()->set_seq(stored);
      Send(*connection, reply);
    } else {
      break;  // a second Hello or an empty frame: a protocol violation
    }
  }

  // Whatever was held was never stored: the agent must send it again.
  stream->Close();
  {
    std::lock_guard lock(mutex_);
    --record_.open_connections;
    if (live_ == connection) record_.held_batches = 0;
  }
  if (live_ == connection) live_.reset();
  open_.erase(std::find(open_.begin(), open_.end(), connection));
  changed_.notify_all();
}

void FakeCollector::StoreAndAck(Connection& connection, const std::vector<std::uint64_t>& seqs) {
  std::uint64_t stored = 0;
  {
    std::lock_guard lock(mutex_);
    for (const std::uint64_t seq : seqs) {
      auto at = std::lower_bound(record_.stored_seqs.begin(), record_.stored_seqs.end(), seq);
      if (at == record_.stored_seqs.end() || *at != seq) record_.stored_seqs.insert(at, seq);
      record_.stored_seq = std::max(record_.stored_seq, seq);
    }
    stored = record_.stored_seq;
  }
  changed_.notify_all();
  v1::CollectorMessage ack;
  ack.mutable_ack()->set_seq(stored);
  Send(connection, ack);
}

void FakeCollector::Send(Connection& connection, const v1::CollectorMessage& message) {
  // A failed send closes the stream, which the connection's next Read sees.
  (void)connection.stream->Send(message);
}

asio::awaitable<void> FakeCollector::SendRefusal(std::shared_ptr<Connection> connection,
                                                 v1::Refusal::Reason reason, std::string detail,
                                                 std::chrono::milliseconds retry_after,
                                                 std::uint64_t refused_seq) {
  v1::CollectorMessage message;
  message.mutable_refusal()->set_reason(reason);
  message.mutable_refusal()->set_detail(std::move(detail));
  message.mutable_refusal()->set_retry_after_ms(static_cast<std::uint32_t>(retry_after.count()));
  message.mutable_refusal()->set_refused_seq(refused_seq);
  {
    std::lock_guard lock(mutex_);
    record_.refusals_sent.push_back(message.refusal());
  }
  changed_.notify_all();
  // As the real collector does: the Refusal leaves before the close.
  if (connection->stream->Send(message).ok()) {
    (void)co_await connection->stream->Drain(kRefusalDrainTimeout);
  }
  connection->stream->Close();
}

void FakeCollector::PretendStored(std::uint64_t seq) {
  {
    std::lock_guard lock(mutex_);
    record_.stored_seq = std::max(record_.stored_seq, seq);
  }
  changed_.notify_all();
}

void FakeCollector::AnnounceLimits(std::uint32_t max_batch_events, std::uint32_t max_frame_bytes) {
  std::lock_guard lock(mutex_);
  max_batch_events_ = max_batch_events;
  max_frame_bytes_ = max_frame_bytes;
}

void FakeCollector::RefuseEvent(std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  refused_event_ = seq;
}

void FakeCollector::RefuseHellos(std::optional<v1::Refusal::Reason> reason,
                                 std::chrono::milliseconds retry_after) {
  std::lock_guard lock(mutex_);
  refuse_hellos_ = reason;
  refuse_retry_after_ = retry_after;
}

void FakeCollector::HoldBatches(bool hold) {
  std::lock_guard lock(mutex_);
  hold_batches_ = hold;
}

void FakeCollector::AnswerHeartbeats(bool answer) {
  std::lock_guard lock(mutex_);
  answer_heartbeats_ = answer;
}

void FakeCollector::AnswerHellos(bool answer) {
  std::lock_guard lock(mutex_);
  answer_hellos_ = answer;
}

void FakeCollector::ReleaseBatches(std::size_t count) {
  RunOnCollector([this, count] {
    const std::shared_ptr<Connection> connection = live_;
    if (connection == nullptr) return;
    for (std::size_t i = 0; i < count && !connection->held.empty(); ++i) {
      const std::vector<std::uint64_t> seqs = std::move(connection->held.front());
      connection->held.pop_front();
      StoreAndAck(*connection, seqs);
    }
    {
      std::lock_guard lock(mutex_);
      record_.held_batches = connection->held.size();
    }
    changed_.notify_all();
  });
}

void FakeCollector::CloseConnection() {
  RunOnCollector([this] {
    if (live_ != nullptr) live_->stream->Close();
  });
}

void FakeCollector::Refuse(v1::Refusal::Reason reason) {
  // live_ is read on the collector's thread, inside the coroutine.
  auto refuse = [this, reason]() -> asio::awaitable<void> {
    const std::shared_ptr<Connection> connection = live_;
    if (connection != nullptr) co_await SendRefusal(connection, reason, "scripted refusal");
  };
  asio::co_spawn(io_, std::move(refuse), asio::use_future).get();
}

FakeCollector::Record FakeCollector::record() const {
  std::lock_guard lock(mutex_);
  return record_;
}

bool FakeCollector::WaitUntil(const std::function<bool(const Record&)>& condition,
                              std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return condition(record_); });
}

}  // namespace atmhealth::testing
