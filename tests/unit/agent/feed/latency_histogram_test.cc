#include "agent/feed/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace atmhealth::agent::feed {
namespace {

constexpr double kAlpha = LatencyHistogram::kRelativeError;

double RelativeError(double estimate, double truth) { return std::abs(estimate - truth) / truth; }

// The quantile the histogram promises to approximate: the value of rank
// floor(q × (n − 1)) in sorted order.
double ExactQuantile(std::vector<double> values, double q) {
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(rank), values.end());
  return values[rank];
}

TEST(LatencyHistogramTest, EveryValueInRangeReadsBackWithinTheStatedRelativeError) {
  double worst = 0;
  for (double ms = LatencyHistogram::kMinMs; ms <= LatencyHistogram::kMaxMs; ms *= 1.0007) {
    const double read = LatencyHistogram::BucketValue(LatencyHistogram::BucketOf(ms));
    worst = std::max(worst, RelativeError(read, ms));
  }
  EXPECT_LE(worst, kAlpha + 1e-12);
  // The bound is tight, not loose: the mapping is as coarse as it says.
  EXPECT_GT(worst, kAlpha * 0.99);
}

TEST(LatencyHistogramTest, BucketsCoverTheRangeExactlyWithAnOverflow) {
  EXPECT_EQ(LatencyHistogram::BucketOf(LatencyHistogram::kMaxMs), LatencyHistogram::kBuckets - 2);
  EXPECT_EQ(LatencyHistogram::BucketOf(LatencyHistogram::kMaxMs * 1.001),
            LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::BucketValue(LatencyHistogram::kBuckets - 1),
            LatencyHistogram::kMaxMs);
  EXPECT_EQ(LatencyHistogram::BucketOf(0.2), 0u);
  EXPECT_EQ(LatencyHistogram::BucketOf(-5), 0u);
  EXPECT_EQ(LatencyHistogram::BucketOf(std::nan("")), 0u);
  EXPECT_LE(LatencyHistogram::BucketValue(0), LatencyHistogram::kMinMs);
}

TEST(LatencyHistogramTest, PercentilesOfRealisticMixesAreWithinTheStatedRelativeError) {
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> card_host(std::log(180), 0.5);  // ~180 ms, long tail
  std::uniform_real_distribution<double> cash_out(900, 4000);
  std::vector<std::vector<double>> mixes(3);
  for (int i = 0; i < 20000; ++i) {
    mixes[0].push_back(card_host(random));
    mixes[1].push_back(cash_out(random));
    mixes[2].push_back(i % 10 == 0 ? cash_out(random) * 10 : card_host(random));  // slow tail
  }
  for (const auto& values : mixes) {
    LatencyHistogram histogram;
    for (double v : values) histogram.Add(v);
    ASSERT_EQ(histogram.count(), values.size());
    for (double q : {0.5, 0.95, 0.99}) {
      const double truth = ExactQuantile(values, q);
      EXPECT_LE(RelativeError(histogram.Quantile(q), truth), kAlpha + 1e-12)
          << "q=" << q << " truth=" << truth << " read=" << histogram.Quantile(q);
    }
  }
}

TEST(LatencyHistogramTest, WeightsAndMergesCountLikeRepeatedAdds) {
  LatencyHistogram weighted;
  weighted.Add(100, 9);
  weighted.Add(5000, 1);
  LatencyHistogram repeated;
  for (int i = 0; i < 9; ++i) repeated.Add(100);
  LatencyHistogram other;
  other.Add(5000);
  repeated.Merge(other);
  EXPECT_EQ(weighted.count(), 10u);
  EXPECT_EQ(repeated.count(), 10u);
  for (double q : {0.0, 0.5, 0.88, 0.9, 1.0}) EXPECT_EQ(weighted.Quantile(q), repeated.Quantile(q));
  EXPECT_NEAR(weighted.Quantile(0.5), 100, 100 * kAlpha);
  EXPECT_NEAR(weighted.Quantile(1.0), 5000, 5000 * kAlpha);
}

TEST(LatencyHistogramTest, EmptyReadsZeroAndOverflowReadsTheUpperBound) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.Quantile(0.99), 0);
  histogram.Add(3'600'000);  // an hour: beyond the range
  EXPECT_EQ(histogram.Quantile(0.99), LatencyHistogram::kMaxMs);
  histogram.Clear();
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.Quantile(0.5), 0);
}

}  // namespace
}  // namespace atmhealth::agent::feed
