#include "agent/diagnostics/snapshotter.h"

#include <spdlog/spdlog.h>

#include "agent/diagnostics/snapshot.h"

namespace atmhealth::agent {

Snapshotter::Snapshotter(DiagnosticsConfig config, Sink sink, const platform::Clock& clock)
    : clock_(clock),
      sink_(std::move(sink)),
      config_(std::make_shared<const DiagnosticsConfig>(std::move(config))),
      storm_(clock) {}

Snapshotter::~Snapshotter() { Stop(); }

bool Snapshotter::Take(v1::Event firing) {
  std::shared_ptr<const DiagnosticsConfig> config;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !config_->enabled) return false;
    if (pending_.load() >= config_->max_pending) {
      ++skipped_;
      if (auto times = storm_.Occurred()) {
        spdlog::warn(
            "diagnostics: {} snapshot(s) skipped, {} already waiting (max_pending); "
            "latest skipped: {}",
            *times, config_->max_pending, firing.alert_key());
      }
      return false;
    }
    storm_.Cleared();
    config = config_;
    ++pending_;
  }
  asio::post(pool_, [this, config = std::move(config), firing = std::move(firing)] {
    bool drop;
    {
      std::lock_guard lock(mutex_);
      drop = stopping_;
    }
    if (!drop) {
      v1::Event snapshot = TakeSnapshot(*config, firing, clock_);
      spdlog::info("{}", snapshot.summary());
      ++taken_;
      last_unix_ns_ = snapshot.wall_time_unix_ns();
      sink_(std::move(snapshot));
    }
    --pending_;
  });
  return true;
}

void Snapshotter::Configure(DiagnosticsConfig config) {
  auto shared = std::make_shared<const DiagnosticsConfig>(std::move(config));
  std::lock_guard lock(mutex_);
  config_ = std::move(shared);
}

void Snapshotter::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (const std::uint64_t waiting = pending_.load(); waiting > 1) {
    spdlog::info("diagnostics: stopping, {} snapshot(s) not taken", waiting - 1);
  }
  pool_.join();
}

Snapshotter::Counters Snapshotter::counters() const {
  return Counters{taken_.load(), skipped_.load(), pending_.load(), last_unix_ns_.load()};
}

std::chrono::milliseconds Snapshotter::LongestSnapshot() const {
  std::lock_guard lock(mutex_);
  return config_->LongestSnapshot();
}

}  // namespace atmhealth::agent
