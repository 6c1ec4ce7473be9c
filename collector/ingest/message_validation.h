// The checks a frame from an agent must pass before the collector acts on it.
// Each returns an Error (kInvalidArgument) whose message names the field, e.g.
// `batch.events[2] (seq 17): summary is 600 bytes, at most 512`, which the
// session sends back in its Refusal and logs.
#ifndef ATMHEALTH_COLLECTOR_INGEST_MESSAGE_VALIDATION_H_
#define ATMHEALTH_COLLECTOR_INGEST_MESSAGE_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "atmhealth/v1/session.pb.h"
#include "platform/status.h"
#include "proto/schema_limits.h"

namespace atmhealth::collector {

// The schema's limits (proto/schema_limits.h), under the names this layer
// has always used.
inline constexpr std::size_t kMaxIdLength = wire::kMaxIdBytes;
inline constexpr std::size_t kMaxEventsPerBatch = wire::kMaxEventsPerBatch;
inline constexpr std::size_t kMaxSummaryBytes = wire::kMaxSummaryBytes;
inline constexpr std::size_t kMaxSubjectBytes = wire::kMaxSubjectBytes;
inline constexpr std::size_t kMaxContextEntries = wire::kMaxContextEntries;
inline constexpr std::size_t kMaxContextKeyBytes = wire::kMaxContextKeyBytes;
inline constexpr std::size_t kMaxContextValueBytes = wire::kMaxContextValueBytes;
inline constexpr std::size_t kMaxServicesPerHeartbeat = wire::kMaxServicesPerHeartbeat;

// A device or site id: 1..64 characters of [A-Za-z0-9._-].
bool IsValidId(std::string_view id);

// Device identity and kind, agent version and buffer id. The protocol
// version is checked by the session, because an unsupported one has its own
// Refusal reason.
Status ValidateHello(const v1::Hello& hello);

// 1..max_events events (at most kMaxEventsPerBatch), each with seq in
// 1..2^63-1, strictly increasing within the batch, every enum set to a value
// other than UNSPECIFIED, and the text fields and lists within the schema's
// limits. An enum value this collector does not know (from a newer agent)
// passes: it is stored as `unknown(<number>)`, never refused, so that a newer
// agent cannot block its own queue. When one event is at fault, its seq is
// written to *refused_seq (0 otherwise), for Refusal.refused_seq.
Status ValidateEventBatch(const v1::EventBatch& batch, std::size_t max_events = kMaxEventsPerBatch,
                          std::uint64_t* refused_seq = nullptr);

// At most kMaxServicesPerHeartbeat services, each with a service and a state
// other than UNSPECIFIED (unknown values pass) and a reason within its limit.
Status ValidateHeartbeat(const v1::Heartbeat& heartbeat);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_MESSAGE_VALIDATION_H_
