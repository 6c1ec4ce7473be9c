#include "agent/config_reload.h"

namespace atmhealth::agent {

std::vector<std::string> SettingsNeedingRestart(const AgentConfig& running,
                                                const AgentConfig& loaded) {
  std::vector<std::string> changed;
  if (!(running.device == loaded.device)) changed.push_back("[device]");
  if (!(running.store == loaded.store)) changed.push_back("[store]");
  if (!(running.control == loaded.control)) changed.push_back("[control]");
  LogConfig log = loaded.log;
  log.level = running.log.level;  // applied live
  if (!(running.log == log)) changed.push_back("[log] file, max_file_bytes, max_files");
  return changed;
}

}  // namespace atmhealth::agent
