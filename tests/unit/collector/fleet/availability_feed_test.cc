#include "collector/fleet/availability_feed.h"

#include <gtest/gtest.h>

#include "tests/unit/collector/fleet/fleet_samples.h"

namespace atmhealth::collector::fleet {
namespace {

using nlohmann::json;

// Sites along a meridian, `north_m` metres north of 35°N.
std::shared_ptr<const SiteRegistry> Sites() {
  std::string toml;
  for (const auto& [id, north_m, hours] :
       std::vector<std::tuple<std::string, int, std::string>>{{"home", 0, "\"24/7\""},
                                                              {"shut", 100, "{ mon = \"closed\" }"},
                                                              {"one", 1000, "\"24/7\""},
                                                              {"two", 2000, "\"24/7\""},
                                                              {"three", 3000, "\"24/7\""}}) {
    toml += "[[site]]\nid = \"" + id + "\"\nname = \"" + id +
            "\"\nlatitude = " + std::to_string(35.0 + north_m / 111'195.08) +
            "\nlongitude = 139.0\nopening_hours = " + hours + "\n";
  }
  Result<SiteRegistry> registry = SiteRegistry::Parse(toml, "sites.toml");
  EXPECT_TRUE(registry.ok()) << registry.error().message();
  return std::make_shared<const SiteRegistry>(std::move(*registry));
}

json SiteOf(const json& feed, const std::string& id) {
  for (const json& site : feed["sites"]) {
    if (site["site_id"] == id) return site;
  }
  return nullptr;
}

TEST(AvailabilityFeedTest, NamesNearestOpenReachableAtmsOfferingTheLostService) {
  std::vector<StoredDevice> devices = {
      SampleDevice("atm-home", "home"), SampleDevice("atm-home-2", "home"),
      SampleDevice("atm-shut", "shut"), SampleDevice("atm-one", "one"),
      SampleDevice("atm-two", "two"),   SampleDevice("atm-three", "three", kT0 - 3600 * kSecond)};
  SetService(devices[0], "withdrawal", "out_of_service", kT0 - kSecond);
  SetService(devices[1], "withdrawal", "out_of_service", kT0 - 2 * kSecond);
  SetService(devices[3], "withdrawal", "degraded", kT0, "latency:core");  // slow, but works
  devices[4].kind = "branch_server";  // customers cannot use a server
  const FleetSnapshot snapshot = DeriveFleet(devices, Sites(), FleetRules{}, kT0 + kSecond);
  const json feed = AvailabilityFeed(snapshot, FeedOptions{3});
  const json home = SiteOf(feed, "home");
  ASSERT_TRUE(home.is_object()) << feed.dump(2);
  EXPECT_EQ(home["open_now"], true);
  const json& withdrawal = home["services"][1];
  EXPECT_EQ(withdrawal["service"], "withdrawal");
  EXPECT_EQ(withdrawal["available"], false);
  // The site lost it when its last device did.
  EXPECT_EQ(withdrawal["out_since"], "2027-01-15T07:59:59.000Z");
  // Closed site, server and unreachable ATM passed over: only atm-one.
  ASSERT_EQ(withdrawal["nearest"].size(), 1u) << withdrawal.dump(2);
  EXPECT_EQ(withdrawal["nearest"][0]["device_id"], "atm-one");
  EXPECT_EQ(withdrawal["nearest"][0]["distance_m"], 1000);
  EXPECT_EQ(home["services"][0]["available"], true);  // deposit
  EXPECT_TRUE(home["services"][0]["nearest"].empty());
  EXPECT_EQ(home["devices"][0]["in_service"], false);

  // atm-three is unreachable: nothing it offers is available.
  const json three = SiteOf(feed, "three");
  EXPECT_EQ(three["devices"][0]["in_service"], false);
  EXPECT_EQ(three["devices"][0]["services"][0]["state"], "unknown");
  EXPECT_EQ(three["services"][0]["service"], "deposit");
  EXPECT_EQ(three["services"][0]["nearest"][0]["device_id"], "atm-one");
  EXPECT_EQ(three["services"][0]["nearest"][0]["distance_m"], 2000);
}

TEST(AvailabilityFeedTest, SameStateGivesTheSameBytesAndOneSiteCanBeAskedFor) {
  const std::vector<StoredDevice> devices = {SampleDevice("atm-home", "home"),
                                             SampleDevice("atm-one", "one")};
  const std::string first =
      AvailabilityFeed(DeriveFleet(devices, Sites(), FleetRules{}, kT0 + kSecond), {}).dump();
  const std::string second =
      AvailabilityFeed(DeriveFleet(devices, Sites(), FleetRules{}, kT0 + 2 * kSecond), {}).dump();
  EXPECT_EQ(first, second);
  const json one =
      AvailabilityFeed(DeriveFleet(devices, Sites(), FleetRules{}, kT0 + kSecond), {}, "one");
  ASSERT_EQ(one["sites"].size(), 1u);
  EXPECT_EQ(one["sites"][0]["site_id"], "one");
}

}  // namespace
}  // namespace atmhealth::collector::fleet
