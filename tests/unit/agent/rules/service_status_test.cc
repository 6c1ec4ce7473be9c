#include "agent/rules/service_status.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/names.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

const std::vector<v1::CustomerService> kOffered = {
    v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT, v1::CUSTOMER_SERVICE_TRANSFER,
    v1::CUSTOMER_SERVICE_INQUIRY};

ThresholdSpec Spec(std::vector<v1::CustomerService> unavailable,
                   std::vector<v1::CustomerService> degraded) {
  ThresholdSpec spec(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  spec.warning = 80;
  spec.critical = 90;
  spec.hysteresis = 2;
  spec.impact_unavailable = std::move(unavailable);
  spec.impact_degraded = std::move(degraded);
  return spec;
}

class ServiceStatusTest : public ::testing::Test {
 protected:
  ServiceStatusTest() {
    // /var holds the journal: cash services stop when it is full.
    EXPECT_TRUE(rules_
                    .Set(v1::ALERT_KIND_STORAGE, "/var",
                         Spec({v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT},
                              {v1::CUSTOMER_SERVICE_INQUIRY}))
                    .ok());
    // / only slows withdrawals down.
    EXPECT_TRUE(
        rules_.Set(v1::ALERT_KIND_STORAGE, "/", Spec({}, {v1::CUSTOMER_SERVICE_WITHDRAWAL})).ok());
  }

  void Measure(const std::string& path, double percent) {
    std::vector<v1::Event> events;
    rules_.Evaluate({Measurement{v1::ALERT_KIND_STORAGE, path, percent, v1::UNIT_PERCENT, {}}},
                    clock_, events);
  }

  // "<service>=<state>[<reason>]" for each status, for readable expectations.
  std::vector<std::string> Statuses() const {
    std::vector<std::string> out;
    for (const v1::ServiceStatus& status : ServiceStatuses(rules_, kOffered)) {
      std::string line = wire::ShortName(status.service()) + "=" + wire::ShortName(status.state());
      if (!status.reason().empty()) line += "[" + status.reason() + "]";
      out.push_back(line);
    }
    return out;
  }

  FakeClock clock_;
  RuleSet rules_;
};

TEST_F(ServiceStatusTest, EverythingInServiceWhileNothingFires) {
  Measure("/var", 50);
  EXPECT_EQ(Statuses(), (std::vector<std::string>{"withdrawal=in_service", "deposit=in_service",
                                                  "transfer=in_service", "inquiry=in_service"}));
}

TEST_F(ServiceStatusTest, CriticalTakesItsUnavailableServicesOutOfService) {
  Measure("/var", 95);
  EXPECT_EQ(Statuses(),
            (std::vector<std::string>{"withdrawal=out_of_service[storage:/var]",
                                      "deposit=out_of_service[storage:/var]", "transfer=in_service",
                                      "inquiry=degraded[storage:/var]"}));
}

TEST_F(ServiceStatusTest, WarningDegradesWhatCriticalWouldTakeAway) {
  Measure("/var", 85);
  EXPECT_EQ(Statuses(), (std::vector<std::string>{
                            "withdrawal=degraded[storage:/var]", "deposit=degraded[storage:/var]",
                            "transfer=in_service", "inquiry=degraded[storage:/var]"}));
}

TEST_F(ServiceStatusTest, OutOfServiceWinsOverDegradedAndNamesItsAlert) {
  Measure("/", 85);     // degrades withdrawal; "storage:/" sorts first
  Measure("/var", 95);  // takes withdrawal away
  EXPECT_EQ(Statuses().front(), "withdrawal=out_of_service[storage:/var]");
  Measure("/var", 10);
  EXPECT_EQ(Statuses().front(), "withdrawal=degraded[storage:/]");
}

TEST_F(ServiceStatusTest, ResolvedAlertsGiveTheServicesBack) {
  Measure("/var", 95);
  Measure("/var", 60);
  EXPECT_EQ(Statuses(), (std::vector<std::string>{"withdrawal=in_service", "deposit=in_service",
                                                  "transfer=in_service", "inquiry=in_service"}));
}

TEST_F(ServiceStatusTest, OnlyOfferedServicesAreReportedInTheirOrder) {
  Measure("/var", 95);
  const auto statuses =
      ServiceStatuses(rules_, {v1::CUSTOMER_SERVICE_PASSBOOK, v1::CUSTOMER_SERVICE_DEPOSIT});
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0].service(), v1::CUSTOMER_SERVICE_PASSBOOK);
  EXPECT_EQ(statuses[0].state(), v1::SERVICE_STATE_IN_SERVICE);
  EXPECT_TRUE(statuses[0].reason().empty());
  EXPECT_EQ(statuses[1].service(), v1::CUSTOMER_SERVICE_DEPOSIT);
  EXPECT_EQ(statuses[1].state(), v1::SERVICE_STATE_OUT_OF_SERVICE);
}

// A state rule's impact is the one of the state it is in: the uplink bond
// degraded slows transfers, the bond down takes them away.
TEST_F(ServiceStatusTest, AStateRuleImpactsWhatItsCurrentStateSays) {
  StateSpec bond(v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  bond.outcome(RedundancyState::kDegraded).impact.degraded = {v1::CUSTOMER_SERVICE_TRANSFER};
  bond.outcome(RedundancyState::kDown).impact.unavailable = {v1::CUSTOMER_SERVICE_TRANSFER};
  ASSERT_TRUE(rules_.Set(v1::ALERT_KIND_LINK_GROUP, "bond0", bond).ok());
  const auto report = [&](RedundancyState state) {
    Measurement measurement(v1::ALERT_KIND_LINK_GROUP, "bond0", 1, v1::UNIT_COUNT);
    measurement.state = state;
    std::vector<v1::Event> events;
    rules_.Evaluate({measurement}, clock_, events);
  };
  report(RedundancyState::kDegraded);
  EXPECT_EQ(Statuses()[2], "transfer=degraded[link_group:bond0]");
  report(RedundancyState::kDown);
  EXPECT_EQ(Statuses()[2], "transfer=out_of_service[link_group:bond0]");
  report(RedundancyState::kRedundant);
  EXPECT_EQ(Statuses()[2], "transfer=in_service");
}

}  // namespace
}  // namespace atmhealth::agent
