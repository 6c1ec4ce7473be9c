// What every watcher of redundant things (RAID arrays, bonds, link groups,
// clusters) shares: the state rule its section configures, and the health of
// the source it reads (a file under /proc or /sys, a command).
#ifndef ATMHEALTH_AGENT_WATCH_REDUNDANCY_RULE_H_
#define ATMHEALTH_AGENT_WATCH_REDUNDANCY_RULE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "agent/config_section.h"
#include "agent/rules/rule.h"
#include "agent/watch/measurement.h"
#include "platform/command_runner.h"
#include "platform/status.h"

namespace atmhealth::agent {

// Reads `for` (how long a state must hold before it fires) and the
// `[<section>.states]` table (severity and customer impact of each state)
// into `spec`. Services must be among `offered`.
Status ReadRedundancyRule(const ConfigSection& section,
                          const std::vector<v1::CustomerService>& offered, StateSpec& spec);

// Reads a "proc_root" or "sys_root" key: where a watcher finds /proc or
// /sys (a fixture tree in tests, the host's in a container). Must be an
// absolute path.
Status ReadRoot(const ConfigSection& section, std::string_view key, std::string& out);

// Reads a command source's "command" (its argv: a program and its
// arguments, never run by a shell), "time_limit" (a duration; the command's
// process group is killed when it is reached) and "output_limit" (a byte
// size; the rest of its output is thrown away) into `spec`. The command is
// required unless `spec` already has one.
Status ReadCommand(const ConfigSection& section, platform::CommandSpec& spec);

// "degraded warning, recovering warning, ..., down critical (unavailable:
// withdrawal)": the states that alert, for --check-config.
std::string DescribeStates(const StateSpec& spec);

// A state rule of the redundancy category with the states of `settings`.
RuleDefinition RedundancyRule(v1::AlertKind kind, std::string subject, const StateSpec& spec);

// The health of one source a watcher reads: ALERT_KIND_AGENT_HEALTH
// `probe:<source>`, 1 while reading or parsing it fails (the error, naming file
// and line, and the count of failed reads as context), 0 once it works. A
// failure is logged when it starts and when it ends, not at every sample.
// Not thread-safe.
class SourceHealth {
 public:
  // `source` names what is read ("/proc/mdstat", "crm_mon"); the subject
  // is "probe:<source>", as for the storage watcher's probes.
  SourceHealth(std::string watcher, std::string source)
      : watcher_(std::move(watcher)), source_(std::move(source)), subject_("probe:" + source_) {}

  Measurement Failed(const Error& error);
  Measurement Worked();
  // Critical at once, category DAILY_OPERATION_RECOVERY: the agent is blind
  // to this source, so a failure would be found late.
  RuleDefinition Rule() const;

  const std::string& subject() const { return subject_; }
  std::uint64_t failures() const { return failures_; }  // failed reads since start

 private:
  std::string watcher_;
  std::string source_;
  std::string subject_;
  bool failing_ = false;
  std::uint64_t failures_ = 0;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_REDUNDANCY_RULE_H_
