// The collector's ingest counters, exported in Prometheus format. Every
// refused frame, failed store call and session is counted here once.
//
// Thread-safe: prometheus-cpp's counters and gauges are atomic, so sessions on
// different strands update them without locking.
#ifndef ATMHEALTH_COLLECTOR_INGEST_INGEST_METRICS_H_
#define ATMHEALTH_COLLECTOR_INGEST_INGEST_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <cstdint>

#include "proto/tls_context.h"

namespace atmhealth::collector {

// Why a frame (or the silence in place of one) ended a session: the label
// values of atmhealth_collector_frames_rejected_total{reason=...}.
enum class FrameRejection {
  kOversized,  // a length prefix above max_frame_bytes
  kMalformed,  // bytes that do not parse as an AgentMessage
  kProtocol,   // a valid message at the wrong time or with bad fields
  kTimeout,    // no Hello within hello_timeout, or no frame within idle_timeout
  kTruncated,  // the connection closed in the middle of a frame
};

// Why a connection was turned away before it became a session: the label
// values of atmhealth_collector_sessions_refused_total{reason=...}.
enum class SessionRefusal {
  kOverloaded,        // max_sessions reached
  kShuttingDown,      // the collector is stopping
  kIdentityMismatch,  // the Hello's device id is not the client certificate's
  kStoreBusy,         // the store queue is too long for another session now
  kBufferConflict,    // a live session of the device speaks for another buffer
};

class IngestMetrics {
 public:
  // Registers the ingest families in `registry`, which must outlive this.
  explicit IngestMetrics(prometheus::Registry& registry);
  IngestMetrics(const IngestMetrics&) = delete;
  IngestMetrics& operator=(const IngestMetrics&) = delete;

  void CountFrameRejected(FrameRejection reason);
  void CountSessionRefused(SessionRefusal reason);
  void CountSessionStarted();  // also raises sessions_active
  void CountSessionEnded();    // lowers sessions_active
  void CountSessionReplaced();
  void CountEventsStored(std::uint64_t events);
  void CountEventsDuplicate(std::uint64_t events);
  // Events stored below the buffer's highest stored sequence: they filled a
  // gap (also counted in events_stored).
  void CountEventsLate(std::uint64_t events);
  // A batch skipped over `events` sequences in `gaps` ranges.
  void CountSequenceGaps(std::uint64_t gaps, std::uint64_t events);
  void CountHeartbeat();
  void CountStoreError();
  // A TLS handshake that failed: tls_handshake_failures_total{reason=...}.
  void CountHandshakeFailure(wire::HandshakeFailure reason);
  // A connection its agent closed while it waited for a handshake slot:
  // tls_handshake_failures_total{reason="abandoned"}.
  void CountHandshakeAbandoned();
  // A TLS handshake took / gave back one of the listener's slots:
  // tls_handshakes_in_progress.
  void HandshakeStarted();
  void HandshakeEnded();
  // The TLS files were loaded again (ok) or could not be (the previous
  // context stays in use): tls_reloads_total{result="loaded"|"failed"}.
  void CountTlsReload(bool ok);
  // The store thread's queue: calls waiting now, how long each call took
  // (seconds), and calls skipped because their caller had given up.
  void SetStoreQueueDepth(std::size_t calls);
  // One group commit on the store thread: its calls and their commit.
  void ObserveStoreGroup(double seconds, std::size_t calls);
  void CountStoreCallSkipped();
  // Heartbeats waiting for the next group commit now, one per device at
  // most (store_pending_heartbeats), and heartbeats replaced by a newer one
  // of their device before they were written (heartbeats_coalesced_total).
  void SetPendingHeartbeats(std::size_t devices);
  void CountHeartbeatCoalesced();
  // One event batch from its frame read off the connection to its Ack
  // handed back (validation, store queue, store, commit), seconds.
  void ObserveIngest(double seconds);

 private:
  IngestMetrics(prometheus::Registry& registry, prometheus::Family<prometheus::Counter>& rejected,
                prometheus::Family<prometheus::Counter>& refused);

  prometheus::Counter& rejected_oversized_;
  prometheus::Counter& rejected_malformed_;
  prometheus::Counter& rejected_protocol_;
  prometheus::Counter& rejected_timeout_;
  prometheus::Counter& rejected_truncated_;
  prometheus::Counter& refused_overloaded_;
  prometheus::Counter& refused_shutting_down_;
  prometheus::Counter& refused_buffer_conflict_;
  prometheus::Counter& sessions_total_;
  prometheus::Gauge& sessions_active_;
  prometheus::Counter& sessions_replaced_;
  prometheus::Counter& events_stored_;
  prometheus::Counter& events_duplicate_;
  prometheus::Counter& events_late_;
  prometheus::Counter& sequence_gaps_;
  prometheus::Counter& sequence_gap_events_;
  prometheus::Counter& heartbeats_;
  prometheus::Counter& store_errors_;
  prometheus::Counter& refused_identity_mismatch_;
  prometheus::Family<prometheus::Counter>& handshake_failures_;
  prometheus::Family<prometheus::Counter>& tls_reloads_;
  prometheus::Counter& refused_store_busy_;
  prometheus::Gauge& store_queue_depth_;
  prometheus::Histogram& store_commit_seconds_;
  prometheus::Histogram& store_commit_calls_;
  prometheus::Histogram& ingest_seconds_;
  prometheus::Counter& store_calls_skipped_;
  prometheus::Counter& handshakes_abandoned_;
  prometheus::Gauge& handshakes_in_progress_;
  prometheus::Gauge& pending_heartbeats_;
  prometheus::Counter& heartbeats_coalesced_;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_INGEST_METRICS_H_
