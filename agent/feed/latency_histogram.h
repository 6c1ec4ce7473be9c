// Transaction latencies in a fixed, log-bucketed histogram (the DDSketch
// mapping): bucket i holds (γ^(i-1), γ^i] milliseconds with
// γ = (1 + α) / (1 − α), and reports 2γ^i / (γ + 1). Any quantile read from
// it is within a relative error α = kRelativeError of the true quantile of the
// values added, for values between kMinMs and kMaxMs. Values at or below
// kMinMs are counted in the first bucket and read back as about kMinMs;
// values above kMaxMs in an overflow bucket read back as kMaxMs (a lower
// bound: "at least 100 s").
//
// Fixed size (kBuckets counters), no allocation: adding is an index
// computation and an increment.
#ifndef ATMHEALTH_AGENT_FEED_LATENCY_HISTOGRAM_H_
#define ATMHEALTH_AGENT_FEED_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace atmhealth::agent::feed {

class LatencyHistogram {
 public:
  static constexpr double kRelativeError = 0.02;  // α: 2 %
  static constexpr double kMinMs = 1;
  static constexpr double kMaxMs = 100'000;
  // ceil(ln(kMaxMs) / ln(γ)) + 1 buckets for (0, kMaxMs], one for overflow.
  static constexpr std::size_t kBuckets = 290;

  // Adds `weight` samples of `ms` (a sampled client's 1 / rate). Negative and
  // NaN values count as the smallest bucket. Counts saturate rather than wrap.
  void Add(double ms, std::uint32_t weight = 1);
  void Merge(const LatencyHistogram& other);
  void Clear();

  std::uint64_t count() const { return count_; }
  // The q-quantile (q in [0, 1]) of the values added: the value of rank
  // floor(q × (count − 1)) in sorted order, within kRelativeError. 0 when
  // empty.
  double Quantile(double q) const;

  // The bucket of `ms`, and the value a bucket reads back as (for tests).
  static std::size_t BucketOf(double ms);
  static double BucketValue(std::size_t bucket);

 private:
  std::array<std::uint32_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
};

}  // namespace atmhealth::agent::feed

#endif  // ATMHEALTH_AGENT_FEED_LATENCY_HISTOGRAM_H_
