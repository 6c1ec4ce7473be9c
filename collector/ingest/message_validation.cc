#include "collector/ingest/message_validation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace atmhealth::collector {
namespace {

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

// A value of a proto3 (open) enum other than its UNSPECIFIED zero. Values
// this collector does not know pass: a newer agent may send them, and the
// store keeps them as `unknown(<number>)` (docs/collector-database.md).
bool IsSpecified(int value) { return value != 0; }

Status CheckBytes(std::string_view where, std::string_view field, std::size_t size,
                  std::size_t limit) {
  if (size <= limit) return OkStatus();
  return Invalid(fmt::format("{}: {} is {} bytes, at most {}", where, field, size, limit));
}

Status ValidateId(std::string_view id, std::string_view field) {
  if (id.empty()) return Invalid(fmt::format("{}: is empty", field));
  if (id.size() > kMaxIdLength) {
    return Invalid(fmt::format("{}: is {} characters, at most {}", field, id.size(), kMaxIdLength));
  }
  if (!IsValidId(id)) {
    return Invalid(fmt::format("{}: \"{}\" has characters outside [A-Za-z0-9._-]", field, id));
  }
  return OkStatus();
}

// `index` is the event's place in its batch. The place is put into words only
// for a message: a valid event (nearly every one) costs no formatting.
Status ValidateEvent(const v1::Event& event, int index) {
  const auto where = [&event, index] {
    return fmt::format("batch.events[{}] (seq {})", index, event.seq());
  };
  if (!IsSpecified(event.severity())) {
    return Invalid(
        fmt::format("{}: severity {} is unspecified", where(), static_cast<int>(event.severity())));
  }
  if (!IsSpecified(event.kind())) {
    return Invalid(
        fmt::format("{}: kind {} is unspecified", where(), static_cast<int>(event.kind())));
  }
  if (!IsSpecified(event.state())) {
    return Invalid(
        fmt::format("{}: state {} is unspecified", where(), static_cast<int>(event.state())));
  }
  if (!IsSpecified(event.unit())) {
    return Invalid(
        fmt::format("{}: unit {} is unspecified", where(), static_cast<int>(event.unit())));
  }
  if (!IsSpecified(event.category())) {
    return Invalid(
        fmt::format("{}: category {} is unspecified", where(), static_cast<int>(event.category())));
  }
  if (event.boot_id().size() > wire::kMaxBootIdBytes) {
    return CheckBytes(where(), "boot_id", event.boot_id().size(), wire::kMaxBootIdBytes);
  }
  if (event.alert_key().size() > wire::kMaxAlertKeyBytes) {
    return CheckBytes(where(), "alert_key", event.alert_key().size(), wire::kMaxAlertKeyBytes);
  }
  for (const auto& [name, list] : {std::pair{"impact.unavailable", &event.impact().unavailable()},
                                   std::pair{"impact.degraded", &event.impact().degraded()}}) {
    if (static_cast<std::size_t>(list->size()) > wire::kMaxImpactEntries) {
      return Invalid(fmt::format("{}: {} has {} entries, at most {}", where(), name, list->size(),
                                 wire::kMaxImpactEntries));
    }
  }
  if (event.summary().size() > kMaxSummaryBytes) {
    return Invalid(fmt::format("{}: summary is {} bytes, at most {}", where(),
                               event.summary().size(), kMaxSummaryBytes));
  }
  if (event.subject().size() > kMaxSubjectBytes) {
    return Invalid(fmt::format("{}: subject is {} bytes, at most {}", where(),
                               event.subject().size(), kMaxSubjectBytes));
  }
  if (static_cast<std::size_t>(event.context_size()) > kMaxContextEntries) {
    return Invalid(fmt::format("{}: context has {} entries, at most {}", where(),
                               event.context_size(), kMaxContextEntries));
  }
  for (int i = 0; i < event.context_size(); ++i) {
    const v1::ContextEntry& entry = event.context(i);
    if (entry.key().size() > kMaxContextKeyBytes) {
      return Invalid(fmt::format("{}: context[{}].key is {} bytes, at most {}", where(), i,
                                 entry.key().size(), kMaxContextKeyBytes));
    }
    if (entry.value().size() > kMaxContextValueBytes) {
      return Invalid(fmt::format("{}: context[{}].value is {} bytes, at most {}", where(), i,
                                 entry.value().size(), kMaxContextValueBytes));
    }
  }
  for (const int service : event.impact().unavailable()) {
    if (!IsSpecified(service)) {
      return Invalid(
          fmt::format("{}: impact.unavailable holds {} (unspecified)", where(), service));
    }
  }
  for (const int service : event.impact().degraded()) {
    if (!IsSpecified(service)) {
      return Invalid(fmt::format("{}: impact.degraded holds {} (unspecified)", where(), service));
    }
  }
  return OkStatus();
}

}  // namespace

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (const char c : id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

Status ValidateHello(const v1::Hello& hello) {
  if (!hello.has_device()) return Invalid("hello.device: is missing");
  if (Status status = ValidateId(hello.device().device_id(), "hello.device.device_id"); !status) {
    return status;
  }
  if (Status status = ValidateId(hello.device().site_id(), "hello.device.site_id"); !status) {
    return status;
  }
  if (Status s = CheckBytes("hello", "agent_version", hello.agent_version().size(),
                            wire::kMaxAgentVersionBytes);
      !s) {
    return s;
  }
  if (!wire::IsValidBufferId(hello.buffer_id())) {
    return Invalid(fmt::format("hello.buffer_id: is not {} lowercase hex digits ({} bytes)",
                               wire::kBufferIdHexDigits, hello.buffer_id().size()));
  }
  if (!IsSpecified(hello.device().kind())) {
    return Invalid(fmt::format("hello.device.kind: {} is unspecified",
                               static_cast<int>(hello.device().kind())));
  }
  return OkStatus();
}

Status ValidateEventBatch(const v1::EventBatch& batch, std::size_t max_events,
                          std::uint64_t* refused_seq) {
  std::uint64_t ignored = 0;
  if (refused_seq == nullptr) refused_seq = &ignored;
  *refused_seq = 0;
  max_events = std::min(max_events, kMaxEventsPerBatch);
  const auto count = static_cast<std::size_t>(batch.events_size());
  if (count == 0) return Invalid("batch: has no events");
  if (count > max_events) {
    return Invalid(fmt::format("batch: has {} events, at most {}", count, max_events));
  }
  std::uint64_t previous_seq = 0;
  for (int i = 0; i < batch.events_size(); ++i) {
    const v1::Event& event = batch.events(i);
    if (event.seq() == 0) {
      return Invalid(fmt::format("batch.events[{}] (seq 0): seq must be above 0", i));
    }
    if (event.seq() > wire::kMaxSequence) {
      return Invalid(
          fmt::format("batch.events[{}] (seq {}): seq is above the highest sequence "
                      "2^63-1",
                      i, event.seq()));
    }
    if (event.seq() <= previous_seq) {
      return Invalid(
          fmt::format("batch.events[{}] (seq {}): seq is not above the previous "
                      "event's seq {}",
                      i, event.seq(), previous_seq));
    }
    previous_seq = event.seq();
    if (Status status = ValidateEvent(event, i); !status) {
      *refused_seq = event.seq();
      return status;
    }
  }
  return OkStatus();
}

// A measure of the feed: a finite number, not below 0 (a ratio at most 1).
Status CheckMeasure(std::string_view where, std::string_view field, double value,
                    double most = std::numeric_limits<double>::max()) {
  if (std::isfinite(value) && value >= 0 && value <= most) return OkStatus();
  return Invalid(fmt::format("{}: {} is {}, not a number in [0, {}]", where, field, value, most));
}

Status ValidateFeedHealth(const v1::FeedHealth& feed) {
  constexpr std::string_view kWhere = "heartbeat.health.feed";
  if (static_cast<std::size_t>(feed.bad_lines_size()) > wire::kMaxFeedReasons) {
    return Invalid(fmt::format("{}.bad_lines: has {} entries, at most {}", kWhere,
                               feed.bad_lines_size(), wire::kMaxFeedReasons));
  }
  for (int i = 0; i < feed.bad_lines_size(); ++i) {
    if (Status s = CheckBytes(fmt::format("{}.bad_lines[{}]", kWhere, i), "reason",
                              feed.bad_lines(i).reason().size(), wire::kMaxFeedReasonBytes);
        !s) {
      return s;
    }
  }
  if (static_cast<std::size_t>(feed.types_size()) > wire::kMaxFeedTypes) {
    return Invalid(fmt::format("{}.types: has {} entries, at most {}", kWhere, feed.types_size(),
                               wire::kMaxFeedTypes));
  }
  const auto check_load = [](const std::string& where, double tps, double error_ratio,
                             double p99_ms) -> Status {
    if (Status s = CheckMeasure(where, "tps", tps); !s) return s;
    if (Status s = CheckMeasure(where, "error_ratio", error_ratio, 1); !s) return s;
    return CheckMeasure(where, "p99_ms", p99_ms);
  };
  if (Status s = check_load(std::string(kWhere), feed.tps(), feed.error_ratio(), feed.p99_ms());
      !s) {
    return s;
  }
  for (int i = 0; i < feed.types_size(); ++i) {
    const v1::FeedTypeThroughput& type = feed.types(i);
    const std::string where = fmt::format("{}.types[{}]", kWhere, i);
    if (Status s = CheckBytes(where, "type", type.type().size(), wire::kMaxFeedTypeBytes); !s) {
      return s;
    }
    if (Status s = check_load(where, type.tps(), type.error_ratio(), type.p99_ms()); !s) return s;
  }
  return OkStatus();
}

Status ValidateHeartbeat(const v1::Heartbeat& heartbeat) {
  if (static_cast<std::size_t>(heartbeat.services_size()) > kMaxServicesPerHeartbeat) {
    return Invalid(fmt::format("heartbeat.services: has {} entries, at most {}",
                               heartbeat.services_size(), kMaxServicesPerHeartbeat));
  }
  for (int i = 0; i < heartbeat.services_size(); ++i) {
    const v1::ServiceStatus& status = heartbeat.services(i);
    if (!IsSpecified(status.service())) {
      return Invalid(fmt::format("heartbeat.services[{}].service: {} is unspecified", i,
                                 static_cast<int>(status.service())));
    }
    if (!IsSpecified(status.state())) {
      return Invalid(fmt::format("heartbeat.services[{}].state: {} is unspecified", i,
                                 static_cast<int>(status.state())));
    }
    if (Status s = CheckBytes(fmt::format("heartbeat.services[{}]", i), "reason",
                              status.reason().size(), wire::kMaxServiceReasonBytes);
        !s) {
      return s;
    }
  }
  if (heartbeat.health().has_feed()) return ValidateFeedHealth(heartbeat.health().feed());
  return OkStatus();
}

}  // namespace atmhealth::collector
