// Admission control for TLS handshakes: at most `limit` run at once. The
// listener takes a slot before it accepts the next connection, so while every
// slot is taken new connections wait in the kernel's accept backlog (and,
// beyond it, in the agents' SYN retries) instead of all starting handshakes
// that share the CPU, crawl, and are cut by hello_timeout together — the
// thundering herd of a whole fleet reconnecting after a collector restart.
//
//   AcceptLoop: co_await gate.WaitForRoom() ─▶ accept ─▶ gate.Take() ─▶ session (holds the Slot)
//   session:    TLS handshake done or failed ─▶ Slot released ─▶ next accept
#ifndef ATMHEALTH_COLLECTOR_INGEST_HANDSHAKE_GATE_H_
#define ATMHEALTH_COLLECTOR_INGEST_HANDSHAKE_GATE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string_view>

#include "collector/ingest/ingest_metrics.h"
#include "platform/asio.h"
#include "platform/clock.h"
#include "platform/repeated_condition.h"
#include "proto/tls_context.h"

namespace atmhealth::collector {

class HandshakeGate {
 public:
  // A taken slot; destroying (or Release()) gives it back. Move-only; an
  // empty Slot holds nothing. The gate must outlive its slots.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { Release(); }

    void Release();
    bool held() const { return gate_ != nullptr; }

   private:
    friend class HandshakeGate;
    explicit Slot(HandshakeGate* gate) : gate_(gate) {}
    HandshakeGate* gate_ = nullptr;
  };

  // `executor`: the one (a strand) WaitForRoom() runs on. Slots taken are
  // shown in tls_handshakes_in_progress.
  HandshakeGate(asio::any_io_executor executor, std::size_t limit, IngestMetrics& metrics);
  HandshakeGate(const HandshakeGate&) = delete;
  HandshakeGate& operator=(const HandshakeGate&) = delete;

  // Waits until fewer than `limit` slots are taken; false when Cancel() was
  // called. Only one coroutine waits and takes slots, on the executor, so
  // the room found is still there at its next Take().
  asio::awaitable<bool> WaitForRoom();
  // Takes a slot for a connection just accepted (after WaitForRoom()).
  Slot Take();

  // Ends a wait in WaitForRoom(), and every later one, with false.
  // Thread-safe.
  void Cancel();

  std::size_t in_flight() const { return in_flight_.load(); }
  std::size_t limit() const { return limit_; }

 private:
  void Give();  // any thread

  const std::size_t limit_;
  IngestMetrics& metrics_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> cancelled_{false};
  asio::steady_timer wake_;  // on the executor; cancelled to wake WaitForRoom()
};

// Failed TLS handshakes, counted every time
// (tls_handshake_failures_total{reason}) and logged rate-limited: the first
// of each reason at once, then at most one summary line per reason a minute,
// so a fleet of misconfigured agents or a scanner cannot flood the log.
// Thread-safe.
class HandshakeFailureLog {
 public:
  HandshakeFailureLog(IngestMetrics& metrics, const platform::Clock& clock);

  // `who` names the peer ("agent 10.1.2.3:5123 device (before Hello)").
  void Failed(std::string_view who, wire::HandshakeFailure reason, std::string_view detail);
  // The agent closed the connection while it waited in the accept backlog:
  // closed without a handshake, counted with reason "abandoned".
  void Abandoned(std::string_view who);

 private:
  // One condition per wire::HandshakeFailure value, and the last for
  // "abandoned".
  static constexpr std::size_t kReasons =
      static_cast<std::size_t>(wire::HandshakeFailure::kClosed) + 2;
  std::optional<std::uint64_t> Occurred(std::size_t reason);

  IngestMetrics& metrics_;
  std::mutex mutex_;
  std::array<platform::RepeatedCondition, kReasons> conditions_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_HANDSHAKE_GATE_H_
