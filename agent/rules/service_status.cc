#include "agent/rules/service_status.h"

#include <algorithm>

namespace atmhealth::agent {
namespace {

bool Lists(const std::vector<v1::CustomerService>& services, v1::CustomerService service) {
  return std::find(services.begin(), services.end(), service) != services.end();
}

}  // namespace

std::vector<v1::ServiceStatus> ServiceStatuses(const RuleSet& rules,
                                               const std::vector<v1::CustomerService>& offered) {
  std::vector<v1::ServiceStatus> statuses;
  statuses.reserve(offered.size());
  for (v1::CustomerService service : offered) {
    const std::string* out_of_service = nullptr;
    const std::string* degraded = nullptr;
    for (const auto& [key, rule] : rules.rules()) {
      const v1::Severity firing = rule->firing_severity();
      if (firing != v1::SEVERITY_WARNING && firing != v1::SEVERITY_CRITICAL) continue;
      const Impact impact = rule->CurrentImpact();
      if (Lists(impact.unavailable, service)) {
        out_of_service = &rule->alert_key();
        break;
      }
      if (degraded == nullptr && Lists(impact.degraded, service)) degraded = &rule->alert_key();
    }
    v1::ServiceStatus& status = statuses.emplace_back();
    status.set_service(service);
    if (out_of_service != nullptr) {
      status.set_state(v1::SERVICE_STATE_OUT_OF_SERVICE);
      status.set_reason(*out_of_service);
    } else if (degraded != nullptr) {
      status.set_state(v1::SERVICE_STATE_DEGRADED);
      status.set_reason(*degraded);
    } else {
      status.set_state(v1::SERVICE_STATE_IN_SERVICE);
    }
  }
  return statuses;
}

}  // namespace atmhealth::agent
