#include "agent/uplink/uplink.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <utility>

#include "platform/clock.h"
#include "proto/frame_stream.h"
#include "proto/schema_limits.h"

namespace atmhealth::agent {
namespace {

using Clock = std::chrono::steady_clock;
// How long the reader may take what a collector sent before it closed.
constexpr auto kReaderGrace = std::chrono::seconds(2);
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
  // Agreed in Welcome: the smaller of this agent's config and the
  // collector's announcement, so that no batch is refused for its size.
  std::size_t max_batch_events = 0;  // events
  std::size_t max_frame_bytes = 0;   // bytes
  std::deque<InFlight> in_flight;    // unacknowledged batches, oldest first
  std::uint64_t sent_seq = 0;        // highest sequence sent (or known stored)
  std::uint64_t acked_seq = 0;       // highest sequence acknowledged
  bool reader_done = false;
  bool acknowledged = false;       // an Ack arrived in this session
  asio::steady_timer reader_exit;  // cancelled when the reader finishes
  // Acknowledged events are marked delivered in the buffer by one marker at
  // a time (MarkAcknowledged), each mark taking every Ack that came while
  // the previous one was being written.
  bool marking = false;
  asio::steady_timer marker_exit{stream->executor()};  // cancelled when the marker stops
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
    stopped_ = true;
    EndSession(grace);
  });
}

void Uplink::Reconfigure(UplinkConfig config, std::chrono::milliseconds grace) {
  asio::post(executor_, [this, config = std::move(config), grace]() mutable {
    next_config_ = std::move(config);
    EndSession(grace);
  });
}

void Uplink::EndSession(std::chrono::milliseconds grace) {
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
}

void Uplink::TakeNextConfig() {
  config_ = *std::exchange(next_config_, std::nullopt);
  stopping_ = false;
  backoff_ = Backoff(config_.backoff_initial, config_.backoff_max,
                     std::hash<std::string>{}(device_.device_id()) ^
                         static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()));
  retry_after_ = {};
  std::string collectors;
  for (const CollectorEndpoint& endpoint : config_.collectors) {
    collectors += (collectors.empty() ? "" : ", ") + Describe(endpoint);
  }
  spdlog::info("uplink: reconfigured: collectors {}", collectors);
}

asio::awaitable<void> Uplink::Run() {
  if (config_.plaintext) {
    spdlog::warn(
        "uplink: PLAINTEXT (uplink.plaintext = true): events travel unencrypted and the "
        "collector is not authenticated; use TLS in production (docs/tls.md)");
  }
  std::size_t index = 0;
  while (!stopped_) {
    if (next_config_) {
      TakeNextConfig();
      index = 0;
    }
    const CollectorEndpoint& endpoint = config_.collectors[index % config_.collectors.size()];
    const bool healthy = co_await RunSession(endpoint);
    if (stopped_) break;
    if (next_config_) continue;  // at once, with the new configuration
    if (!healthy) ++index;       // fail over to the next collector
    // A collector that said when it will have room is never called sooner,
    // and a fleet refused together comes back spread out.
    const auto delay =
        backoff_.AfterSession(healthy, std::exchange(retry_after_, std::chrono::milliseconds{}));
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
  link_.endpoint = Describe(endpoint);
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
    link_.last_error = ec == asio::error::operation_aborted ? "connect timed out" : ec.message();
    spdlog::log(level, "uplink: cannot reach collector {}: {}", Describe(endpoint),
                link_.last_error);
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
      link_.last_error = "TLS files: " + tls.error().message();
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
    link_.last_error = "TLS handshake: " + tls.detail;
    spdlog::log(level, "uplink: TLS handshake with collector {} failed: {}", Describe(endpoint),
                tls.detail);
    co_return false;
  }

  const EventStoreStats buffer =
      co_await store_.Run([](EventStore& store) { return store.Stats(); });
  v1::AgentMessage hello;
  *hello.mutable_hello()->mutable_device() = device_;
  hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  hello.mutable_hello()->set_agent_version(ATMHEALTH_VERSION);
  hello.mutable_hello()->set_agent_last_seq(buffer.last_seq);
  hello.mutable_hello()->set_buffer_id(buffer.buffer_id);
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
    link_.last_error = !status.ok() ? "no Welcome: " + status.detail
                       : reply.has_refusal()
                           ? "refused: " + v1::Refusal::Reason_Name(reply.refusal().reason())
                           : "no Welcome";
    if (!status.ok()) {
      spdlog::warn("uplink: collector {} did not welcome us: {}", stream.peer(), status.detail);
    } else if (reply.has_refusal()) {
      ++counters_.refusals;
      retry_after_ = std::chrono::milliseconds(reply.refusal().retry_after_ms());
      // Two devices under one id cannot fix themselves: say it loudly.
      const auto level = reply.refusal().reason() == v1::Refusal::REASON_BUFFER_CONFLICT
                             ? spdlog::level::err
                             : spdlog::level::warn;
      spdlog::log(level, "uplink: collector {} refused the session: {}: {}", stream.peer(),
                  v1::Refusal::Reason_Name(reply.refusal().reason()), reply.refusal().detail());
    } else {
      spdlog::warn("uplink: collector {} answered Hello with something other than Welcome",
                   stream.peer());
    }
    stream.Close();
    co_return false;
  }

  const std::uint64_t stored = reply.welcome().last_stored_seq();
  if (stored > buffer.committed_seq) {
    // The collector holds more under this buffer id than the file ever
    // committed: the file is an older copy of itself (restored from a
    // backup or snapshot). Under this id its next events would be taken for
    // ones already stored, so the buffer takes a new id and reconnects.
    // Nothing is marked delivered.
    spdlog::warn(
        "uplink: collector {} holds events up to seq {} of buffer {} but the buffer committed "
        "only up to {}: it was restored from an older copy; renewing its id",
        stream.peer(), stored, buffer.buffer_id, buffer.committed_seq);
    const Status renewed =
        co_await store_.Run([](EventStore& store) { return store.RenewBufferId(); });
    if (!renewed.ok()) {
      spdlog::error("uplink: renewing the buffer id: {}; nothing sent until it succeeds",
                    renewed.error().message());
    }
    stream.Close();
    co_return false;
  }
  const Status marked =
      co_await store_.Run([stored](EventStore& store) { return store.MarkDelivered(stored); });
  if (!marked.ok()) {
    spdlog::error("uplink: marking seq {} delivered after Welcome: {}; reconnecting", stored,
                  marked.error().message());
    stream.Close();
    co_return false;
  }
  // Events up to buffer_base_seq went out under an earlier id of this file.
  session->sent_seq = std::max(stored, buffer.buffer_base_seq);
  session->acked_seq = session->sent_seq;
  const v1::Welcome& welcome = reply.welcome();
  session->max_batch_events =
      std::min(config_.batch_events, welcome.max_batch_events() > 0
                                         ? static_cast<std::size_t>(welcome.max_batch_events())
                                         : wire::kMaxEventsPerBatch);
  session->max_frame_bytes =
      welcome.max_frame_bytes() > 0
          ? std::min(config_.max_frame_bytes, static_cast<std::size_t>(welcome.max_frame_bytes()))
          : config_.max_frame_bytes;
  if (session->max_batch_events < config_.batch_events ||
      session->max_frame_bytes < config_.max_frame_bytes) {
    spdlog::info(
        "uplink: collector {} accepts at most {} events and {} bytes a frame; batches follow "
        "(configured: {} events, {} bytes)",
        stream.peer(), welcome.max_batch_events(), welcome.max_frame_bytes(), config_.batch_events,
        config_.max_frame_bytes);
  }
  ++counters_.connects;
  counters_.connected = true;
  link_.connected = true;
  link_.connected_since = std::chrono::system_clock::now();
  link_.last_ack_seq = std::max(link_.last_ack_seq, session->acked_seq);
  link_.last_ack_at = link_.connected_since;
  link_.last_error.clear();
  session_ = session;
  spdlog::info("uplink: connected to collector {} as {}; collector holds events up to seq {}",
               stream.peer(), device_.device_id(), stored);

  asio::co_spawn(executor_, ReadLoop(session), asio::detached);
  auto next_heartbeat = Clock::now();
  bool send_failed = false;
  for (;;) {
    if (!stream.is_open()) break;
    const auto now = Clock::now();
    if (stopping_) {
      if (session->in_flight.empty() || now >= stop_deadline_) break;
    } else if (!co_await FillWindow(*session)) {
      send_failed = true;
      break;
    }
    if (now >= next_heartbeat && !stopping_) {
      const v1::AgentMessage heartbeat = co_await MakeHeartbeat();
      if (const auto sent = stream.Send(heartbeat); !sent.ok()) {
        spdlog::warn("uplink: heartbeat to {}: {}", stream.peer(), sent.detail);
        send_failed = true;
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

  if (send_failed) {
    // The collector closed, perhaps after saying why (a Refusal naming the
    // event it refuses, a retry hint). The reader takes that before the
    // stream is closed; closing at once would lose it.
    co_await WaitForReader(*session, Clock::now() + kReaderGrace);
  }
  stream.Close();
  co_await WaitForReader(*session, Clock::time_point::max());
  // Whatever was acknowledged is marked before the session is gone (and
  // before Run() returns on Stop()).
  co_await WaitForMarker(*session);
  counters_.connected = false;
  link_.connected = false;
  if (link_.last_error.empty()) link_.last_error = "session ended";
  session_.reset();
  if (!stopping_) spdlog::info("uplink: session with collector {} ended", stream.peer());
  co_return session->acknowledged;
}

asio::awaitable<void> Uplink::MarkAcknowledged(std::shared_ptr<Session> session) {
  // A draining backlog gets an Ack for every batch; one commit (one fsync)
  // per Ack would make the buffer's disk, not the collector, set the pace.
  // While a mark is written the next Acks only raise acked_seq, and the next
  // mark takes them all. The mark may lag the Acks, never lead them: an
  // event marked delivered was acknowledged as stored.
  std::uint64_t marked = 0;
  while (marked < session->acked_seq) {
    const std::uint64_t seq = session->acked_seq;
    const Status status =
        co_await store_.Run([seq](EventStore& store) { return store.MarkDelivered(seq); });
    if (!status.ok()) {
      // The next Ack tries again; until then its events stay undelivered
      // and are sent again after a reconnect, which the collector dedupes.
      spdlog::error("uplink: marking seq {} delivered: {}", seq, status.error().message());
      break;
    }
    marked = seq;
  }
  session->marking = false;
  session->marker_exit.cancel();
}

asio::awaitable<void> Uplink::WaitForMarker(Session& session) {
  while (session.marking) {
    session.marker_exit.expires_after(std::chrono::seconds(1));
    boost::system::error_code ignored;
    co_await session.marker_exit.async_wait(redirect_error(use_awaitable, ignored));
  }
}

asio::awaitable<void> Uplink::WaitForReader(Session& session, Clock::time_point until) {
  while (!session.reader_done && Clock::now() < until) {
    session.reader_exit.expires_at(std::min(until, Clock::now() + std::chrono::seconds(1)));
    boost::system::error_code ignored;
    co_await session.reader_exit.async_wait(redirect_error(use_awaitable, ignored));
  }
}

asio::awaitable<bool> Uplink::FillWindow(Session& session) {
  // Half a frame of payload leaves room for framing and field overhead.
  const std::size_t batch_bytes = session.max_frame_bytes / 2;
  const std::size_t max_events = session.max_batch_events;
  while (session.in_flight.size() < config_.window_batches && session.stream->is_open()) {
    const std::uint64_t after = session.sent_seq;
    auto events = co_await store_.Run([after, max_events, batch_bytes](EventStore& store) {
      return store.ReadAfter(after, max_events, batch_bytes);
    });
    if (!events.ok()) {
      spdlog::error("uplink: reading the event buffer: {}", events.error().message());
      co_return true;  // keep the session; the next wake-up tries again
    }
    if (events->empty()) co_return true;
    v1::AgentMessage message;
    auto* batch = message.mutable_batch();
    for (auto& event : *events) *batch->add_events() = std::move(event);
    FitBatch(*batch, session.max_frame_bytes);
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

void Uplink::FitBatch(v1::EventBatch& batch, std::size_t max_frame_bytes) {
  // Room for the length prefix and the AgentMessage and batch field tags.
  constexpr std::size_t kFramingBytes = 16;
  const std::size_t limit = max_frame_bytes - kFramingBytes;
  // Never send what the collector said it refuses: every text within the
  // schema's bounds, cut and marked where it was longer.
  for (v1::Event& event : *batch.mutable_events()) {
    if (wire::ClampEventToSchema(event)) {
      spdlog::debug("uplink: seq {}: text cut to the schema's limits", event.seq());
    }
  }
  while (batch.events_size() > 1 && batch.ByteSizeLong() > limit) {
    batch.mutable_events()->RemoveLast();
  }
  if (batch.ByteSizeLong() > limit &&
      !wire::FitEventInBytes(*batch.mutable_events(0), limit - kFramingBytes)) {
    spdlog::warn("uplink: seq {} does not fit a {}-byte frame even cut down", batch.events(0).seq(),
                 max_frame_bytes);
  }
}

asio::awaitable<void> Uplink::OnEventRefused(const v1::Refusal& refusal) {
  const std::uint64_t seq = refusal.refused_seq();
  if (seq != refused_seq_) {
    refused_seq_ = seq;
    refusals_of_seq_ = 0;
  }
  if (++refusals_of_seq_ < kSetAsideAfterRefusals) co_return;
  // The same event refused again and again would block every event behind
  // it forever while heartbeats look healthy: it is set aside (kept in the
  // buffer, reported by a notice and in the heartbeat), the rest flows.
  const std::string reason =
      std::string(v1::Refusal::Reason_Name(refusal.reason())) + ": " + refusal.detail();
  // Named, not a temporary: see StoreThread::Run about GCC 12.
  auto set_aside_work = [seq, reason](EventStore& store) {
    Status status = store.SetAside(seq, reason);
    if (!status.ok()) return status;
    return store.Commit();
  };
  const Status set_aside = co_await store_.Run(std::move(set_aside_work));
  if (!set_aside.ok()) {
    spdlog::error("uplink: setting seq {} aside: {}", seq, set_aside.error().message());
    co_return;
  }
  refusals_of_seq_ = 0;
  ++counters_.events_set_aside;
}

asio::awaitable<void> Uplink::ReadLoop(std::shared_ptr<Session> session) {
  auto& stream = *session->stream;
  for (;;) {
    v1::CollectorMessage message;
    const wire::FrameStatus status = co_await stream.Read(message, IdleReadTimeout(config_));
    if (!status.ok()) {
      if (!stopping_) link_.last_error = status.detail;
      if (!stopping_ && stream.is_open()) {
        spdlog::warn("uplink: collector {}: {}", stream.peer(), status.detail);
      } else if (!stopping_ && status.fault != wire::FrameFault::kClosed) {
        spdlog::warn("uplink: collector {}: {}", stream.peer(), status.detail);
      }
      break;
    }
    if (message.has_ack()) {
      if (message.ack().seq() >= refused_seq_) refusals_of_seq_ = 0;  // it got through
      session->acknowledged = true;
      const std::uint64_t seq = message.ack().seq();
      if (seq > session->sent_seq) {
        spdlog::warn("uplink: collector {} acknowledged seq {} that was never sent (sent {})",
                     stream.peer(), seq, session->sent_seq);
        break;
      }
      if (seq > session->acked_seq) {
        counters_.events_acked += seq - session->acked_seq;
        session->acked_seq = seq;
        // The window opens at once; the delivered mark follows on its own.
        if (!session->marking) {
          session->marking = true;
          asio::co_spawn(executor_, MarkAcknowledged(session), asio::detached);
        }
      }
      link_.last_ack_seq = std::max(link_.last_ack_seq, seq);
      link_.last_ack_at = std::chrono::system_clock::now();
      while (!session->in_flight.empty() && session->in_flight.front().last_seq <= seq) {
        session->in_flight.pop_front();
      }
      Wake();
    } else if (message.has_refusal()) {
      ++counters_.refusals;
      const v1::Refusal& refusal = message.refusal();
      retry_after_ = std::chrono::milliseconds(refusal.retry_after_ms());
      link_.last_error = "refused: " + v1::Refusal::Reason_Name(refusal.reason());
      spdlog::warn("uplink: collector {} closed the session: {}: {}", stream.peer(),
                   v1::Refusal::Reason_Name(refusal.reason()), refusal.detail());
      if (refusal.refused_seq() != 0) co_await OnEventRefused(refusal);
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

std::int64_t UndeliveredAgeMs(const EventStoreStats& stats, const platform::Clock& clock,
                              const std::string& boot_id) {
  if (!stats.oldest_undelivered_unix_ns) return 0;
  std::int64_t age_ns = 0;
  if (stats.oldest_undelivered_monotonic_ns > 0 && !boot_id.empty() &&
      stats.oldest_undelivered_boot_id == boot_id) {
    age_ns = platform::MonotonicNanos(clock.MonotonicNow()) - stats.oldest_undelivered_monotonic_ns;
  } else {
    age_ns = platform::UnixNanos(clock.WallNow()) - *stats.oldest_undelivered_unix_ns;
  }
  return std::max<std::int64_t>(0, age_ns / 1'000'000);
}

asio::awaitable<v1::AgentMessage> Uplink::MakeHeartbeat() {
  const EventStoreStats stats =
      co_await store_.Run([](EventStore& store) { return store.Stats(); });
  v1::AgentMessage message;
  auto* heartbeat = message.mutable_heartbeat();
  for (auto& service : services_()) *heartbeat->add_services() = std::move(service);
  heartbeat->set_interval_ms(static_cast<std::uint32_t>(config_.heartbeat_interval.count()));
  auto* health = heartbeat->mutable_health();
  if (health_source_) health_source_(*health);
  health->set_backlog_events(stats.backlog_events);
  health->set_buffer_bytes(stats.stored_bytes);
  health->set_buffer_limit_bytes(stats.limit_bytes);
  health->set_dropped_events_total(stats.dropped_total);
  health->set_last_seq(stats.last_seq);
  health->set_buffer_degraded(stats.degraded);
  health->set_set_aside_events_total(stats.set_aside_total);
  const auto& clock = platform::Clock::Real();
  health->set_oldest_undelivered_age_ms(UndeliveredAgeMs(stats, clock, platform::BootId()));
  health->set_wall_time_unix_ns(platform::UnixNanos(clock.WallNow()));
  health->set_monotonic_ns(platform::MonotonicNanos(clock.MonotonicNow()));
  health->set_uptime_s(
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count());
  co_return message;
}

}  // namespace atmhealth::agent
