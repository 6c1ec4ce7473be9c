#include "platform/time_argument.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace atmhealth::platform {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kNs = 1'000'000'000;
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));

TEST(TimeArgument, ADurationIsThatLongAgo) {
  EXPECT_EQ(ParseTimeArgument("2h", kNow).value(), (1'700'000'000 - 7200) * kNs);
  EXPECT_EQ(ParseTimeArgument("30m", kNow).value(), (1'700'000'000 - 1800) * kNs);
}

TEST(TimeArgument, AnExplicitOffsetOrZIsUsedAsGiven) {
  EXPECT_EQ(ParseTimeArgument("2023-11-14T22:13:20Z", kNow).value(), 1'700'000'000 * kNs);
  EXPECT_EQ(ParseTimeArgument("2023-11-15T07:13:20+09:00", kNow).value(), 1'700'000'000 * kNs);
  EXPECT_EQ(ParseTimeArgument("2023-11-14 17:13:20-0500", kNow).value(), 1'700'000'000 * kNs);
}

TEST(TimeArgument, WithoutAnOffsetTheLocalZoneApplies) {
  setenv("TZ", "JST-9", 1);
  tzset();
  EXPECT_EQ(ParseTimeArgument("2023-11-15 07:13:20", kNow).value(), 1'700'000'000 * kNs);
  EXPECT_EQ(ParseTimeArgument("2023-11-15 07:13", kNow).value(), (1'700'000'000 - 20) * kNs);
  EXPECT_EQ(ParseTimeArgument("2023-11-15", kNow).value(),
            (1'700'000'000 - 7 * 3600 - 13 * 60 - 20) * kNs);
  unsetenv("TZ");
  tzset();
}

TEST(TimeArgument, NonsenseIsRefusedQuotingItAndTheForms) {
  for (const char* text :
       {"", "yesterday", "2023-13-01", "2023-11-14 25:00", "2023-11-14T10:00x", "5 minutes"}) {
    Result<std::int64_t> at = ParseTimeArgument(text, kNow);
    ASSERT_FALSE(at.ok()) << text;
    EXPECT_THAT(at.error().message(), HasSubstr(std::string("\"") + text + "\""));
    EXPECT_THAT(at.error().message(), HasSubstr("a duration ago"));
  }
}

}  // namespace
}  // namespace atmhealth::platform
