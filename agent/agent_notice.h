// The one builder of the events the agent records about itself
// (ALERT_KIND_AGENT_HEALTH notices): started, events dropped, a buffer set
// aside. Each is a one-off notice, stamped with both clocks.
#ifndef ATMHEALTH_AGENT_AGENT_NOTICE_H_
#define ATMHEALTH_AGENT_AGENT_NOTICE_H_

#include <string>
#include <string_view>

#include "atmhealth/v1/event.pb.h"
#include "platform/clock.h"

namespace atmhealth::agent {

// A notice about `subject` ("atmhealthd", "event_buffer"), alert key
// "agent_health:<subject>", unit count, value 0 until the caller sets one.
v1::Event AgentNotice(const platform::Clock& clock, v1::Severity severity,
                      v1::FailureCategory category, std::string_view subject, std::string summary);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_AGENT_NOTICE_H_
