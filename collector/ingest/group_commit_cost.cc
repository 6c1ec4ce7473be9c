#include "collector/ingest/group_commit_cost.h"

#include <algorithm>

namespace atmhealth::collector {

void GroupCommitCost::Observe(std::size_t calls, std::chrono::nanoseconds took) {
  const double n = static_cast<double>(std::max<std::size_t>(calls, 1));
  const double t = static_cast<double>(std::max<std::int64_t>(took.count(), 0));
  const double keep = observed_ ? 1 - kWeight : 0;
  const double add = observed_ ? kWeight : 1;
  observed_ = true;
  mean_n_ = keep * mean_n_ + add * n;
  mean_t_ = keep * mean_t_ + add * t;
  mean_nn_ = keep * mean_nn_ + add * n * n;
  mean_nt_ = keep * mean_nt_ + add * n * t;
  Fit();
}

void GroupCommitCost::Fit() {
  const double variance = mean_nn_ - mean_n_ * mean_n_;
  if (variance >= kMinSizeVariance) {
    per_call_ns_ = (mean_nt_ - mean_n_ * mean_t_) / variance;
    fixed_ns_ = mean_t_ - per_call_ns_ * mean_n_;
    // Noise can tip the line: a group never costs less than nothing, and
    // neither does a call.
    if (per_call_ns_ < 0) {
      per_call_ns_ = 0;
      fixed_ns_ = mean_t_;
    } else if (fixed_ns_ < 0) {
      fixed_ns_ = 0;
      per_call_ns_ = mean_t_ / mean_n_;
    }
    return;
  }
  fixed_ns_ = mean_t_;
  per_call_ns_ = 0;
}

std::chrono::nanoseconds GroupCommitCost::Drain(std::size_t calls, std::size_t max_group) const {
  if (!observed_ || calls == 0) return std::chrono::nanoseconds{0};
  const std::size_t group = std::max<std::size_t>(max_group, 1);
  const std::size_t groups = (calls + group - 1) / group;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(
      static_cast<double>(groups) * fixed_ns_ + static_cast<double>(calls) * per_call_ns_));
}

std::chrono::nanoseconds GroupCommitCost::PerCall(std::size_t group) const {
  const double n = static_cast<double>(std::max<std::size_t>(group, 1));
  return std::chrono::nanoseconds(static_cast<std::int64_t>(fixed_ns_ / n + per_call_ns_));
}

}  // namespace atmhealth::collector
