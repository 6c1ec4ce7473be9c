#include "agent/watch/command_poller.h"

#include <future>

namespace atmhealth::agent {

CommandPoller::CommandPoller(platform::CommandSpec command, std::chrono::milliseconds interval)
    : command_(std::move(command)), interval_(interval) {
  asio::post(pool_, [this] { RunOnce(); });
}

CommandPoller::~CommandPoller() {
  std::promise<void> stopped;
  asio::post(pool_, [this, &stopped] {
    stopping_ = true;
    timer_.cancel();
    stopped.set_value();
  });
  stopped.get_future().wait();
  pool_.join();
}

std::optional<CommandPoller::Run> CommandPoller::Latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void CommandPoller::Schedule(std::chrono::milliseconds delay) {
  if (stopping_) return;
  timer_.expires_after(delay);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    RunOnce();
  });
}

void CommandPoller::RunOnce() {
  if (stopping_) return;
  Run run;
  run.outcome = platform::RunCommand(command_);
  if (run.outcome.ok() && run.outcome->killed_at_time_limit) ++timeouts_;
  run.number = ++runs_;
  run.timeouts = timeouts_;
  {
    std::lock_guard lock(mutex_);
    latest_ = std::move(run);
  }
  Schedule(interval_);
}

}  // namespace atmhealth::agent
