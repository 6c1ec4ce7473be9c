// Time until a filesystem is full, from a least-squares line through its
// recent free space — what Prometheus' predict_linear does for disk-full
// alerts: the slope of the fit is the growth, the fit's value now is the
// free space, and free / growth is the time left.
#ifndef ATMHEALTH_AGENT_WATCH_FILL_FORECAST_H_
#define ATMHEALTH_AGENT_WATCH_FILL_FORECAST_H_

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace atmhealth::agent {

class FillForecast {
 public:
  // Keeps the samples of the last `window`, at most `max_samples` of them (a
  // sample closer than window / max_samples to the previous kept one is
  // skipped), and forecasts from at least `min_samples` (2 or more).
  FillForecast(std::chrono::milliseconds window, std::size_t min_samples, std::size_t max_samples);

  // Free bytes (available to unprivileged users) at `at`.
  void Add(std::chrono::steady_clock::time_point at, double free_bytes);
  // Forgets every sample: the filesystem under the path changed.
  void Clear() { samples_.clear(); }
  std::size_t size() const { return samples_.size(); }

  struct Fit {
    double growth_bytes_per_second;  // how fast free space shrinks; <= 0 when it does not
    double free_bytes_now;           // the fitted free space at the last sample
    // Seconds until no space is left at that growth; nullopt when free space
    // is not shrinking.
    std::optional<double> seconds_until_full;
  };
  // The fit over the kept samples; nullopt with fewer than min_samples or
  // when every sample has the same time.
  std::optional<Fit> Forecast() const;

 private:
  struct Sample {
    std::chrono::steady_clock::time_point at;
    double free_bytes;
  };
  std::chrono::milliseconds window_;
  std::size_t min_samples_;
  std::size_t max_samples_;
  std::chrono::steady_clock::duration spacing_;
  std::deque<Sample> samples_;
};

}  // namespace atmhealth::agent

#endif  // ATMHEALTH_AGENT_WATCH_FILL_FORECAST_H_
