#include "agent/feed/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace atmhealth::agent::feed {
namespace {

constexpr double kGamma =
    (1 + LatencyHistogram::kRelativeError) / (1 - LatencyHistogram::kRelativeError);
const double kLogGamma = std::log(kGamma);
constexpr std::size_t kOverflow = LatencyHistogram::kBuckets - 1;

std::uint32_t SaturatingAdd(std::uint32_t a, std::uint32_t b) {
  const std::uint64_t sum = std::uint64_t{a} + b;
  return sum > std::numeric_limits<std::uint32_t>::max() ? std::numeric_limits<std::uint32_t>::max()
                                                         : static_cast<std::uint32_t>(sum);
}

}  // namespace

std::size_t LatencyHistogram::BucketOf(double ms) {
  if (!(ms > kMinMs)) return 0;  // also NaN
  if (ms > kMaxMs) return kOverflow;
  const double index = std::ceil(std::log(ms) / kLogGamma);
  return std::min(static_cast<std::size_t>(index), kOverflow - 1);
}

double LatencyHistogram::BucketValue(std::size_t bucket) {
  if (bucket >= kOverflow) return kMaxMs;
  return 2 * std::pow(kGamma, static_cast<double>(bucket)) / (kGamma + 1);
}

void LatencyHistogram::Add(double ms, std::uint32_t weight) {
  std::uint32_t& bucket = counts_[BucketOf(ms)];
  bucket = SaturatingAdd(bucket, weight);
  count_ += weight;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i)
    counts_[i] = SaturatingAdd(counts_[i], other.counts_[i]);
  count_ += other.count_;
}

void LatencyHistogram::Clear() {
  counts_.fill(0);
  count_ = 0;
}

double LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen > rank) return BucketValue(i);
  }
  return BucketValue(kOverflow);  // saturated counts: count_ ran ahead
}

}  // namespace atmhealth::agent::feed
