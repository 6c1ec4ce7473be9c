// Which agent configuration atmhealthctl reads: the one given with --config,
// else the packaged /etc/atmhealth/atmhealthd.toml when it exists, else the
// daemon's embedded defaults (as atmhealthd itself chooses).
#ifndef ATMHEALTH_TOOLS_CTL_AGENT_CONFIG_SOURCE_H_
#define ATMHEALTH_TOOLS_CTL_AGENT_CONFIG_SOURCE_H_

#include <string>

#include "agent/config.h"
#include "platform/status.h"

namespace atmhealth::ctl {

inline constexpr char kPackagedAgentConfig[] = "/etc/atmhealth/atmhealthd.toml";

// `config_path` empty: the packaged file, or the defaults without it.
Result<agent::AgentConfig> LoadAgentConfigFor(const std::string& config_path);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_AGENT_CONFIG_SOURCE_H_
