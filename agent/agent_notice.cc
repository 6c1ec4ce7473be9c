#include "agent/agent_notice.h"

#include <fmt/format.h>

#include "proto/names.h"

namespace atmhealth::agent {

v1::Event Notice(const platform::Clock& clock, v1::Severity severity, v1::AlertKind kind,
                 v1::FailureCategory category, std::string_view subject, std::string summary) {
  v1::Event event;
  event.set_wall_time_unix_ns(platform::UnixNanos(clock.WallNow()));
  event.set_monotonic_ns(platform::MonotonicNanos(clock.MonotonicNow()));
  event.set_boot_id(platform::BootId());
  event.set_severity(severity);
  event.set_kind(kind);
  event.set_state(v1::ALERT_STATE_NOTICE);
  event.set_subject(std::string(subject));
  event.set_alert_key(fmt::format("{}:{}", wire::ShortName(kind), subject));
  event.set_unit(v1::UNIT_COUNT);
  event.set_category(category);
  event.set_summary(std::move(summary));
  return event;
}

v1::Event AgentNotice(const platform::Clock& clock, v1::Severity severity,
                      v1::FailureCategory category, std::string_view subject, std::string summary) {
  return Notice(clock, severity, v1::ALERT_KIND_AGENT_HEALTH, category, subject,
                std::move(summary));
}

}  // namespace atmhealth::agent
