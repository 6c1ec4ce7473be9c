#include "tools/ctl/check_config_command.h"

#include <vector>

#include "agent/config.h"
#include "agent/config_check.h"

namespace atmhealth::ctl {

int RunCheckConfig(const std::string& path, std::ostream& out, std::ostream& err) {
  std::vector<Error> problems;
  Result<agent::AgentConfig> config = agent::LoadAgentConfig(path, &problems);
  if (config.ok()) {
    const agent::ConfigCheck check = agent::CheckAgentConfig(*config);
    for (const std::string& line : check.description) out << line << "\n";
    problems = check.problems;
  } else if (problems.empty()) {
    problems.push_back(config.error());
  }
  for (const Error& problem : problems) err << problem.message() << "\n";
  if (!problems.empty()) {
    err << path << ": " << problems.size() << (problems.size() == 1 ? " problem" : " problems")
        << "\n";
  }
  out.flush();
  return problems.empty() ? agent::kConfigValid : agent::kConfigInvalid;
}

}  // namespace atmhealth::ctl
