#include "proto/names.h"

#include <gtest/gtest.h>

namespace atmhealth::wire {
namespace {

TEST(Names, ShortNamesDropTheEnumPrefix) {
  EXPECT_EQ(ShortName(v1::CUSTOMER_SERVICE_WITHDRAWAL), "withdrawal");
  EXPECT_EQ(ShortName(v1::ALERT_KIND_STORAGE_FORECAST), "storage_forecast");
  EXPECT_EQ(ShortName(v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE), "daily_operation_storage");
  EXPECT_EQ(ShortName(v1::UNIT_PERCENT), "percent");
  EXPECT_EQ(ShortName(v1::DEVICE_KIND_BRANCH_SERVER), "branch_server");
}

TEST(Names, ParseIsTheInverseAndRefusesUnspecified) {
  EXPECT_EQ(ParseCustomerService("deposit"), v1::CUSTOMER_SERVICE_DEPOSIT);
  EXPECT_EQ(ParseCustomerService("DEPOSIT"), v1::CUSTOMER_SERVICE_DEPOSIT);
  EXPECT_EQ(ParseCustomerService("unspecified"), std::nullopt);
  EXPECT_EQ(ParseCustomerService("teleport"), std::nullopt);
  EXPECT_EQ(ParseDeviceKind("atm"), v1::DEVICE_KIND_ATM);
  EXPECT_EQ(ParseSeverity("critical"), v1::SEVERITY_CRITICAL);
}

TEST(Names, ListsEveryValueForErrorMessages) {
  EXPECT_EQ(ShortNames<v1::DeviceKind>(), "atm, branch_server");
  EXPECT_EQ(ShortNames<v1::FailureCategory>(),
            "cyber_attack, system_change, daily_operation_storage, daily_operation_redundancy, "
            "daily_operation_volume, daily_operation_recovery, program_update");
}

TEST(Names, ListsValuesInTheOrderTheProtoDeclaresThemWithoutUnspecified) {
  EXPECT_EQ(ShortNameList<v1::AlertState>(),
            (std::vector<std::string>{"firing", "resolved", "notice"}));
  EXPECT_EQ(
      ValuesOf<v1::Severity>(),
      (std::vector<v1::Severity>{v1::SEVERITY_INFO, v1::SEVERITY_WARNING, v1::SEVERITY_CRITICAL}));
  EXPECT_EQ(ValuesOf<v1::AlertKind>().front(), v1::ALERT_KIND_STORAGE);
}

TEST(Names, AValueTheSchemaDoesNotKnowIsNamedByItsNumber) {
  // An event from a newer agent, read by an older collector.
  EXPECT_EQ(ShortName(static_cast<v1::AlertKind>(99)), "unknown(99)");
  EXPECT_EQ(ParseAlertKind("unknown(99)"), std::nullopt);
}

}  // namespace
}  // namespace atmhealth::wire
