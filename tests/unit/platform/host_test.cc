#include "platform/host.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>

namespace atmhealth::platform {
namespace {

TEST(HostName, IsWhatTheKernelReports) {
  char expected[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(::gethostname(expected, sizeof(expected)), 0);
  EXPECT_EQ(HostName(), expected);
  EXPECT_FALSE(HostName().empty());
}

}  // namespace
}  // namespace atmhealth::platform
