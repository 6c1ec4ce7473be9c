#include "platform/time_zone.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace atmhealth::platform {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::chrono::system_clock::time_point UnixSeconds(std::int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

TEST(TimeZoneTest, LocalTimeIsTheInstantPlusTheZonesOffsetThen) {
  const TimeZone tokyo = TimeZone::Locate("Asia/Tokyo").value();
  EXPECT_EQ(tokyo.name(), "Asia/Tokyo");
  // 2024-04-01T00:00:00Z is 09:00 in Tokyo.
  EXPECT_EQ(tokyo.LocalSinceEpoch(UnixSeconds(1711929600)), 1711929600s + 9h);
  const TimeZone utc = TimeZone::Locate("UTC").value();
  EXPECT_EQ(utc.LocalSinceEpoch(UnixSeconds(1711929600) + 999ms), 1711929600s);
}

// Morocco leaves UTC+1 for UTC+0 during Ramadan: dates the TZif file lists
// one by one (its closing POSIX rule says only "<+01>-1"), so a zone read
// from that rule alone would be an hour off for a month each year.
TEST(TimeZoneTest, TransitionsListedInTheDatabaseAreFollowedNotOnlyTheZonesRule) {
  const TimeZone casablanca = TimeZone::Locate("Africa/Casablanca").value();
  // 2025-01-15T12:00:00Z: UTC+1.
  EXPECT_EQ(casablanca.LocalSinceEpoch(UnixSeconds(1736942400)), 1736942400s + 1h);
  // 2025-03-10T12:00:00Z, in Ramadan: UTC+0.
  EXPECT_EQ(casablanca.LocalSinceEpoch(UnixSeconds(1741608000)), 1741608000s);
}

TEST(TimeZoneTest, OnlyNamesOfTheDatabaseAreZones) {
  for (const char* name : {"Mars/Olympus", "", "localtime", "/etc/localtime", "file:/etc/localtime",
                           "../zoneinfo/UTC"}) {
    auto zone = TimeZone::Locate(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_THAT(zone.error().message(), HasSubstr("is not a time zone of this system's"));
  }
}

TEST(TimeZoneTest, TheSystemsZoneIsOneOfTheDatabase) {
  EXPECT_TRUE(TimeZone::Locate(SystemTimeZoneName()).ok());
}

}  // namespace
}  // namespace atmhealth::platform
