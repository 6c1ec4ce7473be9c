#include "collector/fleet/sites.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/fleet/fleet_json.h"
#include "tests/unit/collector/fleet/fleet_samples.h"

namespace atmhealth::collector::fleet {
namespace {

using ::testing::HasSubstr;

constexpr const char* kTwoSites = R"(
[[site]]
id = "shinjuku-east"
name = "Shinjuku Station East Exit"
address = "3-38-1 Shinjuku, Tokyo"
latitude = 35.6909
longitude = 139.7003
category = "station"
utc_offset = "+09:00"
opening_hours = { mon = "07:00-23:00", fri = "07:00-24:00", sun = "closed" }

[[site]]
id = "haneda-t3"
name = "Haneda Terminal 3"
latitude = 35.5440
longitude = 139.7680
opening_hours = "24/7"
)";

std::string ErrorOf(std::string_view text) {
  Result<SiteRegistry> parsed = SiteRegistry::Parse(text, "sites.toml");
  return parsed ? std::string("parsed") : parsed.error().message();
}

TEST(SiteRegistryTest, ReadsEverySiteWithItsFields) {
  Result<SiteRegistry> registry = SiteRegistry::Parse(kTwoSites, "sites.toml");
  ASSERT_TRUE(registry.ok()) << registry.error().message();
  ASSERT_EQ(registry->sites().size(), 2u);
  const Site* shinjuku = registry->Find("shinjuku-east");
  ASSERT_NE(shinjuku, nullptr);
  EXPECT_EQ(shinjuku->name, "Shinjuku Station East Exit");
  EXPECT_EQ(shinjuku->category, "station");
  EXPECT_EQ(shinjuku->utc_offset_minutes, 9 * 60);
  EXPECT_DOUBLE_EQ(shinjuku->latitude, 35.6909);
  ASSERT_TRUE(shinjuku->hours[0].has_value());
  EXPECT_EQ(shinjuku->hours[0]->open_minute, 7 * 60);
  EXPECT_FALSE(shinjuku->hours[6].has_value());
  EXPECT_EQ(shinjuku->line, 2u);
  const Site* haneda = registry->Find("haneda-t3");
  ASSERT_NE(haneda, nullptr);
  EXPECT_TRUE(haneda->always_open);
  EXPECT_EQ(haneda->category, "other");
  EXPECT_EQ(registry->Find("nowhere"), nullptr);
}

TEST(SiteRegistryTest, OpenNowFollowsTheSitesLocalTimeAndDay) {
  Result<SiteRegistry> registry = SiteRegistry::Parse(kTwoSites, "sites.toml");
  ASSERT_TRUE(registry.ok());
  const Site& shinjuku = *registry->Find("shinjuku-east");
  ASSERT_EQ(Rfc3339(kT0), "2027-01-15T08:00:00.000Z");  // a Friday; 17:00 in Tokyo
  EXPECT_TRUE(shinjuku.OpenAt(kT0));
  // Friday 23:59 in Tokyo: open until midnight on Fridays.
  EXPECT_TRUE(shinjuku.OpenAt(kT0 + (6 * 3600 + 59 * 60) * kSecond));
  // Saturday: no hours given, closed. Sunday: "closed".
  EXPECT_FALSE(shinjuku.OpenAt(kT0 + 1 * 24 * 3600 * kSecond));
  EXPECT_FALSE(shinjuku.OpenAt(kT0 + 2 * 24 * 3600 * kSecond));
  // Monday 06:59 closed, 07:00 open (Monday 07:00 Tokyo is Sunday 22:00 UTC).
  const std::int64_t monday_7 = kT0 + (2 * 24 + 14) * 3600 * kSecond;
  EXPECT_FALSE(shinjuku.OpenAt(monday_7 - 60 * kSecond));
  EXPECT_TRUE(shinjuku.OpenAt(monday_7));
  EXPECT_TRUE(registry->Find("haneda-t3")->OpenAt(monday_7 - 60 * kSecond));
}

TEST(SiteRegistryTest, MistakesAreReportedWithFileLineAndSite) {
  EXPECT_EQ(ErrorOf("[[site]]\nid = \"a\"\nname = \"A\"\nlatitude = 95.0\nlongitude = 1.0\n"),
            "sites.toml:4: site[0].latitude: 95 is not a latitude (-90..90)");
  EXPECT_EQ(ErrorOf("[[site]]\nid = \"a\"\nname = \"A\"\nlatitude = 1.0\n"),
            "sites.toml:1: site[0].longitude: is missing");
  EXPECT_THAT(ErrorOf("[[site]]\nid = \"a b\"\n"),
              HasSubstr("sites.toml:2: site[0].id: \"a b\" is not 1..64 characters"));
  EXPECT_THAT(ErrorOf("[[site]]\nid = \"a\"\nname = \"A\"\nlatitude = 1\nlongitude = 1\n"
                      "category = \"castle\"\n"),
              HasSubstr("sites.toml:6: site[0].category: \"castle\" is not a category"));
  EXPECT_THAT(ErrorOf("[[site]]\nid = \"a\"\nname = \"A\"\nlatitude = 1\nlongitude = 1\n"
                      "opening_hours = { mon = \"21:00-08:00\" }\n"),
              HasSubstr("sites.toml:6: site[0].opening_hours.mon: \"21:00-08:00\" is not"));
  EXPECT_THAT(ErrorOf("[[site]]\nid = \"a\"\nname = \"A\"\nlatitude = 1\nlongitude = 1\n"
                      "opening_hours = { someday = \"closed\" }\n"),
              HasSubstr("sites.toml:6: site[0].opening_hours.someday: unknown day"));
  EXPECT_THAT(ErrorOf("[[site]]\nid = \"a\"\nname = \"A\"\nlatitude = 1\nlongitude = 1\n"
                      "utc_offset = \"JST\"\n"),
              HasSubstr("sites.toml:6: site[0].utc_offset: \"JST\" is not a UTC offset"));
  EXPECT_THAT(ErrorOf("[[site]]\nid = \"a\"\nname = \"A\"\nlatitude = 1\nlongitude = 1\n"
                      "colour = \"red\"\n"),
              HasSubstr("sites.toml:6: site[0].colour: unknown key"));
  EXPECT_EQ(ErrorOf("[[site]]\nid = \"a\"\nname = \"A\"\nlatitude = 1\nlongitude = 1\n\n"
                    "[[site]]\nid = \"a\"\nname = \"B\"\nlatitude = 1\nlongitude = 1\n"),
            "sites.toml:7: site[1].id: \"a\" is already the id of the site on line 1");
  EXPECT_THAT(ErrorOf("[[site]\n"), HasSubstr("sites.toml:1: "));
  EXPECT_THAT(ErrorOf("sites = 3\n"), HasSubstr("sites.toml:1: sites: unknown key"));
}

TEST(GreatCircleTest, MatchesKnownDistances) {
  // One degree of latitude on the mean sphere: 111.195 km.
  EXPECT_NEAR(GreatCircleMeters(35.0, 139.0, 36.0, 139.0), 111'195, 1);
  // Tokyo Station to Osaka Station, about 403 km.
  EXPECT_NEAR(GreatCircleMeters(35.6812, 139.7671, 34.7025, 135.4959), 403'000, 2'000);
  EXPECT_DOUBLE_EQ(GreatCircleMeters(10, 20, 10, 20), 0);
  // Across the antimeridian.
  EXPECT_NEAR(GreatCircleMeters(0, 179.5, 0, -179.5), 111'195, 1);
}

}  // namespace
}  // namespace atmhealth::collector::fleet
