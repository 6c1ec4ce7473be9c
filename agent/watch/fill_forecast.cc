#include "agent/watch/fill_forecast.h"

#include <algorithm>

namespace atmhealth::agent {

FillForecast::FillForecast(std::chrono::milliseconds window, std::size_t min_samples,
                           std::size_t max_samples)
    : window_(window),
      min_samples_(std::max<std::size_t>(min_samples, 2)),
      max_samples_(std::max(max_samples, min_samples_)),
      spacing_(window / static_cast<std::int64_t>(max_samples_)) {}

void FillForecast::Add(std::chrono::steady_clock::time_point at, double free_bytes) {
  if (!samples_.empty() && at - samples_.back().at < spacing_) return;
  samples_.push_back(Sample{at, free_bytes});
  while (!samples_.empty() && at - samples_.front().at > window_) samples_.pop_front();
  while (samples_.size() > max_samples_) samples_.pop_front();
}

std::optional<FillForecast::Fit> FillForecast::Forecast() const {
  if (samples_.size() < min_samples_) return std::nullopt;
  // Times in seconds from the last sample keep the sums small and exact
  // enough; means are subtracted before multiplying (numerically stable).
  const auto last = samples_.back().at;
  const auto seconds = [&](const Sample& sample) {
    return std::chrono::duration<double>(sample.at - last).count();
  };
  const double n = static_cast<double>(samples_.size());
  double mean_t = 0;
  double mean_y = 0;
  for (const Sample& sample : samples_) {
    mean_t += seconds(sample);
    mean_y += sample.free_bytes;
  }
  mean_t /= n;
  mean_y /= n;
  double covariance = 0;
  double variance = 0;
  for (const Sample& sample : samples_) {
    const double dt = seconds(sample) - mean_t;
    covariance += dt * (sample.free_bytes - mean_y);
    variance += dt * dt;
  }
  if (variance <= 0) return std::nullopt;
  const double slope = covariance / variance;  // bytes per second, negative while filling
  Fit fit;
  fit.growth_bytes_per_second = -slope;
  fit.free_bytes_now = std::max(0.0, mean_y - slope * mean_t);  // the line at t = 0 (last sample)
  if (slope < 0) fit.seconds_until_full = fit.free_bytes_now / -slope;
  return fit;
}

}  // namespace atmhealth::agent
