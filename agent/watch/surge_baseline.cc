#include "agent/watch/surge_baseline.h"

#include <date/date.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace atmhealth::agent {

Result<SurgeBaseline> SurgeBaseline::Create(std::string_view zone) {
  auto located = platform::TimeZone::Locate(zone);
  if (!located.ok()) return located.error();
  SurgeBaseline baseline(std::move(located).value());
  for (int hour = 0; hour < BaselineHour::kHoursPerWeek; ++hour) {
    baseline.hours_[static_cast<std::size_t>(hour)].hour_of_week = hour;
  }
  return baseline;
}

void SurgeBaseline::Restore(const std::vector<BaselineHour>& hours) {
  for (const BaselineHour& hour : hours) {
    if (hour.hour_of_week < 0 || hour.hour_of_week >= BaselineHour::kHoursPerWeek) continue;
    if (!(hour.mean_tps >= 0)) continue;  // NaN or negative: not a rate
    hours_[static_cast<std::size_t>(hour.hour_of_week)] = hour;
  }
}

std::int64_t SurgeBaseline::LocalHour(std::chrono::system_clock::time_point at) const {
  return std::chrono::floor<std::chrono::hours>(zone_.LocalSinceEpoch(at)).count();
}

int SurgeBaseline::HourOfWeek(std::chrono::system_clock::time_point at) const {
  const date::local_seconds local{zone_.LocalSinceEpoch(at)};
  const auto day = date::floor<date::days>(local);
  const auto hour = date::floor<std::chrono::hours>(local - day).count();
  return static_cast<int>(date::weekday(day).c_encoding()) * 24 + static_cast<int>(hour);
}

std::optional<BaselineHour> SurgeBaseline::Observe(std::chrono::system_clock::time_point at,
                                                   double tps, double seconds) {
  const std::int64_t local_hour = LocalHour(at);
  std::optional<BaselineHour> folded;
  if (current_ && *current_ != local_hour) {
    if (current_seconds_ >= static_cast<double>(kMinObserved.count())) {
      // The hour of the week of the hour that ended: local hours since the
      // epoch, which began on a Thursday (4 days after a Sunday).
      const auto index = static_cast<int>(
          ((*current_ + 4 * 24) % BaselineHour::kHoursPerWeek + BaselineHour::kHoursPerWeek) %
          BaselineHour::kHoursPerWeek);
      BaselineHour& hour = hours_[static_cast<std::size_t>(index)];
      const double observed = current_transactions_ / current_seconds_;
      const double weight = std::min(hour.weeks, kMaxWeight - 1);
      hour.mean_tps = (hour.mean_tps * weight + observed) / (weight + 1);
      if (hour.weeks < UINT32_MAX) ++hour.weeks;
      folded = hour;
    }
    current_transactions_ = 0;
    current_seconds_ = 0;
  }
  current_ = local_hour;
  if (std::isfinite(tps) && tps >= 0 && seconds > 0) {
    current_transactions_ += tps * seconds;
    current_seconds_ += seconds;
  }
  return folded;
}

const BaselineHour& SurgeBaseline::Hour(int hour_of_week) const {
  return hours_.at(static_cast<std::size_t>(hour_of_week));
}

}  // namespace atmhealth::agent
