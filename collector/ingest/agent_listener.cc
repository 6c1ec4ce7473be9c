#include "collector/ingest/agent_listener.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "collector/tcp_listen.h"

namespace atmhealth::collector {
namespace {

using asio::redirect_error;
using asio::use_awaitable;

// After a failed accept (out of file descriptors, say), wait this long before
// the next one instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// Frames the collector sends are small (Welcome, Ack, Refusal): an agent
// that lets this much pile up is not reading.
constexpr std::size_t kMaxQueuedReplyBytes = 64 * 1024;

// Answers a connection that cannot become a session. The Hello is read first
// (briefly), so the refusal names the device and the agent's bytes do not
// sit unread in the socket, which would turn the close into a reset that
// can discard the refusal before the agent reads it.
// Under TLS the handshake comes first, in the handshake slot `slot`.
asio::awaitable<void> TurnAway(std::shared_ptr<wire::FrameStream> stream,
                               v1::Refusal::Reason reason, std::string detail,
                               std::chrono::milliseconds hello_timeout, HandshakeGate::Slot slot,
                               HandshakeFailureLog& failures) {
  const wire::FrameStatus tls =
      co_await stream->Handshake(asio::ssl::stream_base::server, hello_timeout);
  slot.Release();
  if (!tls.ok()) {
    failures.Failed(fmt::format("agent {} device (before Hello), to be refused ({})",
                                stream->peer(), v1::Refusal::Reason_Name(reason)),
                    stream->handshake_failure(), tls.detail);
    stream->Close();
    co_return;
  }
  v1::AgentMessage hello;
  const wire::FrameStatus read =
      co_await stream->Read(hello, std::min(hello_timeout, kRefusalDrainTimeout));
  const std::string device =
      read.ok() && hello.has_hello() ? hello.hello().device().device_id() : "(no Hello)";
  spdlog::warn("agent {} device {}: refused ({}): {}", stream->peer(), device,
               v1::Refusal::Reason_Name(reason), detail);
  v1::CollectorMessage message;
  message.mutable_refusal()->set_reason(reason);
  message.mutable_refusal()->set_detail(std::move(detail));
  if (stream->Send(message).ok()) co_await stream->Drain(kRefusalDrainTimeout);
  stream->Close();
}

// Whether the peer closed (or reset) a connection that was waiting in the
// accept backlog: it is readable-hung-up, so a handshake would be wasted.
bool PeerGaveUp(asio::ip::tcp::socket& socket) {
  pollfd fd{socket.native_handle(), POLLRDHUP, 0};
  return ::poll(&fd, 1, 0) == 1 && (fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace

Result<std::unique_ptr<AgentListener>> AgentListener::Bind(asio::io_context& io, Options options,
                                                           StoreExecutor& store,
                                                           IngestMetrics& metrics,
                                                           platform::Clock& clock) {
  std::unique_ptr<AgentListener> listener(
      new AgentListener(io, std::move(options), store, metrics, clock));
  Result<std::uint16_t> port = ListenOn(listener->acceptor_, listener->options_.address,
                                        listener->options_.port, "agent listener");
  if (!port.ok()) return port.error();
  listener->port_ = *port;
  return listener;
}

AgentListener::AgentListener(asio::io_context& io, Options options, StoreExecutor& store,
                             IngestMetrics& metrics, platform::Clock& clock)
    : io_(io),
      options_(std::move(options)),
      metrics_(metrics),
      registry_(options_.max_sessions),
      handshake_failures_(metrics, clock),
      services_{store, registry_, metrics, clock, handshake_failures_},
      acceptor_(asio::make_strand(io)),
      handshakes_(acceptor_.get_executor(), options_.max_handshakes, metrics) {}

void AgentListener::Start() {
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
}

asio::awaitable<void> AgentListener::AcceptLoop() {
  if (options_.tls != nullptr) {
    spdlog::info("listening for agents on {}:{} (TLS 1.3, client certificate required)",
                 options_.address, port_);
  } else {
    spdlog::warn(
        "listening for agents on {}:{} in PLAINTEXT (listen.plaintext = true): no "
        "encryption, and any client can speak for any device; use [tls] in "
        "production (docs/tls.md)",
        options_.address, port_);
  }
  asio::steady_timer retry(acceptor_.get_executor());
  for (;;) {
    // Under TLS, a handshake slot before the accept: while all are taken,
    // connections wait in the accept backlog.
    if (options_.tls != nullptr && !co_await handshakes_.WaitForRoom()) co_return;  // Shutdown()
    boost::system::error_code ec;
    asio::ip::tcp::socket socket = co_await acceptor_.async_accept(
        asio::any_io_executor(asio::make_strand(io_)), redirect_error(use_awaitable, ec));
    if (!acceptor_.is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      spdlog::warn("agent listener {}:{}: accept failed: {}", options_.address, port_,
                   ec.message());
      retry.expires_after(kAcceptRetryDelay);
      co_await retry.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    if (options_.tls != nullptr && PeerGaveUp(socket)) {
      boost::system::error_code ignored;
      const auto peer = socket.remote_endpoint(ignored);
      handshake_failures_.Abandoned(fmt::format("agent {}:{} device (before Hello)",
                                                peer.address().to_string(), peer.port()));
      socket.close(ignored);
      continue;
    }
    StartSession(std::move(socket),
                 options_.tls != nullptr ? handshakes_.Take() : HandshakeGate::Slot());
  }
}

void AgentListener::StartSession(asio::ip::tcp::socket socket, HandshakeGate::Slot slot) {
  wire::FrameStream::Limits limits;
  limits.max_frame_bytes = options_.session.max_frame_bytes;
  limits.max_queued_bytes = kMaxQueuedReplyBytes;
  auto stream = options_.tls != nullptr
                    ? wire::FrameStream::Create(std::move(socket), options_.tls->Current(), limits)
                    : wire::FrameStream::Create(std::move(socket), limits);
  auto session = std::make_shared<AgentSession>(stream, options_.session, services_);
  switch (registry_.Admit(session)) {
    case SessionRegistry::Admission::kAdmitted:
      asio::co_spawn(
          stream->executor(),
          [session, slot = std::move(slot)]() mutable { return session->Run(std::move(slot)); },
          asio::detached);
      return;
    case SessionRegistry::Admission::kOverloaded:
      metrics_.CountSessionRefused(SessionRefusal::kOverloaded);
      asio::co_spawn(stream->executor(),
                     TurnAway(stream, v1::Refusal::REASON_OVERLOADED,
                              fmt::format("{} sessions are open, the most this collector takes; "
                                          "retry later",
                                          options_.max_sessions),
                              options_.session.hello_timeout, std::move(slot), handshake_failures_),
                     asio::detached);
      return;
    case SessionRegistry::Admission::kShuttingDown:
      metrics_.CountSessionRefused(SessionRefusal::kShuttingDown);
      asio::co_spawn(stream->executor(),
                     TurnAway(stream, v1::Refusal::REASON_SHUTTING_DOWN,
                              "the collector is stopping; reconnect later or elsewhere",
                              options_.session.hello_timeout, std::move(slot), handshake_failures_),
                     asio::detached);
      return;
  }
}

void AgentListener::Shutdown() {
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  handshakes_.Cancel();
  for (const auto& session : registry_.Close()) session->Stop(AgentSession::StopCause::kShutdown);
}

void AgentListener::AbortSessions() {
  for (const auto& session : registry_.Live()) session->Abort();
}

}  // namespace atmhealth::collector
