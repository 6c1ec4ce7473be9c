#include "agent/watch/crm_mon_poller.h"

#include <future>

namespace atmhealth::agent {

CrmMonPoller::CrmMonPoller(platform::CommandSpec command, std::chrono::milliseconds interval)
    : command_(std::move(command)), interval_(interval) {
  asio::post(pool_, [this] { RunOnce(); });
}

CrmMonPoller::~CrmMonPoller() {
  std::promise<void> stopped;
  asio::post(pool_, [this, &stopped] {
    stopping_ = true;
    timer_.cancel();
    stopped.set_value();
  });
  stopped.get_future().wait();
  pool_.join();
}

std::optional<CrmMonPoller::Run> CrmMonPoller::Latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void CrmMonPoller::Schedule(std::chrono::milliseconds delay) {
  if (stopping_) return;
  timer_.expires_after(delay);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    RunOnce();
  });
}

void CrmMonPoller::RunOnce() {
  if (stopping_) return;
  const auto started = std::chrono::steady_clock::now();
  Run run;
  run.status = platform::RunCrmMon(command_);
  run.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (!run.status.ok() && run.status.error().code() == ErrorCode::kTimeout) ++timeouts_;
  run.number = ++runs_;
  run.timeouts = timeouts_;
  {
    std::lock_guard lock(mutex_);
    latest_ = std::move(run);
  }
  Schedule(interval_);
}

}  // namespace atmhealth::agent
