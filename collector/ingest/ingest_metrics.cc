#include "collector/ingest/ingest_metrics.h"

#include <string>

namespace atmhealth::collector {
namespace {

prometheus::Counter& AddCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : IngestMetrics(registry,
                    prometheus::BuildCounter()
                        .Name("atmhealth_collector_frames_rejected_total")
                        .Help("Agent frames refused, and sessions ended by silence, by reason")
                        .Register(registry),
                    prometheus::BuildCounter()
                        .Name("atmhealth_collector_sessions_refused_total")
                        .Help("Agent connections turned away before their session began, by reason")
                        .Register(registry)) {}

IngestMetrics::IngestMetrics(prometheus::Registry& registry,
                             prometheus::Family<prometheus::Counter>& rejected,
                             prometheus::Family<prometheus::Counter>& refused)
    : rejected_oversized_(rejected.Add({{"reason", "oversized"}})),
      rejected_malformed_(rejected.Add({{"reason", "malformed"}})),
      rejected_protocol_(rejected.Add({{"reason", "protocol"}})),
      rejected_timeout_(rejected.Add({{"reason", "timeout"}})),
      rejected_truncated_(rejected.Add({{"reason", "truncated"}})),
      refused_overloaded_(refused.Add({{"reason", "overloaded"}})),
      refused_shutting_down_(refused.Add({{"reason", "shutting_down"}})),
      refused_buffer_conflict_(refused.Add({{"reason", "buffer_conflict"}})),
      sessions_total_(AddCounter(registry, "atmhealth_collector_sessions_total",
                                 "Agent sessions accepted since the collector started")),
      sessions_active_(prometheus::BuildGauge()
                           .Name("atmhealth_collector_sessions_active")
                           .Help("Agent sessions open now")
                           .Register(registry)
                           .Add({})),
      sessions_replaced_(AddCounter(registry, "atmhealth_collector_sessions_replaced_total",
                                    "Sessions closed because the same device connected again")),
      events_stored_(AddCounter(registry, "atmhealth_collector_events_stored_total",
                                "Events stored for the first time")),
      events_duplicate_(AddCounter(registry, "atmhealth_collector_events_duplicate_total",
                                   "Events received again that were already stored")),
      events_late_(AddCounter(registry, "atmhealth_collector_events_late_total",
                              "Events stored below their buffer's highest stored sequence: "
                              "they filled a gap")),
      sequence_gaps_(AddCounter(registry, "atmhealth_collector_sequence_gaps_total",
                                "Ranges of sequences a buffer skipped over (missing events)")),
      sequence_gap_events_(AddCounter(registry, "atmhealth_collector_sequence_gap_events_total",
                                      "Sequences skipped over: events missing when the gap "
                                      "opened")),
      heartbeats_(
          AddCounter(registry, "atmhealth_collector_heartbeats_total", "Heartbeats recorded")),
      store_errors_(AddCounter(registry, "atmhealth_collector_store_errors_total",
                               "Store calls that failed; the session was refused")),
      refused_identity_mismatch_(refused.Add({{"reason", "identity_mismatch"}})),
      handshake_failures_(prometheus::BuildCounter()
                              .Name("atmhealth_collector_tls_handshake_failures_total")
                              .Help("Agent TLS handshakes that failed, by reason")
                              .Register(registry)),
      tls_reloads_(prometheus::BuildCounter()
                       .Name("atmhealth_collector_tls_reloads_total")
                       .Help("Loads of changed TLS files (certificate, key, CA, CRL), by result")
                       .Register(registry)),
      refused_store_busy_(refused.Add({{"reason", "store_busy"}})),
      store_queue_depth_(prometheus::BuildGauge()
                             .Name("atmhealth_collector_store_queue_depth")
                             .Help("Store calls waiting for the store thread now")
                             .Register(registry)
                             .Add({})),
      store_commit_seconds_(
          prometheus::BuildHistogram()
              .Name("atmhealth_collector_store_commit_seconds")
              .Help("Time one group commit took on the store thread (its calls and the commit "
                    "that makes them durable), seconds")
              .Register(registry)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                           0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10})),
      store_commit_calls_(
          prometheus::BuildHistogram()
              .Name("atmhealth_collector_store_commit_calls")
              .Help("Store calls (batches, heartbeats, Hellos of all sessions) made durable by one "
                    "group commit")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256,
                                                               512, 1024})),
      ingest_seconds_(
          prometheus::BuildHistogram()
              .Name("atmhealth_collector_ingest_seconds")
              .Help("Time from an event batch read off an agent's connection to its Ack, "
                    "seconds: validation, the store queue, the store and its commit")
              .Register(registry)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                           0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10})),
      store_calls_skipped_(
          AddCounter(registry, "atmhealth_collector_store_calls_skipped_total",
                     "Store calls skipped because their session had stopped waiting")),
      handshakes_abandoned_(handshake_failures_.Add({{"reason", "abandoned"}})),
      handshakes_in_progress_(
          prometheus::BuildGauge()
              .Name("atmhealth_collector_tls_handshakes_in_progress")
              .Help("Agent TLS handshakes running now (at most listen.max_handshakes)")
              .Register(registry)
              .Add({})),
      pending_heartbeats_(prometheus::BuildGauge()
                              .Name("atmhealth_collector_store_pending_heartbeats")
                              .Help("Devices whose latest heartbeat waits for the next group "
                                    "commit now")
                              .Register(registry)
                              .Add({})),
      heartbeats_coalesced_(
          AddCounter(registry, "atmhealth_collector_heartbeats_coalesced_total",
                     "Heartbeats replaced by a newer heartbeat of the same device before they "
                     "were written; their callers were answered when the newer one committed")) {
  // Every reason is exported from the start, at 0, so that alerts on a rate
  // see the series before the first failure.
  for (const auto reason :
       {wire::HandshakeFailure::kNoCertificate, wire::HandshakeFailure::kUnknownCa,
        wire::HandshakeFailure::kExpired, wire::HandshakeFailure::kNotYetValid,
        wire::HandshakeFailure::kRevoked, wire::HandshakeFailure::kBadCertificate,
        wire::HandshakeFailure::kProtocol, wire::HandshakeFailure::kTimeout,
        wire::HandshakeFailure::kClosed}) {
    handshake_failures_.Add({{"reason", wire::HandshakeFailureName(reason)}});
  }
  tls_reloads_.Add({{"result", "loaded"}});
  tls_reloads_.Add({{"result", "failed"}});
}

void IngestMetrics::CountFrameRejected(FrameRejection reason) {
  switch (reason) {
    case FrameRejection::kOversized:
      rejected_oversized_.Increment();
      return;
    case FrameRejection::kMalformed:
      rejected_malformed_.Increment();
      return;
    case FrameRejection::kProtocol:
      rejected_protocol_.Increment();
      return;
    case FrameRejection::kTimeout:
      rejected_timeout_.Increment();
      return;
    case FrameRejection::kTruncated:
      rejected_truncated_.Increment();
      return;
  }
}

void IngestMetrics::CountSessionRefused(SessionRefusal reason) {
  switch (reason) {
    case SessionRefusal::kOverloaded:
      refused_overloaded_.Increment();
      return;
    case SessionRefusal::kShuttingDown:
      refused_shutting_down_.Increment();
      return;
    case SessionRefusal::kIdentityMismatch:
      refused_identity_mismatch_.Increment();
      return;
    case SessionRefusal::kStoreBusy:
      refused_store_busy_.Increment();
      return;
    case SessionRefusal::kBufferConflict:
      refused_buffer_conflict_.Increment();
      return;
  }
}

void IngestMetrics::CountSessionStarted() {
  sessions_total_.Increment();
  sessions_active_.Increment();
}

void IngestMetrics::CountSessionEnded() { sessions_active_.Decrement(); }
void IngestMetrics::CountSessionReplaced() { sessions_replaced_.Increment(); }
void IngestMetrics::CountEventsStored(std::uint64_t events) {
  events_stored_.Increment(static_cast<double>(events));
}
void IngestMetrics::CountEventsDuplicate(std::uint64_t events) {
  events_duplicate_.Increment(static_cast<double>(events));
}
void IngestMetrics::CountEventsLate(std::uint64_t events) {
  events_late_.Increment(static_cast<double>(events));
}
void IngestMetrics::CountSequenceGaps(std::uint64_t gaps, std::uint64_t events) {
  sequence_gaps_.Increment(static_cast<double>(gaps));
  sequence_gap_events_.Increment(static_cast<double>(events));
}
void IngestMetrics::CountHeartbeat() { heartbeats_.Increment(); }
void IngestMetrics::CountStoreError() { store_errors_.Increment(); }
void IngestMetrics::CountHandshakeFailure(wire::HandshakeFailure reason) {
  handshake_failures_.Add({{"reason", wire::HandshakeFailureName(reason)}}).Increment();
}

void IngestMetrics::CountHandshakeAbandoned() { handshakes_abandoned_.Increment(); }

void IngestMetrics::HandshakeStarted() { handshakes_in_progress_.Increment(); }

void IngestMetrics::HandshakeEnded() { handshakes_in_progress_.Decrement(); }
void IngestMetrics::CountTlsReload(bool ok) {
  tls_reloads_.Add({{"result", ok ? "loaded" : "failed"}}).Increment();
}
void IngestMetrics::SetStoreQueueDepth(std::size_t calls) {
  store_queue_depth_.Set(static_cast<double>(calls));
}
void IngestMetrics::ObserveStoreGroup(double seconds, std::size_t calls) {
  store_commit_seconds_.Observe(seconds);
  store_commit_calls_.Observe(static_cast<double>(calls));
}
void IngestMetrics::CountStoreCallSkipped() { store_calls_skipped_.Increment(); }
void IngestMetrics::SetPendingHeartbeats(std::size_t devices) {
  pending_heartbeats_.Set(static_cast<double>(devices));
}
void IngestMetrics::CountHeartbeatCoalesced() { heartbeats_coalesced_.Increment(); }
void IngestMetrics::ObserveIngest(double seconds) { ingest_seconds_.Observe(seconds); }

}  // namespace atmhealth::collector
