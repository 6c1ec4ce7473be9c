#include "agent/watch/business_hours.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace atmhealth::agent {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::year;

constexpr std::array<bool, 7> kWeekdays = {false, true, true, true, true, true, false};
constexpr std::array<bool, 7> kEveryDay = {true, true, true, true, true, true, true};

BusinessHours Hours(std::string_view zone, std::array<bool, 7> days, std::string_view open,
                    std::string_view close, std::vector<std::string> holidays = {}) {
  auto hours =
      BusinessHours::Create(zone, days, *ParseTimeOfDay(open), *ParseTimeOfDay(close), holidays);
  EXPECT_TRUE(hours.ok()) << hours.error().message();
  return std::move(hours).value();
}

// A UTC instant: UTC(2024, 4, 1, 9h + 30min).
std::chrono::system_clock::time_point UTC(int y, unsigned m, unsigned d,
                                          std::chrono::minutes time) {
  return sys_days{year{y} / m / d} + time;
}

TEST(BusinessHoursTest, OpenOnWeekdaysBetweenOpeningAndClosing) {
  const BusinessHours hours = Hours("UTC", kWeekdays, "08:00", "18:00");
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 1, 9h)));           // Monday
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 1, 8h)));           // opening is inside
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 1, 7h + 59min)));  // not yet
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 1, 18h)));         // closing is outside
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 6, 12h)));         // Saturday
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 5, 17h + 59min)));  // Friday
}

TEST(BusinessHoursTest, LocalTimeOfTheZoneNotUtc) {
  const BusinessHours hours = Hours("Asia/Tokyo", kWeekdays, "09:00", "15:00");
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 1, 0h + 30min)));  // 09:30 JST Monday
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 1, 9h)));         // 18:00 JST
  // Sunday 23:30 UTC is Monday 08:30 JST: not yet; Monday 00:00 UTC is 09:00.
  EXPECT_FALSE(hours.Contains(UTC(2024, 3, 31, 23h + 30min)));
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 1, 0h)));
}

TEST(BusinessHoursTest, HoursPastMidnightBelongToTheDayTheyOpened) {
  std::array<bool, 7> friday{};
  friday[5] = true;
  const BusinessHours hours = Hours("UTC", friday, "22:00", "02:00");
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 5, 22h)));           // Friday evening
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 6, 1h + 59min)));    // Saturday's small hours
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 6, 2h)));           // closed
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 6, 22h + 30min)));  // Saturday evening
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 5, 1h)));           // Thursday's hours: none
}

TEST(BusinessHoursTest, DaylightSavingChangesFollowTheLocalClock) {
  const BusinessHours hours = Hours("America/New_York", kEveryDay, "09:00", "17:00");
  // Before 2026-03-08 New York is UTC-5, after it UTC-4.
  EXPECT_TRUE(hours.Contains(UTC(2026, 3, 6, 14h + 30min)));   // 09:30 EST
  EXPECT_FALSE(hours.Contains(UTC(2026, 3, 6, 13h + 30min)));  // 08:30 EST
  EXPECT_TRUE(hours.Contains(UTC(2026, 3, 9, 13h + 30min)));   // 09:30 EDT
  EXPECT_FALSE(hours.Contains(UTC(2026, 3, 9, 21h + 30min)));  // 17:30 EDT
  // The day of the change itself: 09:00 local is 13:00 UTC.
  EXPECT_TRUE(hours.Contains(UTC(2026, 3, 8, 13h)));
  EXPECT_FALSE(hours.Contains(UTC(2026, 3, 8, 12h + 59min)));
  // Back to UTC-5 on 2026-11-01.
  EXPECT_FALSE(hours.Contains(UTC(2026, 11, 2, 13h + 30min)));  // 08:30 EST
  EXPECT_TRUE(hours.Contains(UTC(2026, 11, 2, 14h + 30min)));   // 09:30 EST
}

// Night hours over the nights the clocks change: the hours follow the local
// clock, so the night is an hour shorter in spring and longer in autumn.
TEST(BusinessHoursTest, NightHoursAcrossADaylightSavingChange) {
  const BusinessHours night = Hours("America/New_York", kEveryDay, "22:00", "04:00");
  // 2026-03-08 02:00 EST becomes 03:00 EDT.
  EXPECT_FALSE(night.Contains(UTC(2026, 3, 8, 2h + 59min)));  // Saturday 21:59 EST
  EXPECT_TRUE(night.Contains(UTC(2026, 3, 8, 3h)));           // 22:00 EST
  EXPECT_TRUE(night.Contains(UTC(2026, 3, 8, 6h + 59min)));   // 01:59 EST
  EXPECT_TRUE(night.Contains(UTC(2026, 3, 8, 7h)));           // 03:00 EDT, a second later
  EXPECT_TRUE(night.Contains(UTC(2026, 3, 8, 7h + 59min)));   // 03:59 EDT
  EXPECT_FALSE(night.Contains(UTC(2026, 3, 8, 8h)));          // 04:00 EDT: five hours long
  // 2026-11-01 02:00 EDT becomes 01:00 EST: 01:00-02:00 happens twice.
  EXPECT_TRUE(night.Contains(UTC(2026, 11, 1, 2h)));          // Saturday 22:00 EDT
  EXPECT_TRUE(night.Contains(UTC(2026, 11, 1, 5h + 30min)));  // 01:30 EDT
  EXPECT_TRUE(night.Contains(UTC(2026, 11, 1, 6h + 30min)));  // 01:30 EST, again
  EXPECT_TRUE(night.Contains(UTC(2026, 11, 1, 8h + 59min)));  // 03:59 EST
  EXPECT_FALSE(night.Contains(UTC(2026, 11, 1, 9h)));         // 04:00 EST: seven hours long
}

// Hours that open in the hour the spring change skips open when the local
// clock passes their time, at 03:00.
TEST(BusinessHoursTest, OpeningInTheSkippedHourOpensWhenTheClockPassesIt) {
  const BusinessHours hours = Hours("America/New_York", kEveryDay, "02:30", "06:00");
  EXPECT_FALSE(hours.Contains(UTC(2026, 3, 8, 6h + 59min)));  // 01:59 EST
  EXPECT_TRUE(hours.Contains(UTC(2026, 3, 8, 7h)));           // 03:00 EDT
  EXPECT_TRUE(hours.Contains(UTC(2026, 3, 7, 7h + 30min)));   // the day before, 02:30 EST
  EXPECT_FALSE(hours.Contains(UTC(2026, 3, 7, 7h + 29min)));
}

// Hours past midnight on a Friday only, across the day boundary: Saturday's
// small hours belong to Friday, and a holiday on Friday closes them too.
TEST(BusinessHoursTest, TheDayBoundaryBelongsToTheDayTheHoursOpened) {
  const std::array<bool, 7> friday = {false, false, false, false, false, true, false};
  const BusinessHours hours = Hours("Asia/Tokyo", friday, "20:00", "03:00", {"2024-04-12"});
  // Friday 2024-04-05 20:00 JST is 11:00 UTC; Saturday 02:59 JST is 17:59 UTC.
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 5, 10h + 59min)));
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 5, 11h)));
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 5, 15h)));  // midnight JST
  EXPECT_TRUE(hours.Contains(UTC(2024, 4, 5, 17h + 59min)));
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 5, 18h)));  // Saturday 03:00 JST
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 6, 11h)));  // Saturday 20:00: not a Friday
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 6, 16h)));  // Sunday 01:00: Saturday's, none
  // Friday 2024-04-12 is a holiday: neither its evening nor its small hours.
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 12, 12h)));
  EXPECT_FALSE(hours.Contains(UTC(2024, 4, 12, 16h)));
}

TEST(BusinessHoursTest, HolidaysAreClosedIncludingTheirNightHours) {
  const BusinessHours day = Hours("UTC", kWeekdays, "08:00", "18:00", {"2024-04-01"});
  EXPECT_FALSE(day.Contains(UTC(2024, 4, 1, 9h)));
  EXPECT_TRUE(day.Contains(UTC(2024, 4, 2, 9h)));
  const BusinessHours night = Hours("UTC", kEveryDay, "22:00", "02:00", {"2024-04-01"});
  EXPECT_FALSE(night.Contains(UTC(2024, 4, 1, 23h)));
  EXPECT_FALSE(night.Contains(UTC(2024, 4, 2, 1h)));  // the holiday's night
  EXPECT_TRUE(night.Contains(UTC(2024, 4, 1, 1h)));   // the night before it
}

TEST(BusinessHoursTest, BadInputIsNamed) {
  EXPECT_THAT(ParseTimeOfDay("8:00").error().message(), HasSubstr("HH:MM"));
  EXPECT_THAT(ParseTimeOfDay("24:30").error().message(), HasSubstr("between 00:00 and 24:00"));
  EXPECT_THAT(ParseTimeOfDay("12:60").error().message(), HasSubstr("between"));
  EXPECT_EQ(*ParseTimeOfDay("24:00"), 24h);
  EXPECT_EQ(*ParseWeekday("sun"), 0);
  EXPECT_THAT(ParseWeekday("monday").error().message(), HasSubstr("not a day of the week"));
  EXPECT_THAT(BusinessHours::Create("Mars/Olympus", kWeekdays, 8h, 18h, {}).error().message(),
              HasSubstr("\"Mars/Olympus\" is not a time zone"));
  EXPECT_THAT(BusinessHours::Create("UTC", kWeekdays, 8h, 18h, {"2024-02-30"}).error().message(),
              HasSubstr("\"2024-02-30\" is not a date"));
  EXPECT_THAT(BusinessHours::Create("UTC", kWeekdays, 8h, 18h, {"2024-4-1"}).error().message(),
              HasSubstr("YYYY-MM-DD"));
}

}  // namespace
}  // namespace atmhealth::agent
