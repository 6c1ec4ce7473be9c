// [diagnostics]: the evidence the agent gathers when an alert fires
// (agent/diagnostics/snapshotter.h). On by default with the watchers' own
// facts (the largest directories of a filesystem that fills up); commands
// and files are added by the bank:
//
//   [diagnostics]
//   max_pending = 4                # snapshots waiting; more are skipped and counted
//   top_directories = 5            # 0: no directory walk
//   walk_entries = 200000
//   walk_time_limit = "5s"
//
//   [[diagnostics.command]]
//   name = "dmesg"
//   command = ["dmesg", "--level=err,warn"]
//   time_limit = "5s"
//   kinds = ["raid", "storage"]    # only for these alerts; absent: every alert
//
//   [[diagnostics.file]]
//   name = "atm_app_log"
//   path = "/var/log/atm/app.log"  # its last 1000 bytes
#ifndef ATMHEALTH_AGENT_DIAGNOSTICS_DIAGNOSTICS_CONFIG_H_
#define ATMHEALTH_AGENT_DIAGNOSTICS_DIAGNOSTICS_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "atmhealth/v1/event.pb.h"
#include "platform/command_runner.h"
#include "platform/status.h"

namespace atmhealth::agent {

class ConfigSection;

// A command run, or a file read, for the snapshot of an alert.
struct DiagnosticSource {
  std::string name;  // its context key is "command.<name>" or "file.<name>"
  // The alerts it is taken for; empty: every alert.
  std::vector<v1::AlertKind> kinds;
  platform::CommandSpec command;  // a [[diagnostics.command]]
  std::string path;               // a [[diagnostics.file]]

  bool AppliesTo(v1::AlertKind kind) const;
};

struct DiagnosticsConfig {
  bool enabled = true;          // [diagnostics] enabled
  std::size_t max_pending = 4;  // snapshots queued or being taken
  std::size_t top_directories = 5;
  std::uint64_t walk_entries = 200000;
  std::chrono::milliseconds walk_time_limit{5000};
  std::vector<DiagnosticSource> commands;
  std::vector<DiagnosticSource> files;

  // The longest one snapshot may take: the walk and every command at its
  // time limit (files are read in bounded size). The watchdog's period must
  // be longer.
  std::chrono::milliseconds LongestSnapshot() const;
  // One line per source, for --check-config.
  std::vector<std::string> Describe() const;
};

// Reads [diagnostics]; an absent section keeps the defaults. Errors name
// file, line and key.
Status ReadDiagnostics(const ConfigSection& section, DiagnosticsConfig& out);

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_DIAGNOSTICS_DIAGNOSTICS_CONFIG_H_
