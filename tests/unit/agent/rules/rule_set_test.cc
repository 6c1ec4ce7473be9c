// The rule set on time and across watchers: threshold rules evaluated
// between measurements, silent subjects, rules declared and retired by their
// watcher, and no alert without its FSA category.
#include "agent/rules/rule_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ThresholdSpec Backlog() {
  // Transactions waiting at the host: a feed, measured when it reports.
  ThresholdSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
  spec.warning = 100;
  spec.critical = 500;
  spec.impact_unavailable = {v1::CUSTOMER_SERVICE_TRANSFER};
  return spec;
}

Measurement Waiting(double count) {
  return Measurement(v1::ALERT_KIND_THROUGHPUT_CAPACITY, "host", count, v1::UNIT_COUNT);
}

class RuleSetOnTime : public ::testing::Test {
 protected:
  std::vector<v1::Event> Feed(double count) {
    std::vector<v1::Event> events;
    rules_.Evaluate({Waiting(count)}, clock_, events);
    return events;
  }
  std::vector<v1::Event> Tick() {
    std::vector<v1::Event> events;
    rules_.Tick(clock_, events);
    return events;
  }

  FakeClock clock_;
  RuleSet rules_;
};

TEST_F(RuleSetOnTime, AThresholdLevelHeldForItsDurationFiresWithoutANewMeasurement) {
  ThresholdSpec spec = Backlog();
  spec.for_duration = minutes(5);
  ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_THROUGHPUT_CAPACITY, "host", spec).ok());
  EXPECT_THAT(Feed(150), IsEmpty());
  clock_.Advance(minutes(4));
  EXPECT_THAT(Tick(), IsEmpty());
  clock_.Advance(minutes(1));
  const auto fired = Tick();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(fired[0].value(), 150);
  EXPECT_EQ(fired[0].monotonic_ns(), platform::MonotonicNanos(clock_.MonotonicNow()));
  clock_.Advance(minutes(10));
  EXPECT_THAT(Tick(), IsEmpty());
}

// Regression of the behaviour before rules ran on time: with no staleness
// configured a silent subject keeps its alert, and ticks change nothing.
TEST_F(RuleSetOnTime, WithoutAStalenessLimitASilentSubjectKeepsItsAlert) {
  ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_THROUGHPUT_CAPACITY, "host", Backlog()).ok());
  ASSERT_EQ(Feed(600).size(), 1u);
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(minutes(60));
    EXPECT_THAT(Tick(), IsEmpty());
  }
  EXPECT_EQ(rules_.Find("throughput_capacity:host")->firing_severity(), v1::SEVERITY_CRITICAL);
}

TEST_F(RuleSetOnTime, ASilentFeedResolvesItsAlertWhenConfiguredTo) {
  ThresholdSpec spec = Backlog();
  spec.staleness.after = seconds(30);
  spec.staleness.outcome = Staleness::Outcome::kResolve;
  ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_THROUGHPUT_CAPACITY, "host", spec).ok());
  ASSERT_EQ(Feed(600).size(), 1u);
  clock_.Advance(seconds(29));
  EXPECT_THAT(Tick(), IsEmpty());
  clock_.Advance(seconds(1));
  const auto resolved = Tick();
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(resolved[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(resolved[0].threshold(), 100);
  EXPECT_EQ(resolved[0].category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
  EXPECT_EQ(resolved[0].summary(),
            "throughput_capacity host: nothing measured for 30s, resolved (was critical)");
  EXPECT_TRUE(rules_.Find("throughput_capacity:host")->stale());
}

TEST_F(RuleSetOnTime, ASilentFeedFiresWhenSilenceIsTheFailureAndResolvesWhenItReports) {
  ThresholdSpec spec = Backlog();
  spec.staleness.after = seconds(30);
  spec.staleness.outcome = Staleness::Outcome::kFire;
  spec.staleness.severity = v1::SEVERITY_CRITICAL;
  ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_THROUGHPUT_CAPACITY, "host", spec).ok());
  EXPECT_THAT(Feed(10), IsEmpty());
  clock_.Advance(seconds(30));
  const auto fired = Tick();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(fired[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(fired[0].threshold(), 500);
  EXPECT_EQ(fired[0].impact().unavailable(0), v1::CUSTOMER_SERVICE_TRANSFER);
  EXPECT_EQ(fired[0].summary(), "throughput_capacity host: nothing measured for 30s (critical)");
  const auto back = Feed(10);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].state(), v1::ALERT_STATE_RESOLVED);
}

TEST(RuleSet, ARuleWithoutItsFsaCategoryIsRefused) {
  RuleSet rules;
  const Status threshold =
      rules.Set(v1::ALERT_KIND_STORAGE, "/var", ThresholdSpec(v1::FAILURE_CATEGORY_UNSPECIFIED));
  ASSERT_FALSE(threshold.ok());
  EXPECT_THAT(threshold.error().message(), HasSubstr("storage:/var: no FSA failure category"));
  const Status state =
      rules.Set(v1::ALERT_KIND_RAID, "md0", StateSpec(v1::FAILURE_CATEGORY_UNSPECIFIED));
  ASSERT_FALSE(state.ok());
  EXPECT_TRUE(rules.rules().empty());
}

TEST(RuleSet, AKeyKeepsItsKindOfRule) {
  RuleSet rules;
  ASSERT_TRUE(rules
                  .Set(v1::ALERT_KIND_RAID, "md0",
                       ThresholdSpec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY))
                  .ok());
  const Status status = rules.Set(v1::ALERT_KIND_RAID, "md0",
                                  StateSpec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message(), HasSubstr("raid:md0 is not a state rule"));
}

TEST(RuleSet, DeclareRetiresWhatAWatcherNoLongerWatchesAndLeavesOthersAlone) {
  RuleSet rules;
  FakeClock clock;
  std::vector<v1::Event> events;
  ThresholdSpec space(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  space.warning = 80;
  space.critical = 90;
  ASSERT_TRUE(rules
                  .Declare("storage",
                           {{v1::ALERT_KIND_STORAGE, "/var", space},
                            {v1::ALERT_KIND_STORAGE, "/mnt/usb", space}},
                           clock, events)
                  .ok());
  ASSERT_TRUE(rules
                  .Declare("link",
                           {{v1::ALERT_KIND_LINK_GROUP, "uplink",
                             StateSpec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY)}},
                           clock, events)
                  .ok());
  rules.Evaluate({Measurement(v1::ALERT_KIND_STORAGE, "/mnt/usb", 95, v1::UNIT_PERCENT)}, clock,
                 events);
  ASSERT_EQ(events.size(), 1u);
  events.clear();

  // /mnt/usb was unmounted: its firing alert closes, /var and the link stay.
  ASSERT_TRUE(
      rules.Declare("storage", {{v1::ALERT_KIND_STORAGE, "/var", space}}, clock, events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(events[0].alert_key(), "storage:/mnt/usb");
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(events[0].category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  EXPECT_EQ(events[0].value(), 95);
  EXPECT_EQ(events[0].summary(), "/mnt/usb: no longer watched; alert closed");
  EXPECT_EQ(rules.Find("storage:/mnt/usb"), nullptr);
  EXPECT_NE(rules.Find("storage:/var"), nullptr);
  EXPECT_NE(rules.Find("link_group:uplink"), nullptr);
}

TEST(RuleSet, DeclareAppliesTheValidDefinitionsAndReportsTheBadOne) {
  RuleSet rules;
  FakeClock clock;
  std::vector<v1::Event> events;
  const Status status = rules.Declare(
      "storage",
      {{v1::ALERT_KIND_STORAGE, "/var", ThresholdSpec(v1::FAILURE_CATEGORY_UNSPECIFIED)},
       {v1::ALERT_KIND_INODES, "/var",
        ThresholdSpec(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE)}},
      clock, events);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(rules.Find("storage:/var"), nullptr);
  EXPECT_NE(rules.Find("inodes:/var"), nullptr);
}

}  // namespace
}  // namespace atmhealth::agent
