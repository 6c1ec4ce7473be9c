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
  EXPECT_EQ(ShortNames(v1::DeviceKind_descriptor()), "atm, branch_server");
}

}  // namespace
}  // namespace atmhealth::wire
