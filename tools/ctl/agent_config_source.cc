#include "tools/ctl/agent_config_source.h"

#include <filesystem>
#include <system_error>

namespace atmhealth::ctl {

Result<agent::AgentConfig> LoadAgentConfigFor(const std::string& config_path) {
  if (!config_path.empty()) return agent::LoadAgentConfig(config_path);
  std::error_code error;
  if (std::filesystem::exists(kPackagedAgentConfig, error)) {
    return agent::LoadAgentConfig(kPackagedAgentConfig);
  }
  return agent::DefaultAgentConfig();
}

}  // namespace atmhealth::ctl
