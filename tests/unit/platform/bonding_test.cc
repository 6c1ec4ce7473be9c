#include "platform/bonding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_matchers.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::platform {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

BondStatus ParseFixture(const std::string& name) {
  const auto path = testing::Fixture("bonding/" + name);
  auto status = ParseBondStatus(testing::ReadFile(path), "bond0", path.string());
  EXPECT_TRUE(status.ok()) << status.error().message();
  return status.ok() ? *status : BondStatus{};
}

TEST(ParseBondStatus, ActiveBackupWithOneSlaveDown) {
  const auto bond = ParseFixture("active_backup_slave_down.txt");
  EXPECT_EQ(bond.name, "bond0");
  EXPECT_EQ(bond.mode, BondMode::kActiveBackup);
  EXPECT_EQ(bond.mode_text, "fault-tolerance (active-backup)");
  EXPECT_EQ(bond.primary_slave, "eth2");
  EXPECT_EQ(bond.active_slave, "eth2");
  EXPECT_EQ(bond.mii_status, MiiStatus::kUp);
  EXPECT_EQ(bond.mii_polling_interval_ms, 100u);
  ASSERT_EQ(bond.slaves.size(), 2u);
  EXPECT_EQ(bond.slaves[0].name, "eth3");
  EXPECT_EQ(bond.slaves[0].mii_status, MiiStatus::kDown);
  EXPECT_EQ(bond.slaves[0].link_failure_count, 2u);
  EXPECT_EQ(bond.slaves[0].speed_mbps, 1000u);
  EXPECT_EQ(bond.slaves[0].duplex, "full");
  EXPECT_EQ(bond.slaves[1].speed_mbps, 100u);
  EXPECT_THAT(bond.SlavesDown(), ElementsAre("eth3"));
  EXPECT_FALSE(bond.lacp);
}

TEST(ParseBondStatus, ActiveBackupHealthyHasNoSlaveDown) {
  const auto bond = ParseFixture("active_backup_healthy.txt");
  EXPECT_EQ(bond.active_slave, "enp1s0");
  EXPECT_THAT(bond.primary_slave, IsEmpty());
  EXPECT_THAT(bond.SlavesDown(), IsEmpty());
  EXPECT_EQ(bond.slaves.at(1).link_failure_count, 1u);
  EXPECT_EQ(bond.slaves.at(1).permanent_hw_address, "52:54:00:12:34:02");
}

TEST(ParseBondStatus, AllSlavesDownLeavesNoActiveSlave) {
  const auto bond = ParseFixture("active_backup_all_down.txt");
  EXPECT_THAT(bond.active_slave, IsEmpty());
  EXPECT_EQ(bond.mii_status, MiiStatus::kDown);
  EXPECT_FALSE(bond.slaves.at(0).speed_mbps.has_value());  // "Unknown"
  EXPECT_EQ(bond.slaves.at(1).mii_status, MiiStatus::kGoingBack);
  EXPECT_THAT(bond.SlavesDown(), ElementsAre("enp1s0", "enp2s0"));
}

TEST(ParseBondStatus, LacpWithActiveAggregatorAndOnePortDown) {
  const auto bond = ParseFixture("lacp_one_port_down.txt");
  EXPECT_EQ(bond.mode, BondMode::k8023ad);
  EXPECT_TRUE(bond.lacp);
  ASSERT_TRUE(bond.active_aggregator.has_value());
  EXPECT_EQ(bond.active_aggregator->id, 1u);
  EXPECT_EQ(bond.active_aggregator->ports, 1u);
  EXPECT_EQ(bond.active_aggregator->actor_key, 9u);
  EXPECT_EQ(bond.active_aggregator->partner_key, 32773u);
  EXPECT_EQ(bond.active_aggregator->partner_mac, "00:1c:73:aa:bb:cc");
  ASSERT_EQ(bond.slaves.size(), 2u);
  EXPECT_EQ(bond.slaves[0].aggregator_id, 1u);
  EXPECT_EQ(bond.slaves[1].aggregator_id, 2u);
  EXPECT_EQ(bond.slaves[1].link_failure_count, 2u);
  // The LACPDU details ("port key: 0") do not leak into the slave's fields.
  EXPECT_THAT(bond.SlavesDown(), ElementsAre("enp2s0"));
}

TEST(ParseBondStatus, LacpWithoutAnActiveAggregator) {
  const auto bond = ParseFixture("lacp_no_aggregator.txt");
  EXPECT_TRUE(bond.lacp);
  EXPECT_FALSE(bond.active_aggregator.has_value());
  EXPECT_FALSE(bond.slaves.at(0).aggregator_id.has_value());
  EXPECT_EQ(bond.slaves.at(1).link_failure_count, 3u);
}

TEST(ParseBondStatus, UnknownModeKeepsItsText) {
  auto bond = ParseBondStatus("Bonding Mode: quantum entanglement\nMII Status: up\n", "bond9", "b");
  ASSERT_TRUE(bond.ok());
  EXPECT_EQ(bond->mode, BondMode::kUnknown);
  EXPECT_EQ(bond->mode_text, "quantum entanglement");
}

void ExpectBad(std::string_view text, const char* where, const char* what) {
  EXPECT_THAT(ParseBondStatus(text, "bond0", "bond0"), testing::IsBadInputAt(where, what)) << text;
}

TEST(ParseBondStatus, BadInputNamesTheLine) {
  ExpectBad("Bonding Mode: fault-tolerance (active-backup)\nMII Status: sideways\n",
            "bond0:2: ", "MII Status: \"sideways\"");
  ExpectBad("Bonding Mode: x\n\nSlave Interface: eth0\nLink Failure Count: -1\n",
            "bond0:4: ", "Link Failure Count");
  ExpectBad("Bonding Mode: x\nSlave Interface: eth0\nSpeed: fast\n", "bond0:3: ", "Speed");
  ExpectBad("Bonding Mode: x\nSlave Interface:\n", "bond0:2: ", "an interface name");
  ExpectBad("Bonding Mode: x\nMII Polling Interval (ms): 99999999999\n",
            "bond0:2: ", "milliseconds");
  ExpectBad("hello\n", "bond0: ", "no \"Bonding Mode:\" line");
}

TEST(ReadBondStatus, ReadsTheBondUnderTheProcRoot) {
  const auto proc = testing::Fixture("proc").string();
  EXPECT_THAT(ListBonds(proc), ElementsAre("bond0"));
  auto bond = ReadBondStatus("bond0", proc);
  ASSERT_TRUE(bond.ok()) << bond.error().message();
  EXPECT_THAT(bond->SlavesDown(), ElementsAre("eth3"));
}

TEST(ReadBondStatus, MissingBondIsNotFoundAndANameWithSlashIsRefused) {
  const auto proc = testing::Fixture("proc").string();
  auto missing = ReadBondStatus("bond7", proc);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto escape = ReadBondStatus("../../mdstat", proc);
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.error().code(), ErrorCode::kInvalidArgument);
}

TEST(ListBonds, NoBondingDriverIsNoBonds) {
  testing::ScratchDir empty;
  EXPECT_THAT(ListBonds(empty.path().string()), IsEmpty());
}

}  // namespace
}  // namespace atmhealth::platform
