// atmhealthd wired together: watchers → rules → event store → uplink.
//
//   sampler thread:  each watcher samples at its own interval and its
//                    measurements are evaluated at once; every rule is also
//                    evaluated on time (kRuleTick); new events go to the
//                    store thread
//   snapshot thread: the diagnostic snapshot of each firing alert, sent
//                    after it to the store (the alert never waits for it)
//   store thread:    group commit into SQLite; the uplink reads from it
//   main thread:     the uplink session, signals, service-manager notices,
//                    the control socket (status gathered from each thread),
//                    SIGHUP's reload (agent/config_reload.h)
#ifndef ATMHEALTH_AGENT_DAEMON_H_
#define ATMHEALTH_AGENT_DAEMON_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/control/agent_status.h"
#include "agent/control/control_server.h"
#include "agent/diagnostics/snapshotter.h"
#include "agent/rules/rule_set.h"
#include "agent/store_thread.h"
#include "agent/uplink/uplink.h"
#include "agent/watch/watcher.h"

namespace atmhealth::agent {

class Daemon {
 public:
  // Reads the configuration again for SIGHUP, as it was read at start
  // (the same file, the same command-line overrides).
  using ConfigLoader = std::function<Result<AgentConfig>()>;

  // Opens the event buffer (creating its directory) and builds every stage.
  // Fails with a message naming what could not be set up. Without `reload`
  // (the built-in defaults) SIGHUP is logged and ignored.
  static Result<std::unique_ptr<Daemon>> Create(AgentConfig config, ConfigLoader reload = {});
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

  // Builds every configured watcher through the registry, or fails with
  // the first that cannot be built.
  Result<std::vector<ScheduledWatcher>> BuildWatchers(const std::vector<WatcherConfig>& configs);
  // Declares each watcher's rules (RuleSet::Declare); the first refusal
  // names the watcher. Sampler thread, once running.
  Status DeclareRules(const std::vector<ScheduledWatcher>& watchers,
                      std::vector<v1::Event>& events);
  // SIGHUP: reads the configuration again and applies what applies live
  // (agent/config_reload.h). Main thread.
  asio::awaitable<void> Reload();
  // Replaces the watcher set with `configs` and starts sampling it; when
  // one cannot be built, the running set is built again from its settings
  // and the error returned. Sampler thread.
  Status ReplaceWatchers(const std::vector<WatcherConfig>& configs);
  // A reload refused: logged once with its reason, counted, recorded.
  void RefuseReload(const std::string& reason);
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
  ConfigLoader reload_;
  asio::io_context io_;
  RuleSet rules_;  // sampler thread only, once running
  std::unique_ptr<StoreThread> store_;
  std::unique_ptr<StoreThreadBaseline> baseline_store_;  // the store's, for the watchers
  std::unique_ptr<Uplink> uplink_;
  // Evidence for each firing alert, taken off the sampler (diagnostics/).
  std::unique_ptr<Snapshotter> snapshotter_;
  asio::thread_pool sampler_{1};
  asio::steady_timer tick_timer_{sampler_.get_executor()};
  // After sampler_: their timers go before the pool does.
  std::vector<ScheduledWatcher> watchers_;      // sampler thread only, once running
  std::vector<WatcherConfig> watcher_configs_;  // sampler thread only: what watchers_ runs
  bool sampling_ = true;                        // sampler thread only; false once stopping
  // Sampler thread only: a sample scheduled for a watcher set that a reload
  // has since replaced is dropped.
  std::uint64_t watcher_generation_ = 0;
  control::ActiveAlerts active_alerts_;              // sampler thread only, once running
  std::unique_ptr<control::ControlServer> control_;  // main thread
  bool drilling_ = false;                            // main thread: one drill at a time
  // Main thread: SIGHUP reloads, one at a time.
  bool reloading_ = false;
  control::ReloadCounters reloads_;
  std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  mutable std::mutex services_mutex_;
  std::vector<v1::ServiceStatus> services_;  // guarded by services_mutex_
  v1::AgentHealth watcher_health_;           // guarded by services_mutex_; from ReportHealth
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_DAEMON_H_
