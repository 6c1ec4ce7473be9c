// The [file_changes] section: files whose content is part of what the ATM
// runs (the application's configuration, a program), watched for changes.
#ifndef ATMHEALTH_AGENT_WATCH_FILE_CHANGE_CONFIG_H_
#define ATMHEALTH_AGENT_WATCH_FILE_CHANGE_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/config_section.h"
#include "agent/rules/rule.h"

namespace atmhealth::agent {

struct FileChangeConfig final : WatcherSettings {
  FileChangeConfig() { interval = std::chrono::seconds(60); }

  std::vector<std::string> paths;  // [file_changes] paths: absolute
  // [file_changes] max_file_bytes: a larger file is not hashed (a probe
  // failure says so): hashing runs on the sampler thread.
  std::uint64_t max_file_bytes = 64ull * 1024 * 1024;
  // [file_changes] severity of the notice of a change; category "program
  // update".
  ChangeSpec change{v1::FAILURE_CATEGORY_PROGRAM_UPDATE};

  std::vector<std::string> Describe() const override;
};

// Reads [file_changes]; nullptr when the file has none (the watcher is off).
Result<std::shared_ptr<const FileChangeConfig>> ReadFileChangeConfig(const ConfigSection& section);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_FILE_CHANGE_CONFIG_H_
