// The agent's connection to the collector: sends every stored event, in
// order, exactly as the session protocol in proto/atmhealth/v1/session.proto
// describes, and marks events delivered only once the collector acknowledged
// them as durably stored.
//
//   Connect ─▶ Hello ─▶ Welcome{last_stored_seq} ─▶ stream ─▶ (error) ─▶ backoff ─▶ Connect
//
// Hello announces how long the agent waits for Welcome (`io_timeout`); the
// collector answers within half of it. A Refusal with a retry hint
// (OVERLOADED, STORE_UNAVAILABLE) makes the next attempt wait at least the
// hint, plus jitter.
//
// Streaming: batches of events above the last acknowledged sequence, at most
// `window_batches` unacknowledged at once; Ack{seq} marks everything up to seq
// delivered. Heartbeats every `heartbeat_interval`. A batch not acknowledged
// within `io_timeout` ends the session (the collector is stuck); whatever
// was not acknowledged is sent again on the next session, and the collector
// stores each event once.
#ifndef ATMHEALTH_AGENT_UPLINK_UPLINK_H_
#define ATMHEALTH_AGENT_UPLINK_UPLINK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/store_thread.h"
#include "agent/uplink/backoff.h"
#include "atmhealth/v1/session.pb.h"
#include "platform/asio.h"
#include "platform/clock.h"

namespace atmhealth::wire {
class FrameStream;
}

namespace atmhealth::agent {

// Counters for the agent's own health; read from any thread.
struct UplinkCounters {
  std::atomic<std::uint64_t> connects{0};          // sessions that reached Welcome
  std::atomic<std::uint64_t> connect_failures{0};  // attempts that did not
  std::atomic<std::uint64_t> batches_sent{0};
  std::atomic<std::uint64_t> events_acked{0};
  std::atomic<std::uint64_t> refusals{0};  // Refusal frames from a collector
  std::atomic<std::uint64_t> heartbeats_sent{0};
  std::atomic<std::uint64_t> events_set_aside{0};  // by this process, after repeated refusals
  std::atomic<bool> connected{false};
};

// Age of the oldest undelivered event, in milliseconds, for the heartbeat
// (0 when there is none): by the monotonic clock when the event was detected
// in the current boot `boot_id`, so that a wall-clock jump (NTP, an
// operator) neither fakes nor hides an age; by the wall clock for an event of
// an earlier boot or without a monotonic time. Never negative.
std::int64_t UndeliveredAgeMs(const EventStoreStats& stats, const platform::Clock& clock,
                              const std::string& boot_id);

// The collector link as atmhealthctl status shows it. Uplink's executor only.
struct UplinkLink {
  std::string endpoint;  // "host:port" of the collector of the current or last attempt
  bool connected = false;
  std::chrono::system_clock::time_point connected_since{};  // when the session was welcomed
  // The highest seq a collector acknowledged since the agent started (0:
  // none yet), and when that acknowledgement came (epoch: never).
  std::uint64_t last_ack_seq = 0;
  std::chrono::system_clock::time_point last_ack_at{};
  std::string last_error;  // why the last attempt or session ended; empty: none
};

class Uplink {
 public:
  // Refusals of one event in a row before it is set aside: one may be a
  // collector's passing trouble, three are the event.
  static constexpr std::uint32_t kSetAsideAfterRefusals = 3;

  // Service states for the heartbeat, read on the uplink's executor; must be
  // thread-safe.
  using ServiceStatusSource = std::function<std::vector<v1::ServiceStatus>()>;

  // What the watchers add to the heartbeat's AgentHealth (the transaction
  // feed), read on the uplink's executor; must be thread-safe.
  using HealthSource = std::function<void(v1::AgentHealth& health)>;

  Uplink(asio::any_io_executor executor, UplinkConfig config, v1::DeviceIdentity device,
         StoreThread& store, ServiceStatusSource services);
  ~Uplink();

  // Set before Run().
  void set_health_source(HealthSource source) { health_source_ = std::move(source); }

  // Connects and streams until Stop(); reconnects with backoff after any
  // failure. Call once, co_spawned on the executor given above.
  asio::awaitable<void> Run();

  // New events were committed. Thread-safe.
  void NotifyCommitted();
  // Ends Run(): waits up to `grace` for outstanding acknowledgements, then
  // closes. Thread-safe.
  void Stop(std::chrono::milliseconds grace);
  // Goes on with `config` (a reloaded [uplink]): the current session ends as
  // Stop() ends it, waiting up to `grace` for outstanding acknowledgements,
  // and the next one starts at once with the first of the new collectors.
  // Nothing is lost: what was not acknowledged is sent again from the
  // buffer. Thread-safe.
  void Reconfigure(UplinkConfig config, std::chrono::milliseconds grace);

  const UplinkCounters& counters() const { return counters_; }
  // Read on the uplink's executor only.
  const UplinkLink& link() const { return link_; }

 private:
  struct Session;
  // Returns whether the session was healthy: welcomed, and at least one Ack
  // came back. Only then does the backoff start over; a collector that
  // welcomes and then refuses or drops every session is retried ever more
  // slowly, and the next collector is tried.
  asio::awaitable<bool> RunSession(const CollectorEndpoint& endpoint);
  asio::awaitable<void> ReadLoop(std::shared_ptr<Session> session);
  // Marks the session's acknowledged events delivered in the buffer, until
  // the mark has caught up with acked_seq; one runs per session at a time.
  asio::awaitable<void> MarkAcknowledged(std::shared_ptr<Session> session);
  // Waits until the session's marker has stopped.
  asio::awaitable<void> WaitForMarker(Session& session);
  asio::awaitable<bool> FillWindow(Session& session);
  // Waits until the session's reader has finished, or `until`.
  asio::awaitable<void> WaitForReader(Session& session,
                                      std::chrono::steady_clock::time_point until);
  asio::awaitable<v1::AgentMessage> MakeHeartbeat();
  // Cuts the batch's events to the schema's bounds and the batch to one
  // frame of `max_frame_bytes`.
  static void FitBatch(v1::EventBatch& batch, std::size_t max_frame_bytes);
  // A Refusal named one event: after kSetAsideAfterRefusals in a row for the
  // same seq, the event is set aside.
  asio::awaitable<void> OnEventRefused(const v1::Refusal& refusal);
  void Wake();
  // Ends the current session, acknowledgements awaited up to `grace`.
  void EndSession(std::chrono::milliseconds grace);
  // Moves to next_config_: a fresh backoff, the first of its collectors.
  void TakeNextConfig();

  asio::any_io_executor executor_;
  UplinkConfig config_;
  v1::DeviceIdentity device_;
  StoreThread& store_;
  ServiceStatusSource services_;
  HealthSource health_source_;
  Backoff backoff_;
  UplinkCounters counters_;
  UplinkLink link_;
  asio::steady_timer wake_;                      // the streaming loop sleeps on it
  asio::steady_timer retry_;                     // backoff between attempts
  asio::ip::tcp::socket* connecting_ = nullptr;  // the socket being connected, for Stop()
  wire::FrameStream* handshaking_ = nullptr;     // the stream awaiting Welcome, for Stop()
  // The retry hint of the last Refusal (0: none); the next attempt waits at
  // least this long.
  std::chrono::milliseconds retry_after_{0};
  bool woken_ = false;                 // set by Wake(), cleared by the loop: no lost wake-ups
  std::uint64_t refused_seq_ = 0;      // the event the last event refusal named
  std::uint32_t refusals_of_seq_ = 0;  // refusals of it in a row
  // The current session is ending (Stop or Reconfigure), by stop_deadline_.
  bool stopping_ = false;
  bool stopped_ = false;                     // Stop(): no session after this one
  std::optional<UplinkConfig> next_config_;  // Reconfigure(): for the next session
  std::chrono::steady_clock::time_point stop_deadline_{};
  std::shared_ptr<Session> session_;  // the live session, if any
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_UPLINK_UPLINK_H_
