#include "platform/link_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/test_paths.h"

namespace atmhealth::platform {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ParseOperState, EveryStateTheKernelWrites) {
  EXPECT_EQ(*ParseOperState("up\n", "s"), OperState::kUp);
  EXPECT_EQ(*ParseOperState("down\n", "s"), OperState::kDown);
  EXPECT_EQ(*ParseOperState("unknown\n", "s"), OperState::kUnknown);
  EXPECT_EQ(*ParseOperState("lowerlayerdown\n", "s"), OperState::kLowerLayerDown);
  EXPECT_EQ(*ParseOperState("dormant", "s"), OperState::kDormant);
  EXPECT_EQ(*ParseOperState("testing\n", "s"), OperState::kTesting);
  EXPECT_EQ(*ParseOperState("notpresent\n", "s"), OperState::kNotPresent);
  auto bad = ParseOperState("UP\n", "eth0/operstate");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("eth0/operstate:1: operstate \"UP\""));
}

TEST(ParseCarrier, OneOrZero) {
  EXPECT_TRUE(*ParseCarrier("1\n", "c"));
  EXPECT_FALSE(*ParseCarrier("0\n", "c"));
  auto bad = ParseCarrier("2\n", "eth0/carrier");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("eth0/carrier:1: carrier \"2\""));
}

TEST(ReadLinkStates, EachInterfaceInOrderWithTheReasonItIsDown) {
  const auto states =
      ReadLinkStates({"eth0", "eth1", "lo", "wan0", "admin0", "gone0", "bad0", "../eth0"},
                     testing::Fixture("sys").string());
  ASSERT_EQ(states.size(), 8u);

  EXPECT_EQ(states[0].interface, "eth0");
  EXPECT_TRUE(states[0].Up());
  EXPECT_EQ(states[0].carrier, true);
  EXPECT_THAT(states[0].reason, IsEmpty());

  EXPECT_FALSE(states[1].Up());
  EXPECT_TRUE(states[1].present);
  EXPECT_EQ(states[1].reason, "no carrier (operstate down)");

  EXPECT_TRUE(states[2].Up()) << "operstate unknown with carrier works (loopback, tun)";
  EXPECT_EQ(states[2].oper_state, OperState::kUnknown);

  EXPECT_FALSE(states[3].Up());
  EXPECT_EQ(states[3].oper_state, OperState::kLowerLayerDown);

  EXPECT_FALSE(states[4].Up());
  EXPECT_FALSE(states[4].carrier.has_value()) << "administratively down: carrier unreadable";
  EXPECT_EQ(states[4].reason, "operstate down");

  EXPECT_FALSE(states[5].Up());
  EXPECT_FALSE(states[5].present);
  EXPECT_EQ(states[5].reason, "no such interface");

  EXPECT_FALSE(states[6].Up());
  EXPECT_TRUE(states[6].present);
  EXPECT_THAT(states[6].reason, HasSubstr("operstate \"sideways\""));

  EXPECT_FALSE(states[7].Up());
  EXPECT_EQ(states[7].reason, "not an interface name");
}

TEST(ReadLinkStates, RealLoopbackOfThisMachineIsUp) {
  const auto states = ReadLinkStates({"lo"});
  ASSERT_EQ(states.size(), 1u);
  EXPECT_TRUE(states[0].Up()) << states[0].reason;
}

}  // namespace
}  // namespace atmhealth::platform
