// The limits the schema (proto/atmhealth/v1/*.proto) documents, in one place
// for both ends: the collector refuses what breaks them, the agent never
// sends it (it cuts text to the limit and marks the cut).
#ifndef ATMHEALTH_PROTO_SCHEMA_LIMITS_H_
#define ATMHEALTH_PROTO_SCHEMA_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "atmhealth/v1/event.pb.h"

namespace atmhealth::wire {

// Bytes, unless the name says entries or events.
inline constexpr std::size_t kMaxIdBytes = 64;  // device_id, site_id, collector_id
inline constexpr std::size_t kMaxAgentVersionBytes = 64;
inline constexpr std::size_t kMaxBootIdBytes = 64;
inline constexpr std::size_t kMaxSubjectBytes = 256;
inline constexpr std::size_t kMaxAlertKeyBytes = 320;
inline constexpr std::size_t kMaxSummaryBytes = 512;
inline constexpr std::size_t kMaxContextEntries = 32;
inline constexpr std::size_t kMaxContextKeyBytes = 64;
inline constexpr std::size_t kMaxContextValueBytes = 1024;
inline constexpr std::size_t kMaxImpactEntries = 16;  // each of unavailable, degraded
inline constexpr std::size_t kMaxServicesPerHeartbeat = 32;
inline constexpr std::size_t kMaxServiceReasonBytes = kMaxAlertKeyBytes;
// AgentHealth.feed (FeedHealth): refused-line reasons and transaction types.
inline constexpr std::size_t kMaxFeedReasons = 32;
inline constexpr std::size_t kMaxFeedReasonBytes = 32;
inline constexpr std::size_t kMaxFeedTypes = 256;  // the agent's highest max_types
inline constexpr std::size_t kMaxFeedTypeBytes = 128;
// Events in one EventBatch; a collector may announce fewer in Welcome.
inline constexpr std::size_t kMaxEventsPerBatch = 1000;
// The highest sequence: the largest SQLite integer, 2^63 - 1.
inline constexpr std::uint64_t kMaxSequence =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
// Hello.buffer_id: lowercase hex digits (128 bits); empty from older agents.
inline constexpr std::size_t kBufferIdHexDigits = 32;

// Appended where text was cut to its limit: U+2026 HORIZONTAL ELLIPSIS.
inline constexpr std::string_view kCutMarker = "\xE2\x80\xA6";

// `text` as valid UTF-8 of at most `max_bytes`: invalid bytes become U+FFFD
// (protobuf strings must be UTF-8; a mount path may hold any bytes), and
// text that does not fit is cut at a character boundary and ends in
// kCutMarker.
std::string SchemaText(std::string_view text, std::size_t max_bytes);

// Brings every text field and list of `event` within the limits above,
// marking each cut. Returns whether anything changed.
bool ClampEventToSchema(v1::Event& event);

// Makes `event` serialize to at most `max_bytes` by removing context entries
// from the end, then cutting the summary; each cut is marked in the summary.
// Returns false if it still does not fit (max_bytes below about 1 KiB).
bool FitEventInBytes(v1::Event& event, std::size_t max_bytes);

// 32 lowercase hex digits from the system's random source.
std::string NewBufferId();

// Empty or kBufferIdHexDigits of [0-9a-f].
bool IsValidBufferId(std::string_view id);

}  // namespace atmhealth::wire

#endif  // ATMHEALTH_PROTO_SCHEMA_LIMITS_H_
