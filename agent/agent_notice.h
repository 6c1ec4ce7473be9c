// The one builder of the agent's one-off notices, stamped with both clocks:
// what it records about itself (ALERT_KIND_AGENT_HEALTH: started, events
// dropped, a buffer set aside), diagnostic snapshots, watched files that
// changed.
#ifndef ATMHEALTH_AGENT_AGENT_NOTICE_H_
#define ATMHEALTH_AGENT_AGENT_NOTICE_H_

#include <string>
#include <string_view>

#include "atmhealth/v1/event.pb.h"
#include "platform/clock.h"

namespace atmhealth::agent {

// A notice of `kind` about `subject`, alert key "<kind>:<subject>", unit
// count, value 0 until the caller sets one.
v1::Event Notice(const platform::Clock& clock, v1::Severity severity, v1::AlertKind kind,
                 v1::FailureCategory category, std::string_view subject, std::string summary);

// A notice about `subject` ("atmhealthd", "event_buffer"), alert key
// "agent_health:<subject>", unit count, value 0 until the caller sets one.
v1::Event AgentNotice(const platform::Clock& clock, v1::Severity severity,
                      v1::FailureCategory category, std::string_view subject, std::string summary);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_AGENT_NOTICE_H_
