// State rules: a redundant thing's state becomes an alert with the severity
// and customer impact the config gives that state.
#include "agent/rules/state_rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "agent/rules/rule_set.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// md0 mirrors the journal disk: down takes cash services away.
StateSpec Md0Spec() {
  StateSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  spec.outcome(RedundancyState::kDegraded).severity = v1::SEVERITY_CRITICAL;
  spec.outcome(RedundancyState::kDegraded).impact.degraded = {v1::CUSTOMER_SERVICE_WITHDRAWAL};
  spec.outcome(RedundancyState::kDown).impact.unavailable = {v1::CUSTOMER_SERVICE_WITHDRAWAL,
                                                             v1::CUSTOMER_SERVICE_DEPOSIT};
  return spec;
}

Measurement Md0(RedundancyState state, double working_members) {
  Measurement measurement(v1::ALERT_KIND_RAID, "md0", working_members, v1::UNIT_COUNT,
                          {{"failed", "sdb1"}});
  measurement.state = state;
  measurement.expected = 2;
  return measurement;
}

class StateRuleTest : public ::testing::Test {
 protected:
  void SetRule(StateSpec spec) {
    ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_RAID, "md0", std::move(spec)).ok());
  }
  std::vector<v1::Event> Feed(RedundancyState state, double working = 2) {
    std::vector<v1::Event> events;
    rules_.Evaluate({Md0(state, working)}, clock_, events);
    return events;
  }
  std::vector<v1::Event> Tick() {
    std::vector<v1::Event> events;
    rules_.Tick(clock_, events);
    return events;
  }
  const StateRule& Rule() const { return dynamic_cast<const StateRule&>(*rules_.Find("raid:md0")); }

  FakeClock clock_;
  RuleSet rules_;
};

TEST_F(StateRuleTest, RedundancyLostWhileServiceUpFiresWithTheStatesSeverityAndImpact) {
  SetRule(Md0Spec());
  EXPECT_THAT(Feed(RedundancyState::kRedundant), IsEmpty());
  const auto events = Feed(RedundancyState::kDegraded, 1);
  ASSERT_EQ(events.size(), 1u);
  const v1::Event& event = events[0];
  EXPECT_EQ(event.state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(event.severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(event.kind(), v1::ALERT_KIND_RAID);
  EXPECT_EQ(event.subject(), "md0");
  EXPECT_EQ(event.alert_key(), "raid:md0");
  EXPECT_EQ(event.value(), 1);
  EXPECT_EQ(event.threshold(), 2);
  EXPECT_EQ(event.unit(), v1::UNIT_COUNT);
  EXPECT_EQ(event.category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  EXPECT_THAT(event.impact().unavailable(), IsEmpty());
  EXPECT_THAT(event.impact().degraded(), ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));
  EXPECT_EQ(event.summary(), "raid md0: redundancy lost while the service is still up (1 of 2)");
  ASSERT_EQ(event.context_size(), 2);
  EXPECT_EQ(event.context(0).key(), "state");
  EXPECT_EQ(event.context(0).value(), "degraded");
  EXPECT_EQ(event.context(1).key(), "failed");
  EXPECT_THAT(Feed(RedundancyState::kDegraded, 1), IsEmpty());  // no news, no event
}

TEST_F(StateRuleTest, EveryChangeOfAlertingStateIsNewsAndRedundantResolves) {
  SetRule(Md0Spec());
  Feed(RedundancyState::kDegraded, 1);
  const auto down = Feed(RedundancyState::kDown, 0);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].severity(), v1::SEVERITY_CRITICAL);  // same severity, other state
  EXPECT_THAT(down[0].impact().unavailable(),
              ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT));
  EXPECT_EQ(Rule().firing_state(), RedundancyState::kDown);
  const auto resolved = Feed(RedundancyState::kRedundant, 2);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(resolved[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_FALSE(resolved[0].has_impact());
  EXPECT_EQ(resolved[0].summary(), "raid md0: redundant (2 of 2), resolved (was down, critical)");
  EXPECT_EQ(Rule().firing_severity(), v1::SEVERITY_UNSPECIFIED);
}

TEST_F(StateRuleTest, AStateConfiguredWithoutSeverityIsNoAlert) {
  StateSpec spec = Md0Spec();
  spec.outcome(RedundancyState::kFailedOver).severity = v1::SEVERITY_UNSPECIFIED;
  SetRule(spec);
  EXPECT_THAT(Feed(RedundancyState::kFailedOver), IsEmpty());
  Feed(RedundancyState::kDegraded, 1);
  const auto resolved = Feed(RedundancyState::kFailedOver);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].state(), v1::ALERT_STATE_RESOLVED);
}

TEST_F(StateRuleTest, DefaultSeveritiesWarnOnLostSpareAndPageOnSplitBrainAndDown) {
  const StateSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  EXPECT_EQ(spec.outcome(RedundancyState::kRedundant).severity, v1::SEVERITY_UNSPECIFIED);
  EXPECT_EQ(spec.outcome(RedundancyState::kDegraded).severity, v1::SEVERITY_WARNING);
  EXPECT_EQ(spec.outcome(RedundancyState::kFailedOver).severity, v1::SEVERITY_WARNING);
  EXPECT_EQ(spec.outcome(RedundancyState::kSplitBrain).severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(spec.outcome(RedundancyState::kDown).severity, v1::SEVERITY_CRITICAL);
}

TEST_F(StateRuleTest, AStateHeldForItsDurationFiresOnTimeWithoutANewMeasurement) {
  StateSpec spec = Md0Spec();
  spec.for_duration = seconds(30);
  SetRule(spec);
  EXPECT_THAT(Feed(RedundancyState::kDegraded, 1), IsEmpty());
  clock_.Advance(seconds(29));
  EXPECT_THAT(Tick(), IsEmpty());
  clock_.Advance(seconds(1));
  const auto fired = Tick();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(fired[0].monotonic_ns(), platform::MonotonicNanos(clock_.MonotonicNow()));
  EXPECT_THAT(Tick(), IsEmpty());
}

TEST_F(StateRuleTest, AFlapShorterThanTheDurationNeverFires) {
  StateSpec spec = Md0Spec();
  spec.for_duration = seconds(30);
  SetRule(spec);
  Feed(RedundancyState::kDegraded, 1);
  clock_.Advance(seconds(20));
  EXPECT_THAT(Feed(RedundancyState::kRedundant), IsEmpty());
  clock_.Advance(seconds(20));
  EXPECT_THAT(Tick(), IsEmpty());
  EXPECT_EQ(Rule().firing_severity(), v1::SEVERITY_UNSPECIFIED);
}

// A standby peer that stops sending heartbeats: the silence is the failure.
TEST_F(StateRuleTest, ASilentSubjectTakesItsStalenessStateAndRecoversWhenHeardAgain) {
  StateSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  spec.staleness.after = seconds(15);
  spec.staleness.outcome = Staleness::Outcome::kFire;
  spec.staleness.state = RedundancyState::kFailedOver;
  ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_PEER, "atm-02", spec).ok());
  Measurement heard(v1::ALERT_KIND_PEER, "atm-02", 1, v1::UNIT_COUNT);
  heard.state = RedundancyState::kRedundant;
  std::vector<v1::Event> events;
  rules_.Evaluate({heard}, clock_, events);
  clock_.Advance(seconds(14));
  EXPECT_THAT(Tick(), IsEmpty());
  clock_.Advance(seconds(1));
  const auto silent = Tick();
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_EQ(silent[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(silent[0].severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(silent[0].summary(),
            "peer atm-02: failed over, running without a standby: no report for 15s");
  EXPECT_EQ(silent[0].context(0).value(), "failed_over");
  EXPECT_EQ(silent[0].context(1).key(), "silent_for");
  clock_.Advance(seconds(60));
  EXPECT_THAT(Tick(), IsEmpty());  // judged once
  rules_.Evaluate({heard}, clock_, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_RESOLVED);
}

TEST_F(StateRuleTest, ASubjectNeverHeardFromGoesStaleCountingFromTheFirstTick) {
  StateSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  spec.staleness.after = seconds(10);
  spec.staleness.outcome = Staleness::Outcome::kFire;
  spec.staleness.state = RedundancyState::kDown;
  ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_PEER, "atm-02", spec).ok());
  EXPECT_THAT(Tick(), IsEmpty());
  clock_.Advance(seconds(10));
  const auto silent = Tick();
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_EQ(silent[0].severity(), v1::SEVERITY_CRITICAL);
}

TEST_F(StateRuleTest, ASilentSubjectWhoseOutcomeIsResolveClosesItsAlert) {
  StateSpec spec = Md0Spec();
  spec.staleness.after = seconds(10);
  spec.staleness.outcome = Staleness::Outcome::kResolve;
  SetRule(spec);
  Feed(RedundancyState::kDegraded, 1);
  clock_.Advance(seconds(10));
  const auto resolved = Tick();
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(resolved[0].summary(), "raid md0: nothing measured for 10s, resolved (was critical)");
  EXPECT_EQ(resolved[0].threshold(), 2);
}

TEST_F(StateRuleTest, RestoredAlertKeepsItsStateSoTheSameStateIsNoNews) {
  SetRule(Md0Spec());
  const v1::Event fired = Feed(RedundancyState::kDegraded, 1).at(0);
  RuleSet restarted;
  ASSERT_TRUE(restarted.Set(v1::ALERT_KIND_RAID, "md0", Md0Spec()).ok());
  EXPECT_THAT(restarted.Restore({fired}, clock_), IsEmpty());
  std::vector<v1::Event> events;
  restarted.Evaluate({Md0(RedundancyState::kDegraded, 1)}, clock_, events);
  EXPECT_THAT(events, IsEmpty());
  restarted.Evaluate({Md0(RedundancyState::kRedundant, 2)}, clock_, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_RESOLVED);
}

TEST_F(StateRuleTest, MeasurementsWithoutAStateAreIgnored) {
  SetRule(Md0Spec());
  Measurement stateless(v1::ALERT_KIND_RAID, "md0", 0, v1::UNIT_COUNT);
  std::vector<v1::Event> events;
  rules_.Evaluate({stateless}, clock_, events);
  EXPECT_THAT(events, IsEmpty());
}

}  // namespace
}  // namespace atmhealth::agent
