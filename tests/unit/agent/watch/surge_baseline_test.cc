#include "agent/watch/surge_baseline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <vector>

namespace atmhealth::agent {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::system_clock;

// 2024-04-01T00:00:00Z, a Monday.
constexpr system_clock::time_point kMondayUtc{seconds(1711929600)};

SurgeBaseline Utc() {
  auto baseline = SurgeBaseline::Create("UTC");
  EXPECT_TRUE(baseline.ok());
  return std::move(baseline).value();
}

// Observes `tps` every 10 s from `from` for `length`; returns the hours folded.
std::vector<BaselineHour> Traffic(SurgeBaseline& baseline, system_clock::time_point from,
                                  std::chrono::seconds length, double tps) {
  std::vector<BaselineHour> folded;
  for (auto at = from; at < from + length; at += seconds(10)) {
    if (auto hour = baseline.Observe(at, tps, 10)) folded.push_back(*hour);
  }
  return folded;
}

TEST(SurgeBaselineTest, HoursOfTheWeekStartOnSundayInTheZonesLocalTime) {
  SurgeBaseline utc = Utc();
  EXPECT_EQ(utc.HourOfWeek(kMondayUtc), 24);
  EXPECT_EQ(utc.HourOfWeek(kMondayUtc + hours(9) + minutes(59)), 33);
  EXPECT_EQ(utc.HourOfWeek(kMondayUtc - minutes(1)), 23);          // Sunday 23:59
  EXPECT_EQ(utc.HourOfWeek(kMondayUtc + hours(6 * 24 - 1)), 167);  // Saturday 23:00
  EXPECT_EQ(utc.HourOfWeek(kMondayUtc + hours(6 * 24)), 0);        // Sunday 00:00
  auto tokyo = SurgeBaseline::Create("Asia/Tokyo");
  ASSERT_TRUE(tokyo.ok());
  EXPECT_EQ(tokyo->HourOfWeek(kMondayUtc), 24 + 9);  // 09:00 in Tokyo
  EXPECT_FALSE(SurgeBaseline::Create("Mars/Olympus").ok());
}

TEST(SurgeBaselineTest, AnHourCountsOnceItEndsAndWasHalfObserved) {
  SurgeBaseline baseline = Utc();
  // From 09:40: only 20 minutes of the 09:00 hour, which is not counted.
  const auto start = kMondayUtc + hours(9) + minutes(40);
  EXPECT_TRUE(Traffic(baseline, start, minutes(20), 5).empty());
  // The whole 10:00 hour at 6 tps, folded when 11:00 begins.
  EXPECT_TRUE(Traffic(baseline, kMondayUtc + hours(10), hours(1), 6).empty());
  const std::vector<BaselineHour> folded =
      Traffic(baseline, kMondayUtc + hours(11), seconds(10), 1);
  EXPECT_EQ(baseline.Hour(33).weeks, 0u);
  ASSERT_EQ(folded.size(), 1u);
  EXPECT_EQ(folded[0].hour_of_week, 34);
  EXPECT_EQ(folded[0].weeks, 1u);
  EXPECT_DOUBLE_EQ(folded[0].mean_tps, 6);
  EXPECT_EQ(baseline.Hour(34).weeks, 1u);
}

TEST(SurgeBaselineTest, WeeksAverageThenMoveSlowlyAfterTheMaximumWeight) {
  SurgeBaseline baseline = Utc();
  const auto week = hours(7 * 24);
  // Four Mondays at 10:00: 4, 6, 8, 6 tps.
  for (int i = 0; i < 4; ++i) {
    const double tps = std::vector<double>{4, 6, 8, 6}[static_cast<std::size_t>(i)];
    Traffic(baseline, kMondayUtc + i * week + hours(10), hours(1), tps);
    Traffic(baseline, kMondayUtc + i * week + hours(11), seconds(10), 0);
  }
  EXPECT_EQ(baseline.Hour(34).weeks, 4u);
  EXPECT_DOUBLE_EQ(baseline.Hour(34).mean_tps, 6);
  // Past kMaxWeight weeks, one week of 80 tps moves it by 1/kMaxWeight.
  baseline.Restore({BaselineHour{34, 20, 6}});
  Traffic(baseline, kMondayUtc + 20 * week + hours(10), hours(1), 80);
  Traffic(baseline, kMondayUtc + 20 * week + hours(11), seconds(10), 0);
  EXPECT_EQ(baseline.Hour(34).weeks, 21u);
  EXPECT_DOUBLE_EQ(baseline.Hour(34).mean_tps, 6 + (80 - 6) / 8.0);
}

TEST(SurgeBaselineTest, RestoreIgnoresHoursThatAreNotHoursOfTheWeek) {
  SurgeBaseline baseline = Utc();
  baseline.Restore({BaselineHour{-1, 3, 5}, BaselineHour{168, 3, 5}, BaselineHour{7, 3, -2},
                    BaselineHour{8, 4, 2.5}});
  EXPECT_EQ(baseline.Hour(7).weeks, 0u);
  EXPECT_EQ(baseline.Hour(8).weeks, 4u);
  EXPECT_DOUBLE_EQ(baseline.Hour(8).mean_tps, 2.5);
}

// Europe/Berlin leaves summer time on 2024-10-27: 03:00 CEST becomes 02:00
// CET, so 02:00-03:00 local happens twice. Both passes are one local hour
// (Sunday 02:00, hour 2 of the week) of two real hours, at their mean rate.
TEST(SurgeBaselineTest, TheHourThatDaylightSavingTimeRepeatsIsOneHourOfTheWeek) {
  auto baseline = SurgeBaseline::Create("Europe/Berlin");
  ASSERT_TRUE(baseline.ok());
  // 2024-10-27T00:00:00Z is 02:00 CEST.
  const system_clock::time_point first_pass{seconds(1729987200)};
  EXPECT_EQ(baseline->HourOfWeek(first_pass), 2);
  EXPECT_EQ(baseline->HourOfWeek(first_pass + hours(1)), 2);  // 02:00 CET
  EXPECT_EQ(baseline->HourOfWeek(first_pass + hours(2)), 3);
  EXPECT_TRUE(Traffic(*baseline, first_pass, hours(1), 2).empty());
  EXPECT_TRUE(Traffic(*baseline, first_pass + hours(1), hours(1), 4).empty());
  const auto folded = Traffic(*baseline, first_pass + hours(2), seconds(10), 0);
  ASSERT_EQ(folded.size(), 1u);
  EXPECT_EQ(folded[0].hour_of_week, 2);
  EXPECT_EQ(folded[0].weeks, 1u);
  EXPECT_DOUBLE_EQ(folded[0].mean_tps, 3);
}

}  // namespace
}  // namespace atmhealth::agent
