// What "usual" traffic is for each hour of the week: the throughput
// watcher's memory for the surge alert. Each local hour the watcher observes
// is folded into the mean of that hour of the week once it ends, when at
// least half of it was observed (an agent that started at 10:50 has not seen
// the 10:00 hour). After kMaxWeight weeks the mean moves by 1/kMaxWeight of
// each new week, so the baseline follows a lasting change in traffic (a new
// branch nearby) while one busy week barely moves it.
#ifndef ATMHEALTH_AGENT_WATCH_SURGE_BASELINE_H_
#define ATMHEALTH_AGENT_WATCH_SURGE_BASELINE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/store/throughput_baseline.h"
#include "platform/status.h"
#include "platform/time_zone.h"

namespace atmhealth::agent {

// Not thread-safe.
class SurgeBaseline {
 public:
  static constexpr std::uint32_t kMaxWeight = 8;
  // The part of an hour that must have been observed for it to count.
  static constexpr std::chrono::seconds kMinObserved{30 * 60};

  // `zone`: an IANA time zone name ("Asia/Tokyo"); hours of the week are
  // local to it, daylight saving time included.
  static Result<SurgeBaseline> Create(std::string_view zone);

  // Hours learned earlier (read back from the buffer file). Hours outside
  // 0..167 are ignored.
  void Restore(const std::vector<BaselineHour>& hours);

  // The hour of the week of `at`, local to the zone.
  int HourOfWeek(std::chrono::system_clock::time_point at) const;

  // `seconds` of traffic at `tps` ending at `at` (a sample). When `at` is in
  // another local hour than the previous observation, the previous hour ends:
  // it is folded into its hour of the week and returned (to be saved) if at
  // least kMinObserved of it was observed.
  std::optional<BaselineHour> Observe(std::chrono::system_clock::time_point at, double tps,
                                      double seconds);

  const BaselineHour& Hour(int hour_of_week) const;
  const std::string& zone_name() const { return zone_.name(); }

 private:
  explicit SurgeBaseline(platform::TimeZone zone) : zone_(std::move(zone)) {}
  // Hours since the local epoch: a different value for every local hour,
  // the same for both passes of an hour that DST repeats.
  std::int64_t LocalHour(std::chrono::system_clock::time_point at) const;

  platform::TimeZone zone_;
  std::array<BaselineHour, BaselineHour::kHoursPerWeek> hours_{};
  std::optional<std::int64_t> current_;  // LocalHour of the hour being observed
  double current_transactions_ = 0;
  double current_seconds_ = 0;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_SURGE_BASELINE_H_
