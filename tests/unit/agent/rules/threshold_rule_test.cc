#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "agent/rules/rule_set.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// /var on a branch server: the transaction journal lives there.
ThresholdSpec VarSpec() {
  ThresholdSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  spec.warning = 80;
  spec.critical = 90;
  spec.hysteresis = 2;
  spec.impact_unavailable = {v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT};
  spec.impact_degraded = {v1::CUSTOMER_SERVICE_INQUIRY};
  return spec;
}

Measurement VarUsed(double percent) {
  return Measurement{v1::ALERT_KIND_STORAGE,
                     "/var",
                     percent,
                     v1::UNIT_PERCENT,
                     {{"mount_device", "/dev/mapper/vg0-var"}, {"fs_type", "xfs"}}};
}

// Feeds measurements to one rule through a RuleSet, as the agent does.
class RuleTest : public ::testing::Test {
 protected:
  void SetRule(ThresholdSpec spec) {
    ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_STORAGE, "/var", std::move(spec)).ok());
  }

  // The events one measurement produces.
  std::vector<v1::Event> Feed(double percent) {
    std::vector<v1::Event> events;
    rules_.Evaluate({VarUsed(percent)}, clock_, events);
    return events;
  }

  // The one event `percent` must produce.
  v1::Event FeedExpectingEvent(double percent) {
    std::vector<v1::Event> events = Feed(percent);
    EXPECT_EQ(events.size(), 1u) << "at " << percent << "%";
    return events.empty() ? v1::Event() : events.front();
  }

  v1::Severity Firing() const { return rules_.Find("storage:/var")->firing_severity(); }

  FakeClock clock_;
  RuleSet rules_;
};

TEST_F(RuleTest, WarningCarriesWhatAnOperatorNeeds) {
  SetRule(VarSpec());
  EXPECT_THAT(Feed(50), IsEmpty());
  const v1::Event event = FeedExpectingEvent(85);

  EXPECT_EQ(event.seq(), 0u);  // the store assigns it
  EXPECT_EQ(event.state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(event.severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(event.kind(), v1::ALERT_KIND_STORAGE);
  EXPECT_EQ(event.subject(), "/var");
  EXPECT_EQ(event.alert_key(), "storage:/var");
  EXPECT_EQ(event.value(), 85);
  EXPECT_EQ(event.threshold(), 80);
  EXPECT_EQ(event.unit(), v1::UNIT_PERCENT);
  EXPECT_EQ(event.category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  // A warning takes nothing away yet: what critical would lose is degraded.
  EXPECT_THAT(event.impact().unavailable(), IsEmpty());
  EXPECT_THAT(event.impact().degraded(),
              ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT,
                          v1::CUSTOMER_SERVICE_INQUIRY));
  EXPECT_EQ(event.summary(), "/var is 85.0% full (warning at 80%)");
  ASSERT_EQ(event.context_size(), 2);
  EXPECT_EQ(event.context(0).key(), "mount_device");
  EXPECT_EQ(event.context(0).value(), "/dev/mapper/vg0-var");
  EXPECT_EQ(event.context(1).key(), "fs_type");
  EXPECT_EQ(event.wall_time_unix_ns(), platform::UnixNanos(clock_.WallNow()));
  EXPECT_EQ(event.monotonic_ns(), platform::MonotonicNanos(clock_.MonotonicNow()));
  EXPECT_EQ(event.boot_id(), platform::BootId());
  EXPECT_FALSE(event.boot_id().empty());
}

TEST_F(RuleTest, CriticalMakesServicesUnavailable) {
  SetRule(VarSpec());
  const v1::Event event = FeedExpectingEvent(93.24);
  EXPECT_EQ(event.severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(event.threshold(), 90);
  EXPECT_THAT(event.impact().unavailable(),
              ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT));
  EXPECT_THAT(event.impact().degraded(), ElementsAre(v1::CUSTOMER_SERVICE_INQUIRY));
  EXPECT_EQ(event.summary(), "/var is 93.2% full (critical at 90%)");
}

TEST_F(RuleTest, EverySeverityChangeIsAnEventAndNothingElseIs) {
  SetRule(VarSpec());
  EXPECT_EQ(FeedExpectingEvent(85).severity(), v1::SEVERITY_WARNING);
  EXPECT_THAT(Feed(86), IsEmpty());
  EXPECT_EQ(FeedExpectingEvent(91).severity(), v1::SEVERITY_CRITICAL);
  EXPECT_THAT(Feed(99), IsEmpty());
  const v1::Event down = FeedExpectingEvent(85);
  EXPECT_EQ(down.state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(down.severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(down.threshold(), 80);
  EXPECT_THAT(down.impact().unavailable(), IsEmpty());
}

TEST_F(RuleTest, LeavingALevelNeedsTheHysteresis) {
  SetRule(VarSpec());
  EXPECT_EQ(FeedExpectingEvent(93).severity(), v1::SEVERITY_CRITICAL);
  EXPECT_THAT(Feed(89), IsEmpty());  // above 90 - 2
  EXPECT_THAT(Feed(88), IsEmpty());  // at 90 - 2 still holds
  EXPECT_EQ(FeedExpectingEvent(87.9).severity(), v1::SEVERITY_WARNING);
  EXPECT_THAT(Feed(79), IsEmpty());  // above 80 - 2
  EXPECT_THAT(Feed(78), IsEmpty());
  const v1::Event resolved = FeedExpectingEvent(77.9);
  EXPECT_EQ(resolved.state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(Firing(), v1::SEVERITY_UNSPECIFIED);
}

TEST_F(RuleTest, ValueHoveringAtTheWarningThresholdDoesNotFlap) {
  SetRule(VarSpec());
  int events = 0;
  for (double value : {80.0, 79.5, 80.1, 79.0, 80.0, 78.5, 80.2, 79.9}) {
    events += static_cast<int>(Feed(value).size());
  }
  EXPECT_EQ(events, 1);
  EXPECT_EQ(Firing(), v1::SEVERITY_WARNING);
}

TEST_F(RuleTest, ResolvedKeepsTheLastFiringSeverity) {
  SetRule(VarSpec());
  FeedExpectingEvent(95);
  const v1::Event resolved = FeedExpectingEvent(40);
  EXPECT_EQ(resolved.state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(resolved.severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(resolved.alert_key(), "storage:/var");
  EXPECT_EQ(resolved.value(), 40);
  EXPECT_EQ(resolved.threshold(), 80);  // the warning threshold
  EXPECT_FALSE(resolved.has_impact());
  EXPECT_EQ(resolved.summary(), "/var is 40.0% full, resolved (was critical; warning at 80%)");
  EXPECT_EQ(resolved.context_size(), 2);
}

TEST_F(RuleTest, AWorseLevelMustHoldForTheDurationBeforeItFires) {
  ThresholdSpec spec = VarSpec();
  spec.for_duration = minutes(5);
  SetRule(spec);
  EXPECT_THAT(Feed(85), IsEmpty());
  clock_.Advance(minutes(4));
  EXPECT_THAT(Feed(85), IsEmpty());
  clock_.Advance(milliseconds(59'999));
  EXPECT_THAT(Feed(85), IsEmpty());
  clock_.Advance(milliseconds(1));
  const v1::Event event = FeedExpectingEvent(85);
  EXPECT_EQ(event.severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(event.monotonic_ns(), platform::MonotonicNanos(clock_.MonotonicNow()));
}

TEST_F(RuleTest, ADipBelowTheLevelRestartsTheWait) {
  ThresholdSpec spec = VarSpec();
  spec.for_duration = minutes(5);
  SetRule(spec);
  EXPECT_THAT(Feed(85), IsEmpty());
  clock_.Advance(minutes(3));
  EXPECT_THAT(Feed(79), IsEmpty());  // not firing yet, so no hysteresis band to stay in
  clock_.Advance(minutes(1));
  EXPECT_THAT(Feed(85), IsEmpty());
  clock_.Advance(minutes(4));
  EXPECT_THAT(Feed(85), IsEmpty());
  clock_.Advance(minutes(1));
  EXPECT_EQ(FeedExpectingEvent(85).severity(), v1::SEVERITY_WARNING);
}

TEST_F(RuleTest, WarningAndCriticalEachWaitOnTheirOwnClock) {
  ThresholdSpec spec = VarSpec();
  spec.for_duration = minutes(5);
  SetRule(spec);
  EXPECT_THAT(Feed(85), IsEmpty());  // warning level from t=0
  clock_.Advance(minutes(3));
  EXPECT_THAT(Feed(95), IsEmpty());  // critical level from t=3m
  clock_.Advance(minutes(2));
  // t=5m: the warning level has held 5m, critical only 2m.
  EXPECT_EQ(FeedExpectingEvent(95).severity(), v1::SEVERITY_WARNING);
  clock_.Advance(minutes(2));
  EXPECT_THAT(Feed(95), IsEmpty());
  clock_.Advance(minutes(1));
  // t=8m: critical has held 5m.
  EXPECT_EQ(FeedExpectingEvent(95).severity(), v1::SEVERITY_CRITICAL);
}

TEST_F(RuleTest, EscalationFromWarningWaitsAndRestartsOnADip) {
  ThresholdSpec spec = VarSpec();
  spec.for_duration = minutes(5);
  SetRule(spec);
  Feed(85);
  clock_.Advance(minutes(5));
  EXPECT_EQ(FeedExpectingEvent(85).severity(), v1::SEVERITY_WARNING);
  EXPECT_THAT(Feed(95), IsEmpty());
  clock_.Advance(minutes(4));
  EXPECT_THAT(Feed(89), IsEmpty());  // below critical: its wait restarts
  clock_.Advance(minutes(1));
  EXPECT_THAT(Feed(95), IsEmpty());
  clock_.Advance(minutes(4));
  EXPECT_THAT(Feed(95), IsEmpty());
  clock_.Advance(minutes(1));
  EXPECT_EQ(FeedExpectingEvent(95).severity(), v1::SEVERITY_CRITICAL);
}

TEST_F(RuleTest, AJumpStraightToCriticalFiresCriticalOnce) {
  ThresholdSpec spec = VarSpec();
  spec.for_duration = minutes(5);
  SetRule(spec);
  EXPECT_THAT(Feed(97), IsEmpty());
  clock_.Advance(minutes(5));
  EXPECT_EQ(FeedExpectingEvent(97).severity(), v1::SEVERITY_CRITICAL);
}

TEST_F(RuleTest, GoingDownAndResolvingAreImmediate) {
  ThresholdSpec spec = VarSpec();
  spec.for_duration = minutes(5);
  SetRule(spec);
  Feed(97);
  clock_.Advance(minutes(5));
  EXPECT_EQ(FeedExpectingEvent(97).severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(FeedExpectingEvent(84).severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(FeedExpectingEvent(50).state(), v1::ALERT_STATE_RESOLVED);
}

TEST_F(RuleTest, NotANumberChangesNothing) {
  SetRule(VarSpec());
  FeedExpectingEvent(95);
  EXPECT_THAT(Feed(std::nan("")), IsEmpty());
  EXPECT_THAT(Feed(std::numeric_limits<double>::infinity()), IsEmpty());
  EXPECT_THAT(Feed(-std::numeric_limits<double>::infinity()), IsEmpty());
  EXPECT_EQ(Firing(), v1::SEVERITY_CRITICAL);
}

TEST_F(RuleTest, NewSpecKeepsAFiringAlertSoItCanResolve) {
  SetRule(VarSpec());
  EXPECT_EQ(FeedExpectingEvent(85).severity(), v1::SEVERITY_WARNING);
  ThresholdSpec raised = VarSpec();
  raised.warning = 90;
  raised.critical = 95;
  SetRule(raised);
  ASSERT_EQ(rules_.rules().size(), 1u);
  EXPECT_EQ(Firing(), v1::SEVERITY_WARNING);
  const v1::Event resolved = FeedExpectingEvent(85);  // below 90 - 2
  EXPECT_EQ(resolved.state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(resolved.threshold(), 90);
}

TEST(ThresholdRule, LowerIsWorseMirrorsLevelsAndHysteresis) {
  // Hours until a filesystem is full: fewer is worse.
  ThresholdSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  spec.warning = 24;
  spec.critical = 6;
  spec.hysteresis = 1;
  spec.higher_is_worse = false;
  ThresholdRule rule(v1::ALERT_KIND_STORAGE_FORECAST, "/var", spec);
  FakeClock clock;
  const auto feed = [&](double hours) {
    return rule.Evaluate(
        Measurement{v1::ALERT_KIND_STORAGE_FORECAST, "/var", hours, v1::UNIT_HOURS, {}},
        clock.WallNow(), clock.MonotonicNow());
  };
  EXPECT_FALSE(feed(30));
  auto warning = feed(20);
  ASSERT_TRUE(warning);
  EXPECT_EQ(warning->severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(warning->alert_key(), "storage_forecast:/var");
  auto critical = feed(5);
  ASSERT_TRUE(critical);
  EXPECT_EQ(critical->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(critical->threshold(), 6);
  EXPECT_EQ(critical->summary(), "/var will be full in 5.0 h (critical at or below 6.0 h)");
  EXPECT_FALSE(feed(6.5));  // within 6 + 1
  auto down = feed(7.5);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->severity(), v1::SEVERITY_WARNING);
  EXPECT_FALSE(feed(24.5));  // within 24 + 1
  auto resolved = feed(25.5);
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(rule.firing_severity(), v1::SEVERITY_UNSPECIFIED);
}

TEST(ThresholdRule, ProbeFailureAtOneIsCriticalAtOnceAndResolvesAtZero) {
  ThresholdSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY);
  spec.warning = 1;
  spec.critical = 1;
  ThresholdRule rule(v1::ALERT_KIND_AGENT_HEALTH, "probe:/mnt/ej", spec);
  FakeClock clock;
  Measurement failing{v1::ALERT_KIND_AGENT_HEALTH,
                      "probe:/mnt/ej",
                      1,
                      v1::UNIT_COUNT,
                      {{"error", "statvfs \"/mnt/ej\": no answer within 2000 ms"}}};
  auto fired = rule.Evaluate(failing, clock.WallNow(), clock.MonotonicNow());
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(fired->summary(),
            "agent health: probe:/mnt/ej failing (critical): statvfs \"/mnt/ej\": no answer "
            "within 2000 ms");
  failing.value = 0;
  failing.context.clear();
  auto resolved = rule.Evaluate(failing, clock.WallNow(), clock.MonotonicNow());
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(resolved->summary(), "agent health: probe:/mnt/ej works again (was critical)");
}

TEST(RuleSet, MeasurementsWithoutARuleAreIgnored) {
  RuleSet rules;
  ASSERT_TRUE(rules.Set(v1::ALERT_KIND_STORAGE, "/var", VarSpec()).ok());
  FakeClock clock;
  std::vector<v1::Event> events;
  rules.Evaluate(
      {Measurement{v1::ALERT_KIND_STORAGE, "/data", 99, v1::UNIT_PERCENT, {}},
       Measurement{v1::ALERT_KIND_INODES, "/var", 99, v1::UNIT_PERCENT, {}}, VarUsed(91)},
      clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].alert_key(), "storage:/var");
}

// A mount path may hold any bytes; events must stay valid protobuf (UTF-8)
// within the schema's limits, or the collector would refuse the batch.
TEST(RuleSet, EventsFromHostileSubjectsStayWithinTheSchema) {
  const std::string latin1_path = "/mnt/kan\xe9";
  const std::string long_path = "/" + std::string(300, 'x') + "\xe3\x81\x82";
  RuleSet rules;
  ASSERT_TRUE(rules.Set(v1::ALERT_KIND_STORAGE, latin1_path, VarSpec()).ok());
  ASSERT_TRUE(rules.Set(v1::ALERT_KIND_STORAGE, long_path, VarSpec()).ok());
  Measurement many_context{v1::ALERT_KIND_STORAGE, long_path, 95, v1::UNIT_PERCENT, {}};
  for (int i = 0; i < 40; ++i) {
    many_context.context.emplace_back(std::string(100, 'k'), std::string(2000, '\xff'));
  }
  FakeClock clock;
  std::vector<v1::Event> events;
  rules.Evaluate(
      {Measurement{v1::ALERT_KIND_STORAGE, latin1_path, 95, v1::UNIT_PERCENT, {}}, many_context},
      clock, events);
  ASSERT_EQ(events.size(), 2u);

  EXPECT_EQ(events[0].subject(), "/mnt/kan\xef\xbf\xbd");
  EXPECT_EQ(events[0].alert_key(), "storage:/mnt/kan\xef\xbf\xbd");
  // Cut to 256 bytes, the cut marked with an ellipsis.
  EXPECT_EQ(events[1].subject(), "/" + std::string(252, 'x') + "\xE2\x80\xA6");
  EXPECT_LE(events[1].alert_key().size(), 320u);
  EXPECT_LE(events[1].summary().size(), 512u);
  EXPECT_EQ(events[1].context_size(), 32);
  EXPECT_EQ(events[1].context(0).key().size(), 64u);
  EXPECT_LE(events[1].context(0).value().size(), 1024u);
  for (const v1::Event& event : events) {
    std::string wire;
    ASSERT_TRUE(event.SerializeToString(&wire));
    v1::Event parsed;
    EXPECT_TRUE(parsed.ParseFromString(wire)) << event.subject();
  }
  // The rule set still finds the rule of the hostile subject.
  events.clear();
  rules.Evaluate({Measurement{v1::ALERT_KIND_STORAGE, latin1_path, 10, v1::UNIT_PERCENT, {}}},
                 clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_RESOLVED);
}

TEST(AlertKey, IsKindShortNameAndSubject) {
  EXPECT_EQ(AlertKey(v1::ALERT_KIND_STORAGE, "/var"), "storage:/var");
  EXPECT_EQ(AlertKey(v1::ALERT_KIND_AGENT_HEALTH, "probe:/var"), "agent_health:probe:/var");
}

}  // namespace
}  // namespace atmhealth::agent
