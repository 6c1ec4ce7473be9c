// The command watcher: checks that are programs (a vendor RAID controller's
// CLI, a multipath check, a cluster tool), each run on a thread of its own
// without a shell, bounded in time and output; the exit status says the
// state, the first line of output says why.
#ifndef ATMHEALTH_AGENT_WATCH_COMMAND_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_COMMAND_WATCHER_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "agent/watch/command_config.h"
#include "agent/watch/command_poller.h"
#include "agent/watch/redundancy_rule.h"
#include "agent/watch/watcher.h"
#include "agent/watch/watcher_registry.h"

namespace atmhealth::agent {

// Each Sample() appends, per [[command.check]] whose run finished since the
// last sample (a check runs at once, then `interval` after each run ends):
//   <kind> <name>  the exit status, expected the lowest status mapped to
//     redundant; state: exit_states[status] (by default 0 redundant,
//     1 degraded, 2 down). The first line of output is the event's summary
//     detail and the context's "output"; context also: source, exit_status,
//     command, elapsed_ms (and output_cut when it wrote more than its limit).
//   ALERT_KIND_AGENT_HEALTH probe:command:<name>  1 while the check fails
//     as a probe: it cannot start, is killed at its time limit ("killed
//     (SIGKILL) at its time limit of N ms"), is ended by a signal, or exits
//     with a status no state is given for (3 UNKNOWN by the plugin
//     convention); "timeouts" counts the runs killed so far. The check keeps
//     its state meanwhile.
// Sampled by one thread; each check's poller has its own.
class CommandWatcher final : public Watcher {
 public:
  explicit CommandWatcher(const CommandConfig& config);

  // The registry entry: [command], off unless the section is present.
  static WatcherKind Kind();

  std::string_view name() const override { return "command"; }
  void Sample(std::vector<Measurement>& out) override;
  std::vector<RuleDefinition> Rules() const override;
  std::vector<WatcherThread> Threads() const override;

  // What one finished run of `check` means: its state, or the error that
  // makes it a failed probe.
  static Result<Measurement> MeasureCheck(const CommandCheckConfig& check,
                                          const Result<platform::CommandOutcome>& outcome);

 private:
  struct Check {
    Check(const CommandCheckConfig& config_, std::chrono::milliseconds interval)
        : config(config_),
          source("command", "command:" + config.name),
          poller(config.command, interval) {}
    const CommandCheckConfig& config;
    SourceHealth source;
    CommandPoller poller;
    std::uint64_t last_run = 0;  // the run sampled last
  };

  CommandConfig config_;
  std::vector<std::unique_ptr<Check>> checks_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_COMMAND_WATCHER_H_
