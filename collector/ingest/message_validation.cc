#include "collector/ingest/message_validation.h"

#include <fmt/format.h>

#include <string>

namespace atmhealth::collector {
namespace {

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

// A known value of a proto3 (open) enum other than its UNSPECIFIED zero.
template <typename IsValid>
bool IsSpecified(int value, IsValid is_valid) {
  return value != 0 && is_valid(value);
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

Status ValidateEvent(const v1::Event& event, std::string_view where) {
  if (!IsSpecified(event.severity(), v1::Severity_IsValid)) {
    return Invalid(fmt::format("{}: severity {} is not a known severity", where,
                               static_cast<int>(event.severity())));
  }
  if (!IsSpecified(event.kind(), v1::AlertKind_IsValid)) {
    return Invalid(fmt::format("{}: kind {} is not a known alert kind", where,
                               static_cast<int>(event.kind())));
  }
  if (!IsSpecified(event.state(), v1::AlertState_IsValid)) {
    return Invalid(fmt::format("{}: state {} is not a known alert state", where,
                               static_cast<int>(event.state())));
  }
  if (!IsSpecified(event.unit(), v1::Unit_IsValid)) {
    return Invalid(
        fmt::format("{}: unit {} is not a known unit", where, static_cast<int>(event.unit())));
  }
  if (!IsSpecified(event.category(), v1::FailureCategory_IsValid)) {
    return Invalid(fmt::format("{}: category {} is not a known failure category", where,
                               static_cast<int>(event.category())));
  }
  if (event.summary().size() > kMaxSummaryBytes) {
    return Invalid(fmt::format("{}: summary is {} bytes, at most {}", where, event.summary().size(),
                               kMaxSummaryBytes));
  }
  if (event.subject().size() > kMaxSubjectBytes) {
    return Invalid(fmt::format("{}: subject is {} bytes, at most {}", where, event.subject().size(),
                               kMaxSubjectBytes));
  }
  if (static_cast<std::size_t>(event.context_size()) > kMaxContextEntries) {
    return Invalid(fmt::format("{}: context has {} entries, at most {}", where,
                               event.context_size(), kMaxContextEntries));
  }
  for (int i = 0; i < event.context_size(); ++i) {
    const v1::ContextEntry& entry = event.context(i);
    if (entry.key().size() > kMaxContextKeyBytes) {
      return Invalid(fmt::format("{}: context[{}].key is {} bytes, at most {}", where, i,
                                 entry.key().size(), kMaxContextKeyBytes));
    }
    if (entry.value().size() > kMaxContextValueBytes) {
      return Invalid(fmt::format("{}: context[{}].value is {} bytes, at most {}", where, i,
                                 entry.value().size(), kMaxContextValueBytes));
    }
  }
  for (const int service : event.impact().unavailable()) {
    if (!IsSpecified(service, v1::CustomerService_IsValid)) {
      return Invalid(fmt::format("{}: impact.unavailable holds {}, not a known customer service",
                                 where, service));
    }
  }
  for (const int service : event.impact().degraded()) {
    if (!IsSpecified(service, v1::CustomerService_IsValid)) {
      return Invalid(fmt::format("{}: impact.degraded holds {}, not a known customer service",
                                 where, service));
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
  if (!IsSpecified(hello.device().kind(), v1::DeviceKind_IsValid)) {
    return Invalid(fmt::format("hello.device.kind: {} is not a known device kind",
                               static_cast<int>(hello.device().kind())));
  }
  return OkStatus();
}

Status ValidateEventBatch(const v1::EventBatch& batch) {
  const auto count = static_cast<std::size_t>(batch.events_size());
  if (count == 0) return Invalid("batch: has no events");
  if (count > kMaxEventsPerBatch) {
    return Invalid(fmt::format("batch: has {} events, at most {}", count, kMaxEventsPerBatch));
  }
  std::uint64_t previous_seq = 0;
  for (int i = 0; i < batch.events_size(); ++i) {
    const v1::Event& event = batch.events(i);
    const std::string where = fmt::format("batch.events[{}] (seq {})", i, event.seq());
    if (event.seq() == 0) return Invalid(fmt::format("{}: seq must be above 0", where));
    if (event.seq() <= previous_seq) {
      return Invalid(
          fmt::format("{}: seq is not above the previous event's seq {}", where, previous_seq));
    }
    previous_seq = event.seq();
    if (Status status = ValidateEvent(event, where); !status) return status;
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
    if (!IsSpecified(status.service(), v1::CustomerService_IsValid)) {
      return Invalid(
          fmt::format("heartbeat.services[{}].service: {} is not a known customer service", i,
                      static_cast<int>(status.service())));
    }
    if (!IsSpecified(status.state(), v1::ServiceState_IsValid)) {
      return Invalid(fmt::format("heartbeat.services[{}].state: {} is not a known service state", i,
                                 static_cast<int>(status.state())));
    }
  }
  return OkStatus();
}

}  // namespace atmhealth::collector
