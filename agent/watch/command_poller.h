// Runs one command again and again on a thread of its own, so that a command
// that hangs (a cluster stack stuck on a lost node, a RAID controller's CLI
// waiting on its firmware) never holds the sampler: the watcher samples the
// latest finished run. The cluster watcher's crm_mon and each check of the
// command watcher run this way.
#ifndef ATMHEALTH_AGENT_WATCH_COMMAND_POLLER_H_
#define ATMHEALTH_AGENT_WATCH_COMMAND_POLLER_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "platform/asio.h"
#include "platform/command_runner.h"
#include "platform/status.h"

namespace atmhealth::agent {

class CommandPoller {
 public:
  // One finished run of the command.
  struct Run {
    // What RunCommand returned: an error when it could not start.
    Result<platform::CommandOutcome> outcome = platform::CommandOutcome{};
    std::uint64_t number = 0;    // 1 for the first run, then counting up
    std::uint64_t timeouts = 0;  // runs killed at their time limit so far
  };

  // Runs `command` at once and then `interval` after each run ends, each
  // run bounded by the command's time limit.
  CommandPoller(platform::CommandSpec command, std::chrono::milliseconds interval);
  // Stops polling; waits for a run in progress, which ends at its time
  // limit at the latest.
  ~CommandPoller();
  CommandPoller(const CommandPoller&) = delete;
  CommandPoller& operator=(const CommandPoller&) = delete;

  const platform::CommandSpec& command() const { return command_; }
  // The latest finished run; nullopt until the first one ends. Thread-safe.
  std::optional<Run> Latest() const;
  // The poller's thread, for the watchdog to prove alive: it is busy for at
  // most the command's time limit at a time.
  asio::any_io_executor executor() { return pool_.get_executor(); }

 private:
  void Schedule(std::chrono::milliseconds delay);
  void RunOnce();

  const platform::CommandSpec command_;
  const std::chrono::milliseconds interval_;
  asio::thread_pool pool_{1};
  asio::steady_timer timer_{pool_.get_executor()};
  bool stopping_ = false;  // the poller's thread only
  mutable std::mutex mutex_;
  std::optional<Run> latest_;  // guarded by mutex_
  std::uint64_t runs_ = 0;     // the poller's thread only
  std::uint64_t timeouts_ = 0;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_COMMAND_POLLER_H_
