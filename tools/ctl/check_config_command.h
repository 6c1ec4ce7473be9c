// `atmhealthctl check-config -c FILE`: the daemon's own checks
// (agent/config_check.h), every problem named with file:line.
#ifndef ATMHEALTH_TOOLS_CTL_CHECK_CONFIG_COMMAND_H_
#define ATMHEALTH_TOOLS_CTL_CHECK_CONFIG_COMMAND_H_

#include <ostream>
#include <string>

namespace atmhealth::ctl {

// Writes what the config would do to `out` and each problem to `err`;
// returns 0 when it is valid, 2 when it is not or cannot be read.
int RunCheckConfig(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_CHECK_CONFIG_COMMAND_H_
