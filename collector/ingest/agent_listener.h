// Accepts agent connections and runs one AgentSession per connection, each on
// a strand of its own so that one agent sending garbage never delays another.
// Connections beyond max_sessions are refused with REASON_OVERLOADED. Under
// TLS at most max_handshakes handshakes run at once (HandshakeGate): the next
// connection is accepted only when one ends, so a fleet reconnecting at once
// waits in the accept backlog instead of timing out together. A connection
// its agent closed while it waited there is closed without a handshake and
// counted (tls_handshake_failures_total{reason="abandoned"}).
#ifndef ATMHEALTH_COLLECTOR_INGEST_AGENT_LISTENER_H_
#define ATMHEALTH_COLLECTOR_INGEST_AGENT_LISTENER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/ingest/agent_session.h"
#include "collector/ingest/handshake_gate.h"
#include "collector/ingest/ingest_metrics.h"
#include "collector/ingest/session_registry.h"
#include "collector/ingest/store_executor.h"
#include "collector/ingest/tls_credentials.h"
#include "platform/asio.h"
#include "platform/clock.h"
#include "platform/status.h"

namespace atmhealth::collector {

class AgentListener {
 public:
  struct Options {
    std::string address = "127.0.0.1";  // IP address to listen on
    std::uint16_t port = 0;             // 0: any free port (see port())
    std::size_t max_sessions = 1000;    // sessions at once, counted from accept
    std::size_t max_handshakes = 512;   // TLS handshakes at once (none in plaintext)
    SessionSettings session;
    // Mutual TLS for every connection; nullptr: plaintext TCP. Not owned;
    // must outlive the listener.
    TlsCredentials* tls = nullptr;
  };

  // Binds and listens now, so that the port is known before Start(). The
  // io_context, store, metrics and clock must outlive the listener, and the
  // listener must outlive every session it started (run the io_context
  // until it has no work left before destroying the listener).
  static Result<std::unique_ptr<AgentListener>> Bind(asio::io_context& io, Options options,
                                                     StoreExecutor& store, IngestMetrics& metrics,
                                                     platform::Clock& clock);
  AgentListener(const AgentListener&) = delete;
  AgentListener& operator=(const AgentListener&) = delete;

  // The bound port (the real one when Options::port was 0).
  std::uint16_t port() const { return port_; }

  // Starts accepting on the io_context. Call once.
  void Start();

  // Stops accepting and asks every session to end once the batch it is
  // storing now is acknowledged, with Refusal REASON_SHUTTING_DOWN.
  // Thread-safe.
  void Shutdown();

  // Closes every session at once (when the shutdown grace period ran out).
  // Thread-safe.
  void AbortSessions();

  // Sessions running now. Thread-safe.
  std::size_t active_sessions() const { return registry_.size(); }

 private:
  AgentListener(asio::io_context& io, Options options, StoreExecutor& store, IngestMetrics& metrics,
                platform::Clock& clock);
  asio::awaitable<void> AcceptLoop();
  void StartSession(asio::ip::tcp::socket socket, HandshakeGate::Slot slot);

  asio::io_context& io_;
  const Options options_;
  IngestMetrics& metrics_;
  SessionRegistry registry_;
  HandshakeFailureLog handshake_failures_;
  SessionServices services_;
  asio::ip::tcp::acceptor acceptor_;  // on a strand of its own
  HandshakeGate handshakes_;          // on the acceptor's strand
  std::uint16_t port_ = 0;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_AGENT_LISTENER_H_
