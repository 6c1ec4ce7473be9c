#include "agent/watchdog.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace atmhealth::agent {

Watchdog::Watchdog(asio::any_io_executor executor, std::chrono::milliseconds period,
                   std::function<void()> notify)
    : executor_(std::move(executor)), period_(period), notify_(std::move(notify)) {}

void Watchdog::Watch(std::string name, asio::any_io_executor executor) {
  auto watched = std::make_shared<Watched>();
  watched->name = std::move(name);
  watched->executor = std::move(executor);
  watched_.push_back(std::move(watched));
}

asio::awaitable<void> Watchdog::Run() {
  asio::steady_timer timer(executor_);
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    std::string silent;
    for (const auto& watched : watched_) {
      if (watched->answered.load() == watched->asked) continue;
      if (!silent.empty()) silent += ", ";
      silent += fmt::format(
          "{} for {} ms", watched->name,
          std::chrono::duration_cast<std::chrono::milliseconds>(now - watched->asked_at).count());
    }
    if (silent.empty()) {
      notify_();
      if (auto periods = silent_.Cleared()) {
        spdlog::warn("watchdog: every thread answers again after {} silent periods", *periods);
      }
    } else if (auto periods = silent_.Occurred()) {
      spdlog::error(
          "watchdog: threads not answering: {}; the service manager is no longer told the "
          "agent is alive and restarts it{}",
          silent, platform::RepeatedCondition::Note(*periods));
    }
    // A thread that has not answered keeps its question: the answer, late,
    // still proves it moved on.
    for (const auto& watched : watched_) {
      if (watched->answered.load() != watched->asked) continue;
      const std::uint64_t question = ++watched->asked;
      watched->asked_at = now;
      asio::post(watched->executor, [watched, question] { watched->answered.store(question); });
    }
    timer.expires_after(period_);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace atmhealth::agent
