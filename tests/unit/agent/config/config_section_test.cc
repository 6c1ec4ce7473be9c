// The shared readers a watcher uses for its own section: state outcomes and
// staleness, with errors that name file, line and key.
#include "agent/config_section.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace atmhealth::agent {
namespace {

using ::testing::ElementsAre;

const std::vector<v1::CustomerService> kOffered = {
    v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT, v1::CUSTOMER_SERVICE_INQUIRY};

// Parses `text` and reads the section `raid` of it with `read`.
template <typename Read>
Status ReadRaid(const std::string& text, Read read) {
  const toml::table root = toml::parse(text, std::string_view("atmhealthd.toml"));
  const ConfigSection top("atmhealthd.toml", root, "", 1);
  auto raid = top.Child("raid");
  if (!raid.ok()) return raid.error();
  return read(*raid);
}

TEST(ConfigSectionStates, EachStateGetsItsSeverityAndImpact) {
  StateSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  const Status status = ReadRaid(
      R"([raid.states]
degraded = { severity = "critical", degraded = ["withdrawal"] }
failed_over = { severity = "none" }
down = { unavailable = ["withdrawal", "deposit"] }
)",
      [&](const ConfigSection& raid) { return raid.ReadStates("states", kOffered, spec); });
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_EQ(spec.outcome(RedundancyState::kDegraded).severity, v1::SEVERITY_CRITICAL);
  EXPECT_THAT(spec.outcome(RedundancyState::kDegraded).impact.degraded,
              ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));
  EXPECT_EQ(spec.outcome(RedundancyState::kFailedOver).severity, v1::SEVERITY_UNSPECIFIED);
  EXPECT_EQ(spec.outcome(RedundancyState::kDown).severity, v1::SEVERITY_CRITICAL);  // default
  EXPECT_THAT(spec.outcome(RedundancyState::kDown).impact.unavailable,
              ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT));
  EXPECT_EQ(spec.outcome(RedundancyState::kSplitBrain).severity, v1::SEVERITY_CRITICAL);
}

TEST(ConfigSectionStates, MistakesNameFileLineAndKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"[raid.states]\nredundant = { severity = \"warning\" }\n",
       "atmhealthd.toml:2: raid.states.redundant: unknown key (valid keys: degraded, recovering, "
       "failed_over, "
       "split_brain, down)"},
      {"[raid.states]\ndegraded = { severity = \"urgent\" }\n",
       "atmhealthd.toml:2: raid.states.degraded.severity: unknown severity \"urgent\" (valid: "
       "none, info, warning, critical)"},
      {"[raid.states]\n\ndown = { unavailable = [\"passbook\"] }\n",
       "atmhealthd.toml:3: raid.states.down.unavailable: \"passbook\" is not among "
       "device.services (withdrawal, deposit, inquiry)"},
      {"[raid.states]\ndown = { color = \"red\" }\n",
       "atmhealthd.toml:2: raid.states.down.color: unknown key (valid keys: severity, "
       "unavailable, degraded)"},
      {"[raid]\nstates = 3\n",
       "atmhealthd.toml:2: raid.states: must be a table ([raid.states]), not an integer"},
  };
  for (const auto& [text, expected] : cases) {
    StateSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
    const Status status = ReadRaid(
        text, [&](const ConfigSection& raid) { return raid.ReadStates("states", kOffered, spec); });
    ASSERT_FALSE(status.ok()) << text;
    EXPECT_EQ(status.error().message(), expected);
  }
}

TEST(ConfigSectionStaleness, OutcomesForStateAndThresholdRules) {
  Staleness peer;
  ASSERT_TRUE(ReadRaid("[raid]\nstale_after = \"15s\"\nwhen_stale = \"failed_over\"\n",
                       [&](const ConfigSection& raid) {
                         return raid.ReadStaleness("stale_after", "when_stale", true, peer);
                       })
                  .ok());
  EXPECT_EQ(peer.after, std::chrono::seconds(15));
  EXPECT_EQ(peer.outcome, Staleness::Outcome::kFire);
  EXPECT_EQ(peer.state, RedundancyState::kFailedOver);

  Staleness feed;
  ASSERT_TRUE(ReadRaid("[raid]\nstale_after = \"1m\"\nwhen_stale = \"critical\"\n",
                       [&](const ConfigSection& raid) {
                         return raid.ReadStaleness("stale_after", "when_stale", false, feed);
                       })
                  .ok());
  EXPECT_EQ(feed.outcome, Staleness::Outcome::kFire);
  EXPECT_EQ(feed.severity, v1::SEVERITY_CRITICAL);

  Staleness gone;
  ASSERT_TRUE(ReadRaid("[raid]\nstale_after = \"1m\"\nwhen_stale = \"resolve\"\n",
                       [&](const ConfigSection& raid) {
                         return raid.ReadStaleness("stale_after", "when_stale", true, gone);
                       })
                  .ok());
  EXPECT_EQ(gone.outcome, Staleness::Outcome::kResolve);
}

TEST(ConfigSectionStaleness, MistakesNameFileLineAndKey) {
  const std::tuple<std::string, bool, std::string> cases[] = {
      {"[raid]\nstale_after = \"15s\"\nwhen_stale = \"critical\"\n", true,
       "atmhealthd.toml:3: raid.when_stale: unknown outcome \"critical\" (valid: keep, resolve, "
       "degraded, recovering, failed_over, split_brain, down)"},
      {"[raid]\nstale_after = \"15s\"\nwhen_stale = \"down\"\n", false,
       "atmhealthd.toml:3: raid.when_stale: unknown outcome \"down\" (valid: keep, resolve, "
       "warning, critical)"},
      {"[raid]\nwhen_stale = \"down\"\n", true,
       "atmhealthd.toml:2: raid.when_stale: raid.when_stale = \"down\" needs raid.stale_after "
       "longer than zero"},
      {"[raid]\nstale_after = 15\n", true,
       "atmhealthd.toml:2: raid.stale_after: must be a duration string like \"30s\" (units ms, s, "
       "m, h, d), not an integer"},
  };
  for (const auto& [text, state_rule, expected] : cases) {
    Staleness staleness;
    const Status status = ReadRaid(text, [&](const ConfigSection& raid) {
      return raid.ReadStaleness("stale_after", "when_stale", state_rule, staleness);
    });
    ASSERT_FALSE(status.ok()) << text;
    EXPECT_EQ(status.error().message(), expected);
  }
}

TEST(ConfigSectionCategory, ReadsShortNamesAndRefusesOthers) {
  v1::FailureCategory category = v1::FAILURE_CATEGORY_UNSPECIFIED;
  ASSERT_TRUE(
      ReadRaid("[raid]\ncategory = \"daily_operation_redundancy\"\n",
               [&](const ConfigSection& raid) { return raid.ReadCategory("category", category); })
          .ok());
  EXPECT_EQ(category, v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  const Status status =
      ReadRaid("[raid]\ncategory = \"unspecified\"\n",
               [&](const ConfigSection& raid) { return raid.ReadCategory("category", category); });
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message(),
              ::testing::StartsWith("atmhealthd.toml:2: raid.category: unknown category"));
}

}  // namespace
}  // namespace atmhealth::agent
