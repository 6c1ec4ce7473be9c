#include "platform/watchdog.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace atmhealth::platform {

Watchdog::Watchdog(asio::any_io_executor executor, std::chrono::milliseconds period,
                   std::function<void()> notify)
    : executor_(executor), period_(period), notify_(std::move(notify)), timer_(executor) {}

void Watchdog::Watch(std::string name, asio::any_io_executor executor) {
  auto watched = std::make_shared<Watched>();
  watched->name = std::move(name);
  watched->executor = std::move(executor);
  watched_.push_back(std::move(watched));
}

void Watchdog::Stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> Watchdog::Run() {
  while (!stopped_) {
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
          "process is alive and restarts it{}",
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
    timer_.expires_after(period_);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace atmhealth::platform
