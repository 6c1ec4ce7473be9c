// What `atmhealthd --check-config` and `atmhealthctl check-config` report:
// the same checks in both, so an engineer's check says what the daemon
// would say at start.
#ifndef ATMHEALTH_AGENT_CONFIG_CHECK_H_
#define ATMHEALTH_AGENT_CONFIG_CHECK_H_

#include <string>
#include <vector>

#include "agent/config.h"
#include "platform/status.h"

namespace atmhealth::agent {

struct ConfigCheck {
  std::vector<std::string> description;  // what would be watched and where it goes, a line each
  std::vector<Error> problems;           // each naming file:line where there is one
  bool ok() const { return problems.empty(); }
};

// The checks of a config that parsed: the TLS files load and belong together
// (a key that does not match its certificate is found now, not at the first
// connection), and what it would do.
ConfigCheck CheckAgentConfig(const AgentConfig& config);

// Exit codes of --check-config: the configuration is valid, or it is not (or
// could not be read).
inline constexpr int kConfigValid = 0;
inline constexpr int kConfigInvalid = 2;

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_CONFIG_CHECK_H_
