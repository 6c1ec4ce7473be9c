// The checks a frame from an agent must pass before the collector acts on it.
// Each returns an Error (kInvalidArgument) whose message names the field, e.g.
// `batch.events[2] (seq 17): summary is 600 bytes, at most 512`, which the
// session sends back in its Refusal and logs.
#ifndef ATMHEALTH_COLLECTOR_INGEST_MESSAGE_VALIDATION_H_
#define ATMHEALTH_COLLECTOR_INGEST_MESSAGE_VALIDATION_H_

#include <cstddef>
#include <string_view>

#include "atmhealth/v1/session.pb.h"
#include "platform/status.h"

namespace atmhealth::collector {

// Limits of the schema (proto/atmhealth/v1/*.proto), in bytes or entries.
inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxEventsPerBatch = 1000;
inline constexpr std::size_t kMaxSummaryBytes = 512;
inline constexpr std::size_t kMaxSubjectBytes = 256;
inline constexpr std::size_t kMaxContextEntries = 32;
inline constexpr std::size_t kMaxContextKeyBytes = 64;
inline constexpr std::size_t kMaxContextValueBytes = 1024;
inline constexpr std::size_t kMaxServicesPerHeartbeat = 32;

// A device or site id: 1..64 characters of [A-Za-z0-9._-].
bool IsValidId(std::string_view id);

// Device identity and kind. The protocol version is checked by the session,
// because an unsupported one has its own Refusal reason.
Status ValidateHello(const v1::Hello& hello);

// 1..kMaxEventsPerBatch events, each with seq > 0, strictly increasing within
// the batch, every enum set to a known value other than UNSPECIFIED, and the
// text fields within the schema's limits.
Status ValidateEventBatch(const v1::EventBatch& batch);

// Every service status names a known service and state.
Status ValidateHeartbeat(const v1::Heartbeat& heartbeat);

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_INGEST_MESSAGE_VALIDATION_H_
