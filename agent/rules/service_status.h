// Which customer services of the device work right now, derived from the
// alerts that fire: what heartbeats tell the collector, so that customers can
// be sent to a working ATM during an outage.
#ifndef ATMHEALTH_AGENT_RULES_SERVICE_STATUS_H_
#define ATMHEALTH_AGENT_RULES_SERVICE_STATUS_H_

#include <vector>

#include "agent/rules/rule_set.h"
#include "atmhealth/v1/device.pb.h"
#include "atmhealth/v1/session.pb.h"

namespace atmhealth::agent {

// One status per offered service, in the order offered:
//   OUT_OF_SERVICE when a firing alert's current impact lists the service as
//     unavailable (a critical threshold alert, a state whose outcome says so);
//   DEGRADED when any firing alert degrades it (a threshold warning degrades
//     the services its critical level would make unavailable);
//   IN_SERVICE otherwise.
// `reason` is the alert_key responsible (the first in key order when several
// are), empty when in service.
std::vector<v1::ServiceStatus> ServiceStatuses(const RuleSet& rules,
                                               const std::vector<v1::CustomerService>& offered);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_RULES_SERVICE_STATUS_H_
