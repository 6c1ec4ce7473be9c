// The service manager's watchdog, told the process is alive only while every
// one of its threads is: the thread that runs the watchdog and each thread
// watched here. A watched thread proves itself by running a no-op posted to
// it at the previous period; one that has not run it — stuck in a probe, a
// commit, a lock — stops the pings, and the service manager restarts the
// process after WatchdogSec. Both daemons use it: atmhealthd for its main,
// sampler and store threads, atmhealth-collector for its network threads,
// store thread and fleet monitor.
//
// So WatchdogSec must be longer than twice the longest thing a thread may
// legitimately be busy with (a sample takes at most the probe time limit per
// filesystem, a commit one fsync).
#ifndef ATMHEALTH_PLATFORM_WATCHDOG_H_
#define ATMHEALTH_PLATFORM_WATCHDOG_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "platform/asio.h"
#include "platform/clock.h"
#include "platform/repeated_condition.h"

namespace atmhealth::platform {

class Watchdog {
 public:
  // `notify` tells the service manager the process is alive
  // (platform::NotifyWatchdog); called on `executor` every `period` while
  // every watched thread answered the previous period's no-op.
  Watchdog(asio::any_io_executor executor, std::chrono::milliseconds period,
           std::function<void()> notify);

  // A thread to prove alive, by its executor. Before Run().
  void Watch(std::string name, asio::any_io_executor executor);

  // Runs until Stop() or until the executor stops. Call once, co_spawned on
  // the executor given above.
  asio::awaitable<void> Run();

  // Ends Run(), so that an io_context that runs out of other work returns.
  // On the executor given above.
  void Stop();

 private:
  struct Watched {
    std::string name;
    asio::any_io_executor executor;
    std::uint64_t asked = 0;                 // no-ops posted; the watchdog's thread only
    std::atomic<std::uint64_t> answered{0};  // no-ops run; written by the watched thread
    std::chrono::steady_clock::time_point asked_at{};
  };

  asio::any_io_executor executor_;
  std::chrono::milliseconds period_;
  std::function<void()> notify_;
  std::vector<std::shared_ptr<Watched>> watched_;
  asio::steady_timer timer_;
  bool stopped_ = false;
  platform::RepeatedCondition silent_{platform::Clock::Real()};
};

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_WATCHDOG_H_
