// atmhealthd wired together: watchers → rules → event store → uplink.
//
//   sampler thread:  every storage.interval, watchers sample, rules evaluate,
//                    new events go to the store thread
//   store thread:    group commit into SQLite; the uplink reads from it
//   main thread:     the uplink session, signals, service-manager notices
#ifndef ATMHEALTH_AGENT_DAEMON_H_
#define ATMHEALTH_AGENT_DAEMON_H_

#include <memory>
#include <mutex>
#include <vector>

#include "agent/config.h"
#include "agent/rules/threshold_rule.h"
#include "agent/store_thread.h"
#include "agent/uplink/uplink.h"
#include "agent/watch/watcher.h"
#include "platform/filesystem_stats.h"

namespace atmhealth::agent {

class Daemon {
 public:
  // Opens the event buffer (creating its directory) and builds every stage.
  // Fails with a message naming what could not be set up.
  static Result<std::unique_ptr<Daemon>> Create(AgentConfig config);
  ~Daemon();

  // Runs until SIGTERM or SIGINT, then stops cleanly: sampling stops, every
  // queued event is committed, outstanding acknowledgements get a short grace.
  // Returns the process exit code.
  int Run();

 private:
  explicit Daemon(AgentConfig config);
  void ScheduleSample(std::chrono::milliseconds delay);
  void SampleOnce();
  std::vector<v1::ServiceStatus> CurrentServices() const;
  v1::Event AgentNotice(v1::Severity severity, std::string summary) const;

  AgentConfig config_;
  asio::io_context io_;
  std::unique_ptr<platform::FilesystemProbe> probe_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
  RuleSet rules_;  // sampler thread only
  std::unique_ptr<StoreThread> store_;
  std::unique_ptr<Uplink> uplink_;
  asio::thread_pool sampler_{1};
  asio::steady_timer sample_timer_{sampler_.get_executor()};
  bool sampling_ = true;  // sampler thread only; false once stopping
  mutable std::mutex services_mutex_;
  std::vector<v1::ServiceStatus> services_;  // guarded by services_mutex_
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_DAEMON_H_
