#include "agent/uplink/uplink.h"

#include <spdlog/spdlog.h>

#include <deque>

#include "platform/clock.h"
#include "proto/frame_stream.h"

namespace atmhealth::agent {
namespace {

using Clock = std::chrono::steady_clock;
using asio::redirect_error;
using asio::use_awaitable;

// How long the collector may stay silent while nothing is in flight: it
// answers every heartbeat, so three missed answers mean it is gone.
std::chrono::milliseconds IdleReadTimeout(const UplinkConfig& config) {
  return std::max(config.io_timeout, 3 * config.heartbeat_interval);
}

std::string Describe(const CollectorEndpoint& endpoint) {
  return endpoint.host + ":" + std::to_string(endpoint.port);
}

}  // namespace

// One connection to one collector, shared by the streaming loop and the
// acknowledgement reader. Used on the uplink's executor only.
struct Uplink::Session {
  struct InFlight {
    std::uint64_t last_seq;     // highest sequence in the batch
    Clock::time_point sent_at;  // when it was queued for sending
  };

  explicit Session(std::shared_ptr<wire::FrameStream> s)
      : stream(std::move(s)), reader_exit(stream->executor()) {}

  std::shared_ptr<wire::FrameStream> stream;
  std::deque<InFlight> in_flight;  // unacknowledged batches, oldest first
  std::uint64_t sent_seq = 0;      // highest sequence sent (or known stored)
  std::uint64_t acked_seq = 0;     // highest sequence acknowledged
  bool reader_done = false;
  bool acknowledged = false;       // an Ack arrived in this session
  asio::steady_timer reader_exit;  // cancelled when the reader finishes
};

Uplink::Uplink(asio::any_io_executor executor, UplinkConfig config, v1::DeviceIdentity device,
               StoreThread& store, ServiceStatusSource services)
    : executor_(executor),
      config_(std::move(config)),
      device_(std::move(device)),
      store_(store),
      services_(std::move(services)),
      backoff_(config_.backoff_initial, config_.backoff_max,
               std::hash<std::string>{}(device_.device_id()) ^
                   static_cast<std::uint64_t>(Clock::now().time_since_epoch().count())),
      wake_(executor),
      retry_(executor) {}

Uplink::~Uplink() = default;

void Uplink::Wake() {
  woken_ = true;
  wake_.cancel();
}

void Uplink::NotifyCommitted() {
  asio::post(executor_, [this] { Wake(); });
}

void Uplink::Stop(std::chrono::milliseconds grace) {
  asio::post(executor_, [this, grace] {
    stopping_ = true;
    stop_deadline_ = Clock::now() + grace;
    retry_.cancel();
    if (connecting_ != nullptr) {
      boost::system::error_code ignored;
      connecting_->close(ignored);
    }
    // Nothing is in flight before Welcome: no reason to wait for it.
    if (handshaking_ != nullptr) handshaking_->Close();
    Wake();
  });
}

asio::awaitable<void> Uplink::Run() {
  if (config_.plaintext) {
    spdlog::warn(
        "uplink: PLAINTEXT (uplink.plaintext = true): events travel unencrypted and the "
        "collector is not authenticated; use TLS in production (docs/tls.md)");
  }
  std::size_t index = 0;
  while (!stopping_) {
    const CollectorEndpoint& endpoint = config_.collectors[index % config_.collectors.size()];
    const bool healthy = co_await RunSession(endpoint);
    if (stopping_) break;
    if (healthy) {
      backoff_.Reset();
    } else {
      ++index;  // fail over to the next collector
    }
    auto delay = backoff_.Next();
    if (retry_after_ > std::chrono::milliseconds::zero()) {
      // The collector said when it will have room: never sooner, and spread
      // out so that a fleet refused together does not return together.
      delay = std::max(delay, backoff_.NotBefore(retry_after_));
      retry_after_ = std::chrono::milliseconds::zero();
    }
    spdlog::debug("uplink: next attempt in {} ms", delay.count());
    retry_.expires_after(delay);
    boost::system::error_code ec;
    co_await retry_.async_wait(redirect_error(use_awaitable, ec));
  }
  spdlog::info("uplink: stopped");
}

asio::awaitable<bool> Uplink::RunSession(const CollectorEndpoint& endpoint) {
  // Connect, with a deadline that closes the socket. The deadline's handler
  // shares ownership of what it closes: when the deadline passes just as the
  // resolve or connect fails, the handler is already queued, cancel() can no
  // longer stop it, and it runs after this coroutine returned.
  struct Connecting {
    explicit Connecting(const asio::any_io_executor& executor)
        : resolver(executor), socket(executor) {}
    asio::ip::tcp::resolver resolver;
    asio::ip::tcp::socket socket;
  };
  const auto connecting = std::make_shared<Connecting>(executor_);
  asio::ip::tcp::socket& socket = connecting->socket;
  connecting_ = &socket;
  asio::steady_timer deadline(executor_);
  deadline.expires_after(config_.connect_timeout);
  deadline.async_wait([connecting](boost::system::error_code ec) {
    if (ec) return;
    connecting->resolver.cancel();
    boost::system::error_code ignored;
    connecting->socket.close(ignored);
  });
  boost::system::error_code ec;
  auto endpoints = co_await connecting->resolver.async_resolve(
      endpoint.host, std::to_string(endpoint.port), redirect_error(use_awaitable, ec));
  if (!ec && !stopping_) {
    co_await asio::async_connect(socket, endpoints, redirect_error(use_awaitable, ec));
  }
  deadline.cancel();
  connecting_ = nullptr;
  if (stopping_) co_return false;
  if (ec) {
    ++counters_.connect_failures;
    // Log the first failure loudly, the retries quietly: a collector that is
    // down for an hour must not flood the journal.
    const auto level = backoff_.attempt() == 0 ? spdlog::level::warn : spdlog::level::debug;
    spdlog::log(level, "uplink: cannot reach collector {}: {}", Describe(endpoint),
                ec == asio::error::operation_aborted ? "connect timed out" : ec.message());
    co_return false;
  }

  wire::FrameStream::Limits limits;
  limits.max_frame_bytes = config_.max_frame_bytes;
  limits.max_queued_bytes = (config_.window_batches + 2) * config_.max_frame_bytes;
  limits.write_timeout = config_.io_timeout;
  std::shared_ptr<wire::FrameStream> connection;
  if (config_.plaintext) {
    connection = wire::FrameStream::Create(std::move(socket), limits);
  } else {
    // The files are read for every connection, so a certificate renewed on
    // disk is used from the next session on.
    auto tls = wire::MakeClientTlsContext(
        wire::TlsFiles{config_.certificate, config_.private_key, config_.ca, {}});
    if (!tls.ok()) {
      ++counters_.connect_failures;
      const auto level = backoff_.attempt() == 0 ? spdlog::level::err : spdlog::level::debug;
      spdlog::log(level, "uplink: cannot use the TLS files: {}", tls.error().message());
      co_return false;
    }
    connection = wire::FrameStream::Create(std::move(socket), std::move(*tls), limits);
    connection->ExpectPeerName(config_.server_name.empty() ? endpoint.host : config_.server_name);
  }
  auto session = std::make_shared<Session>(std::move(connection));
  auto& stream = *session->stream;
  handshaking_ = &stream;
  if (const wire::FrameStatus tls =
          co_await stream.Handshake(asio::ssl::stream_base::client, config_.connect_timeout);
      !tls.ok()) {
    handshaking_ = nullptr;
    stream.Close();
    if (stopping_) co_return false;
    ++counters_.connect_failures;
    const auto level = backoff_.attempt() == 0 ? spdlog::level::warn : spdlog::level::debug;
    spdlog::log(level, "uplink: TLS handshake with collector {} failed: {}", Describe(endpoint),
                tls.detail);
    co_return false;
  }

  const auto last_seq =
      co_await store_.Run([](EventStore& store) { return store.Stats().last_seq; });
  v1::AgentMessage hello;
  *hello.mutable_hello()->mutable_device() = device_;
  hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello.mutable_hello()->set_agent_version(ATMHEALTH_VERSION);
  hello.mutable_hello()->set_agent_last_seq(last_seq);
  hello.mutable_hello()->set_welcome_timeout_ms(
      static_cast<std::uint32_t>(config_.io_timeout.count()));
  stream.Send(hello);

  v1::CollectorMessage reply;
  const wire::FrameStatus status = co_await stream.Read(reply, config_.io_timeout);
  handshaking_ = nullptr;
  if (stopping_) {
    stream.Close();
    co_return false;
  }
  if (!status.ok() || !reply.has_welcome()) {
    ++counters_.connect_failures;
    if (!status.ok()) {
      spdlog::warn("uplink: collector {} did not welcome us: {}", stream.peer(), status.detail);
    } else if (reply.has_refusal()) {
      ++counters_.refusals;
      retry_after_ = std::chrono::milliseconds(reply.refusal().retry_after_ms());
      spdlog::warn("uplink: collector {} refused the session: {}: {}", stream.peer(),
                   v1::Refusal::Reason_Name(reply.refusal().reason()), reply.refusal().detail());
    } else {
      spdlog::warn("uplink: collector {} answered Hello with something other than Welcome",
                   stream.peer());
    }
    stream.Close();
    co_return false;
  }

  const std::uint64_t stored = reply.welcome().last_stored_seq();
  if (stored > last_seq) {
    // The collector has more of this device than the buffer ever assigned:
    // the buffer was lost and recreated. Continue above the collector's
    // sequence so that new events are not mistaken for duplicates.
    co_await store_.Run([stored](EventStore& store) { return store.AdvanceSequence(stored); });
    spdlog::warn(
        "uplink: collector {} holds events up to seq {} but the buffer is at {}; "
        "sequence continues above {}",
        stream.peer(), stored, last_seq, stored);
  }
  co_await store_.Run([stored](EventStore& store) { return store.MarkDelivered(stored); });
  session->sent_seq = stored;
  session->acked_seq = stored;
  ++counters_.connects;
  counters_.connected = true;
  session_ = session;
  spdlog::info("uplink: connected to collector {} as {}; collector holds events up to seq {}",
               stream.peer(), device_.device_id(), stored);

  asio::co_spawn(executor_, ReadLoop(session), asio::detached);
  auto next_heartbeat = Clock::now();
  for (;;) {
    if (!stream.is_open()) break;
    const auto now = Clock::now();
    if (stopping_) {
      if (session->in_flight.empty() || now >= stop_deadline_) break;
    } else if (!co_await FillWindow(*session)) {
      break;
    }
    if (now >= next_heartbeat && !stopping_) {
      const v1::AgentMessage heartbeat = co_await MakeHeartbeat();
      if (const auto sent = stream.Send(heartbeat); !sent.ok()) {
        spdlog::warn("uplink: heartbeat to {}: {}", stream.peer(), sent.detail);
        break;
      }
      ++counters_.heartbeats_sent;
      next_heartbeat = now + config_.heartbeat_interval;
    }
    auto wake_at = next_heartbeat;
    if (!session->in_flight.empty()) {
      const auto ack_due = session->in_flight.front().sent_at + config_.io_timeout;
      if (now >= ack_due) {
        spdlog::warn("uplink: collector {} did not acknowledge seq {} within {} ms; reconnecting",
                     stream.peer(), session->in_flight.front().last_seq,
                     config_.io_timeout.count());
        break;
      }
      wake_at = std::min(wake_at, ack_due);
    }
    if (stopping_) wake_at = std::min(wake_at, stop_deadline_);
    if (!woken_) {
      wake_.expires_at(wake_at);
      boost::system::error_code ignored;
      co_await wake_.async_wait(redirect_error(use_awaitable, ignored));
    }
    woken_ = false;
  }

  stream.Close();
  while (!session->reader_done) {
    session->reader_exit.expires_after(std::chrono::seconds(1));
    boost::system::error_code ignored;
    co_await session->reader_exit.async_wait(redirect_error(use_awaitable, ignored));
  }
  counters_.connected = false;
  session_.reset();
  if (!stopping_) spdlog::info("uplink: session with collector {} ended", stream.peer());
  co_return session->acknowledged;
}

asio::awaitable<bool> Uplink::FillWindow(Session& session) {
  // Half a frame of payload leaves room for framing and field overhead.
  const std::size_t batch_bytes = config_.max_frame_bytes / 2;
  while (session.in_flight.size() < config_.window_batches && session.stream->is_open()) {
    const std::uint64_t after = session.sent_seq;
    auto events = co_await store_.Run([after, this, batch_bytes](EventStore& store) {
      return store.ReadAfter(after, config_.batch_events, batch_bytes);
    });
    if (!events.ok()) {
      spdlog::error("uplink: reading the event buffer: {}", events.error().message());
      co_return true;  // keep the session; the next wake-up tries again
    }
    if (events->empty()) co_return true;
    v1::AgentMessage message;
    auto* batch = message.mutable_batch();
    for (auto& event : *events) *batch->add_events() = std::move(event);
    const std::uint64_t last = batch->events(batch->events_size() - 1).seq();
    if (const auto sent = session.stream->Send(message); !sent.ok()) {
      spdlog::warn("uplink: sending seq {}..{} to {}: {}", batch->events(0).seq(), last,
                   session.stream->peer(), sent.detail);
      co_return false;
    }
    session.in_flight.push_back({last, Clock::now()});
    session.sent_seq = last;
    ++counters_.batches_sent;
  }
  co_return true;
}

asio::awaitable<void> Uplink::ReadLoop(std::shared_ptr<Session> session) {
  auto& stream = *session->stream;
  for (;;) {
    v1::CollectorMessage message;
    const wire::FrameStatus status = co_await stream.Read(message, IdleReadTimeout(config_));
    if (!status.ok()) {
      if (!stopping_ && stream.is_open()) {
        spdlog::warn("uplink: collector {}: {}", stream.peer(), status.detail);
      } else if (!stopping_ && status.fault != wire::FrameFault::kClosed) {
        spdlog::warn("uplink: collector {}: {}", stream.peer(), status.detail);
      }
      break;
    }
    if (message.has_ack()) {
      session->acknowledged = true;
      const std::uint64_t seq = message.ack().seq();
      if (seq > session->sent_seq) {
        spdlog::warn("uplink: collector {} acknowledged seq {} that was never sent (sent {})",
                     stream.peer(), seq, session->sent_seq);
        break;
      }
      if (seq > session->acked_seq) {
        const auto marked =
            co_await store_.Run([seq](EventStore& store) { return store.MarkDelivered(seq); });
        if (!marked.ok()) {
          spdlog::error("uplink: marking seq {} delivered: {}", seq, marked.error().message());
        }
        counters_.events_acked += seq - session->acked_seq;
        session->acked_seq = seq;
      }
      while (!session->in_flight.empty() && session->in_flight.front().last_seq <= seq) {
        session->in_flight.pop_front();
      }
      Wake();
    } else if (message.has_refusal()) {
      ++counters_.refusals;
      retry_after_ = std::chrono::milliseconds(message.refusal().retry_after_ms());
      spdlog::warn("uplink: collector {} closed the session: {}: {}", stream.peer(),
                   v1::Refusal::Reason_Name(message.refusal().reason()),
                   message.refusal().detail());
      break;
    } else {
      spdlog::warn("uplink: collector {} sent an unexpected message; reconnecting", stream.peer());
      break;
    }
  }
  stream.Close();
  session->reader_done = true;
  session->reader_exit.cancel();
  Wake();
}

asio::awaitable<v1::AgentMessage> Uplink::MakeHeartbeat() {
  const EventStoreStats stats =
      co_await store_.Run([](EventStore& store) { return store.Stats(); });
  v1::AgentMessage message;
  auto* heartbeat = message.mutable_heartbeat();
  for (auto& service : services_()) *heartbeat->add_services() = std::move(service);
  heartbeat->set_interval_ms(static_cast<std::uint32_t>(config_.heartbeat_interval.count()));
  auto* health = heartbeat->mutable_health();
  health->set_backlog_events(stats.backlog_events);
  health->set_buffer_bytes(stats.stored_bytes);
  health->set_buffer_limit_bytes(stats.limit_bytes);
  health->set_dropped_events_total(stats.dropped_total);
  health->set_last_seq(stats.last_seq);
  health->set_buffer_degraded(stats.degraded);
  const auto& clock = platform::Clock::Real();
  const std::int64_t wall_ns = platform::UnixNanos(clock.WallNow());
  if (stats.oldest_undelivered_unix_ns) {
    health->set_oldest_undelivered_age_ms(
        std::max<std::int64_t>(0, (wall_ns - *stats.oldest_undelivered_unix_ns) / 1'000'000));
  }
  health->set_wall_time_unix_ns(wall_ns);
  health->set_monotonic_ns(platform::MonotonicNanos(clock.MonotonicNow()));
  health->set_uptime_s(
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count());
  co_return message;
}

}  // namespace atmhealth::agent
