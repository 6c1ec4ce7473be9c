// atmhealthd wired together: watchers → rules → event store → uplink.
//
//   sampler thread:  each watcher samples at its own interval and its
//                    measurements are evaluated at once; every rule is also
//                    evaluated on time (kRuleTick); new events go to the
//                    store thread
//   store thread:    group commit into SQLite; the uplink reads from it
//   main thread:     the uplink session, signals, service-manager notices,
//                    the control socket (status gathered from each thread)
#ifndef ATMHEALTH_AGENT_DAEMON_H_
#define ATMHEALTH_AGENT_DAEMON_H_

#include <memory>
#include <mutex>
#include <vector>

#include "agent/config.h"
#include "agent/control/agent_status.h"
#include "agent/control/control_server.h"
#include "agent/rules/rule_set.h"
#include "agent/store_thread.h"
#include "agent/uplink/uplink.h"
#include "agent/watch/watcher.h"

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
  // One watcher and its own sampling timer (sampler thread only).
  struct ScheduledWatcher {
    std::unique_ptr<Watcher> watcher;
    std::chrono::milliseconds interval;
    std::unique_ptr<asio::steady_timer> timer;
    control::WatcherActivity activity;
  };

  void ScheduleSample(ScheduledWatcher& scheduled, std::chrono::milliseconds delay);
  void SampleOnce(ScheduledWatcher& scheduled);
  void ScheduleTick();
  // Updates the service statuses and hands `events` to the store.
  void Publish(std::vector<v1::Event> events);
  std::vector<v1::ServiceStatus> CurrentServices() const;
  // Binds the control socket; a failure is logged and the agent runs on
  // without it. Main thread.
  void OpenControl();
  // The answer to "status", gathered on the threads that own each part.
  // Main thread.
  asio::awaitable<nlohmann::json> StatusAnswer();
  // The answer to "drill": fires the drill's alert through the rules, waits
  // for the collector to acknowledge it, resolves it. Main thread.
  asio::awaitable<nlohmann::json> DrillAnswer(const nlohmann::json& request);
  // Waits until the collector acknowledged `seq` or `timeout` passed; the
  // "acknowledged" and "ack_ms" of a drill step. Main thread.
  asio::awaitable<nlohmann::json> AwaitAck(std::uint64_t seq, std::chrono::milliseconds timeout);

  AgentConfig config_;
  asio::io_context io_;
  RuleSet rules_;  // sampler thread only, once running
  std::unique_ptr<StoreThread> store_;
  std::unique_ptr<StoreThreadBaseline> baseline_store_;  // the store's, for the watchers
  std::unique_ptr<Uplink> uplink_;
  asio::thread_pool sampler_{1};
  asio::steady_timer tick_timer_{sampler_.get_executor()};
  // After sampler_: their timers go before the pool does.
  std::vector<ScheduledWatcher> watchers_;           // sampler thread only, once running
  bool sampling_ = true;                             // sampler thread only; false once stopping
  control::ActiveAlerts active_alerts_;              // sampler thread only, once running
  std::unique_ptr<control::ControlServer> control_;  // main thread
  bool drilling_ = false;                            // main thread: one drill at a time
  std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  mutable std::mutex services_mutex_;
  std::vector<v1::ServiceStatus> services_;  // guarded by services_mutex_
  v1::AgentHealth watcher_health_;           // guarded by services_mutex_; from ReportHealth
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_DAEMON_H_
