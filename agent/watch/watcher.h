// A watcher turns OS facts into measurements. It has one narrow lifecycle:
// it is built from its config section (watcher_registry.h), declares its
// rules, is sampled at its own interval, and reports what it measured.
// Thresholds, buffering, retry and delivery live elsewhere (rules/, store/,
// uplink/), never inside a watcher.
#ifndef ATMHEALTH_AGENT_WATCH_WATCHER_H_
#define ATMHEALTH_AGENT_WATCH_WATCHER_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "agent/rules/rule.h"
#include "agent/watch/measurement.h"
#include "atmhealth/v1/session.pb.h"
#include "platform/asio.h"

namespace atmhealth::agent {

// A thread a watcher runs besides the sampler (a command that may hang runs
// there, never on the sampler), for the watchdog to prove alive.
struct WatcherThread {
  std::string name;  // "crm_mon"
  asio::any_io_executor executor;
  // The longest the thread may legitimately be busy at once (a command's
  // time limit): the watchdog's period must be longer.
  std::chrono::milliseconds longest_task{0};
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  // Short name for logs and metrics, e.g. "storage": its config section.
  virtual std::string_view name() const = 0;
  // Takes one sample and appends what it measured to `out`. A probe that
  // fails is reported as a measurement too (ALERT_KIND_AGENT_HEALTH, value 1
  // while failing, 0 once it works again), so that it alerts like anything
  // else. Must not block longer than the watcher's configured probe limit.
  virtual void Sample(std::vector<Measurement>& out) = 0;
  // The rules of every subject it watches now: one per alert it can raise,
  // each with its FSA category and customer impact. Asked once the watcher
  // is built and again after every sample, so that a watcher whose subjects
  // change (a mount appears) declares their rules; a rule no longer declared
  // is retired, its alert resolved (RuleSet::Declare).
  virtual std::vector<RuleDefinition> Rules() const = 0;
  // Adds what the watcher knows of the agent's own health to the heartbeat's
  // (the transaction feed: lines refused, current load). Called after each
  // of its samples, on the sampling thread. Most watchers add nothing.
  virtual void ReportHealth(v1::AgentHealth& health) const { (void)health; }
  // The threads of its own, if any; fixed once the watcher is built, so
  // safe to ask from any thread. Most watchers have none.
  virtual std::vector<WatcherThread> Threads() const { return {}; }
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_WATCHER_H_
