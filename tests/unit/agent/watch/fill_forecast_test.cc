// The least-squares time-until-full forecast, on simulated time.
#include "agent/watch/fill_forecast.h"

#include <gtest/gtest.h>

namespace atmhealth::agent {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr double kMiB = 1024.0 * 1024.0;
const std::chrono::steady_clock::time_point kStart{std::chrono::hours(5)};

TEST(FillForecast, ASteadyFillIsFittedExactly) {
  FillForecast forecast(minutes(10), 5, 1024);
  // 1 GiB free, shrinking by 1 MiB every 10 s.
  for (int i = 0; i < 5; ++i) forecast.Add(kStart + seconds(10 * i), 1024 * kMiB - i * kMiB);
  const auto fit = forecast.Forecast();
  ASSERT_TRUE(fit);
  EXPECT_DOUBLE_EQ(fit->growth_bytes_per_second, kMiB / 10);
  EXPECT_DOUBLE_EQ(fit->free_bytes_now, 1020 * kMiB);
  ASSERT_TRUE(fit->seconds_until_full);
  EXPECT_NEAR(*fit->seconds_until_full, 10200, 1e-6);
}

TEST(FillForecast, NoForecastFromFewerThanTheMinimumSamples) {
  FillForecast forecast(minutes(10), 5, 1024);
  for (int i = 0; i < 4; ++i) forecast.Add(kStart + seconds(i), 100 - i);
  EXPECT_FALSE(forecast.Forecast());
  forecast.Add(kStart + seconds(4), 96);
  EXPECT_TRUE(forecast.Forecast());
}

TEST(FillForecast, NoiseAroundASteadyFillStillFitsItsSlope) {
  FillForecast forecast(minutes(10), 3, 1024);
  // 100 bytes/s with +-50 bytes of alternating noise: the fit sees through it.
  for (int i = 0; i < 60; ++i) {
    forecast.Add(kStart + seconds(i), 1e6 - 100.0 * i + (i % 2 == 0 ? 50 : -50));
  }
  const auto fit = forecast.Forecast();
  ASSERT_TRUE(fit);
  EXPECT_NEAR(fit->growth_bytes_per_second, 100, 0.2);
  // The slope is within 0.2 %, so the time until full is too: about 20 s of 9,941 s.
  EXPECT_NEAR(*fit->seconds_until_full, (1e6 - 5900) / 100, 25);
}

TEST(FillForecast, GrowthThatStopsHasNoTimeUntilFullOnceTheWindowHasPassed) {
  FillForecast forecast(seconds(60), 3, 1024);
  for (int i = 0; i <= 60; ++i) forecast.Add(kStart + seconds(i), 1e6 - 1000.0 * i);
  ASSERT_TRUE(forecast.Forecast()->seconds_until_full);
  // Nothing written for the next minute: the old samples slide out.
  for (int i = 61; i <= 121; ++i) forecast.Add(kStart + seconds(i), 1e6 - 60000);
  const auto fit = forecast.Forecast();
  ASSERT_TRUE(fit);
  EXPECT_DOUBLE_EQ(fit->growth_bytes_per_second, 0);
  EXPECT_FALSE(fit->seconds_until_full);
  EXPECT_DOUBLE_EQ(fit->free_bytes_now, 1e6 - 60000);
}

TEST(FillForecast, FreeingSpaceIsNegativeGrowth) {
  FillForecast forecast(minutes(1), 3, 1024);
  for (int i = 0; i < 5; ++i) forecast.Add(kStart + seconds(i), 1000.0 + 10 * i);
  const auto fit = forecast.Forecast();
  ASSERT_TRUE(fit);
  EXPECT_DOUBLE_EQ(fit->growth_bytes_per_second, -10);
  EXPECT_FALSE(fit->seconds_until_full);
}

TEST(FillForecast, MemoryIsBoundedBySpacingSamplesOverTheWindow) {
  // An hour at a 100 ms interval would be 36000 samples; 64 are kept.
  FillForecast forecast(minutes(60), 3, 64);
  for (int i = 0; i < 36000; ++i) {
    forecast.Add(kStart + std::chrono::milliseconds(100) * i, 1e9 - 10.0 * i);
  }
  EXPECT_LE(forecast.size(), 65u);
  EXPECT_GE(forecast.size(), 60u);
  EXPECT_NEAR(forecast.Forecast()->growth_bytes_per_second, 100, 1e-6);
}

// A filesystem mounted over the path is another filesystem: its history
// must not bend the new one's line.
TEST(FillForecast, ClearForgetsEverySample) {
  FillForecast forecast(minutes(1), 2, 64);
  forecast.Add(kStart, 10);
  forecast.Add(kStart + seconds(5), 5);
  ASSERT_TRUE(forecast.Forecast());
  forecast.Clear();
  EXPECT_EQ(forecast.size(), 0u);
  EXPECT_FALSE(forecast.Forecast());
}

}  // namespace
}  // namespace atmhealth::agent
