#include "platform/md_raid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_matchers.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::platform {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MdStat ParseFixture(const std::string& name) {
  const auto path = testing::Fixture("mdstat/" + name);
  auto stat = ParseMdStat(testing::ReadFile(path), path.string());
  EXPECT_TRUE(stat.ok()) << stat.error().message();
  return stat.ok() ? *stat : MdStat{};
}

const MdArray& Array(const MdStat& stat, const std::string& name) {
  for (const auto& array : stat.arrays) {
    if (array.name == name) return array;
  }
  ADD_FAILURE() << "no array " << name;
  static const MdArray kNone;
  return kNone;
}

TEST(ParseMdStat, CleanMirrorWithSpareIsNotDegraded) {
  const auto stat = ParseFixture("clean_with_spare.txt");
  ASSERT_EQ(stat.arrays.size(), 1u);
  const auto& md0 = stat.arrays[0];
  EXPECT_EQ(md0.name, "md0");
  EXPECT_TRUE(md0.active);
  EXPECT_EQ(md0.level, "raid1");
  EXPECT_EQ(md0.blocks, 976630464u);
  EXPECT_EQ(md0.expected_devices, 2);
  EXPECT_EQ(md0.working_devices, 2);
  EXPECT_EQ(md0.slot_status, "UU");
  EXPECT_FALSE(md0.Degraded());
  EXPECT_THAT(md0.MembersWithRole(MdMemberRole::kSpare), ElementsAre("sdc1"));
  EXPECT_THAT(md0.MembersWithRole(MdMemberRole::kActive), ElementsAre("sdb1", "sda1"));
  EXPECT_FALSE(md0.sync.has_value());
}

TEST(ParseMdStat, DegradedMirrorNamesTheFailedMemberAndTheMissingSlot) {
  const auto md0 = ParseFixture("degraded_failed.txt").arrays.at(0);
  EXPECT_TRUE(md0.Degraded());
  EXPECT_EQ(md0.working_devices, 1);
  EXPECT_THAT(md0.MembersWithRole(MdMemberRole::kFaulty), ElementsAre("sdb1"));
  EXPECT_THAT(md0.MissingSlots(), ElementsAre(1));
  EXPECT_THAT(md0.MembersWithRole(MdMemberRole::kSpare), IsEmpty());
}

TEST(ParseMdStat, DegradedWithTheMemberRemovedHasOnlyAMissingSlot) {
  const auto stat = ParseFixture("degraded_missing.txt");
  const auto& md1 = Array(stat, "md1");
  EXPECT_EQ(md1.level, "raid5");
  EXPECT_TRUE(md1.Degraded());
  EXPECT_THAT(md1.MissingSlots(), ElementsAre(1));
  EXPECT_THAT(md1.MembersWithRole(MdMemberRole::kFaulty), IsEmpty());
  EXPECT_THAT(Array(stat, "md0").MissingSlots(), ElementsAre(1));
}

TEST(ParseMdStat, RecoveryHasProgressEtaAndSpeed) {
  const auto md0 = ParseFixture("recovering.txt").arrays.at(0);
  EXPECT_TRUE(md0.Degraded());
  ASSERT_TRUE(md0.sync.has_value());
  EXPECT_EQ(md0.sync->action, "recovery");
  EXPECT_THAT(md0.sync->waiting, IsEmpty());
  EXPECT_DOUBLE_EQ(md0.sync->percent, 21.4);
  EXPECT_EQ(md0.sync->done, 209042048u);
  EXPECT_EQ(md0.sync->total, 976630464u);
  EXPECT_EQ(md0.sync->finish, std::chrono::seconds(3738));  // 62.3 min
  EXPECT_EQ(md0.sync->speed_kib_per_second, 205218u);
}

TEST(ParseMdStat, EveryStateOfTheProcfsComposite) {
  const auto stat = ParseFixture("procfs_composite.txt");
  EXPECT_EQ(stat.arrays.size(), 18u);

  const auto& md3 = Array(stat, "md3");  // clean raid6 with two spares
  EXPECT_EQ(md3.level, "raid6");
  EXPECT_FALSE(md3.Degraded());
  EXPECT_THAT(md3.MembersWithRole(MdMemberRole::kSpare), ElementsAre("sdd1", "sdd2"));

  const auto& md4 = Array(stat, "md4");  // inactive with a level
  EXPECT_FALSE(md4.active);
  EXPECT_EQ(md4.level, "raid1");
  EXPECT_THAT(md4.MembersWithRole(MdMemberRole::kFaulty), ElementsAre("sda3"));

  const auto& md219 = Array(stat, "md219");  // inactive, no level, all spares
  EXPECT_FALSE(md219.active);
  EXPECT_THAT(md219.level, IsEmpty());
  EXPECT_EQ(md219.MembersWithRole(MdMemberRole::kSpare).size(), 3u);
  EXPECT_EQ(md219.blocks, 7932u);

  const auto& md6 = Array(stat, "md6");  // degraded, recovering onto the spare
  EXPECT_TRUE(md6.Degraded());
  EXPECT_THAT(md6.MembersWithRole(MdMemberRole::kFaulty), ElementsAre("sdb2"));
  ASSERT_TRUE(md6.sync.has_value());
  EXPECT_EQ(md6.sync->action, "recovery");
  EXPECT_DOUBLE_EQ(md6.sync->percent, 8.5);
  EXPECT_EQ(md6.sync->finish, std::chrono::seconds(1020));

  ASSERT_TRUE(Array(stat, "md8").sync.has_value());
  EXPECT_EQ(Array(stat, "md8").sync->action, "resync");
  ASSERT_TRUE(Array(stat, "md201").sync.has_value());
  EXPECT_EQ(Array(stat, "md201").sync->action, "check");
  EXPECT_DOUBLE_EQ(Array(stat, "md201").sync->percent, 5.7);
  EXPECT_EQ(Array(stat, "md201").sync->finish, std::chrono::seconds(12));

  const auto& md42 = Array(stat, "md42");  // reshape of a degraded raid5
  ASSERT_TRUE(md42.sync.has_value());
  EXPECT_EQ(md42.sync->action, "reshape");
  EXPECT_DOUBLE_EQ(md42.sync->percent, 56.1);
  EXPECT_EQ(md42.sync->speed_kib_per_second, 7640u);
  EXPECT_THAT(md42.MissingSlots(), ElementsAre(2));

  const auto& md7 = Array(stat, "md7");  // raid6 one member failed, bitmap line
  EXPECT_THAT(md7.MissingSlots(), ElementsAre(1));
  EXPECT_THAT(md7.MembersWithRole(MdMemberRole::kFaulty), ElementsAre("sdc1"));
  EXPECT_FALSE(md7.sync.has_value());

  ASSERT_TRUE(Array(stat, "md9").sync.has_value());
  EXPECT_EQ(Array(stat, "md9").sync->waiting, "DELAYED");
  const auto& md11 = Array(stat, "md11");
  EXPECT_TRUE(md11.auto_read_only);
  ASSERT_TRUE(md11.sync.has_value());
  EXPECT_EQ(md11.sync->action, "resync");
  EXPECT_EQ(md11.sync->waiting, "PENDING");
  EXPECT_TRUE(Array(stat, "md101").read_only);

  const auto& md10 = Array(stat, "md10");  // raid0: no redundancy, no counts
  EXPECT_FALSE(md10.expected_devices.has_value());
  EXPECT_FALSE(md10.Degraded());
  EXPECT_EQ(Array(stat, "md120").level, "linear");
}

TEST(ParseMdStat, MemberFlagsJournalReplacementWriteMostlyAndDelayedRecovery) {
  const auto stat = ParseFixture("member_flags.txt");
  const auto& md2 = Array(stat, "md2");
  EXPECT_THAT(md2.MembersWithRole(MdMemberRole::kJournal), ElementsAre("nvme2n1"));
  EXPECT_THAT(md2.MembersWithRole(MdMemberRole::kReplacement), ElementsAre("sde1"));
  EXPECT_TRUE(md2.members.at(3).write_mostly);
  EXPECT_EQ(md2.members.at(3).device, "sdb1");
  EXPECT_EQ(md2.members.at(4).descriptor, 4);
  EXPECT_DOUBLE_EQ(md2.sync->percent, 0.3);
  const auto& md3 = Array(stat, "md3");
  EXPECT_TRUE(md3.members.at(0).write_mostly);
  EXPECT_EQ(md3.members.at(0).role, MdMemberRole::kFaulty);
  EXPECT_EQ(md3.sync->action, "recovery");
  EXPECT_EQ(md3.sync->waiting, "DELAYED");
}

TEST(ParseMdStat, NoArraysIsEmptyNotAnError) {
  auto stat = ParseMdStat("Personalities : \nunused devices: <none>\n", "mdstat");
  ASSERT_TRUE(stat.ok());
  EXPECT_THAT(stat->arrays, IsEmpty());
  EXPECT_TRUE(ParseMdStat("", "mdstat").ok());
}

void ExpectBadLine(std::string_view text, const char* where, const char* what) {
  EXPECT_THAT(ParseMdStat(text, "mdstat"), testing::IsBadInputAt(where, what)) << text;
}

TEST(ParseMdStat, BadInputNamesTheLine) {
  ExpectBadLine("Personalities : \nmd0 : sleeping raid1 sda1[0]\n",
                "mdstat:2: ", "neither \"active\" nor \"inactive\"");
  ExpectBadLine("md0 : active raid1 sda1[x]\n", "mdstat:1: ", "member \"sda1[x]\"");
  ExpectBadLine("md0 : active raid1 sda1[0](Q)\n", "mdstat:1: ", "member");
  ExpectBadLine("md0 : active raid1 sda1[0]\n      lots blocks [2/2] [UU]\n",
                "mdstat:2: ", "size \"lots\"");
  ExpectBadLine("md0 : active raid1 sda1[0]\n      100 blocks [2/x] [U_]\n",
                "mdstat:2: ", "device counts \"[2/x]\"");
  ExpectBadLine(
      "md0 : active raid1 sda1[0]\n      100 blocks [2/1] [U_]\n"
      "      [=>...]  recovery = 108.5% (1/2) finish=1.0min speed=1K/sec\n",
      "mdstat:3: ", "percentage is not 0..100");
  ExpectBadLine(
      "md0 : active raid1 sda1[0]\n      [=>...]  recovery = 8.5% (1/2) finish=soon speed=1K/sec\n",
      "mdstat:2: ", "finish");
  ExpectBadLine("      100 blocks [2/2] [UU]\n", "mdstat:1: ", "outside any array");
  ExpectBadLine("md0 active raid1\n", "mdstat:1: ", "not \"<array> : <state>");
}

TEST(ParseMdStat, ControlBytesInAnErrorAreNotCopiedIntoTheMessage) {
  auto stat = ParseMdStat(std::string_view("md0 : \x1b[2Jactive\n"), "mdstat");
  ASSERT_FALSE(stat.ok());
  EXPECT_EQ(stat.error().message().find('\x1b'), std::string::npos);
}

TEST(ReadMdStat, ReadsMdstatUnderTheProcRoot) {
  auto stat = ReadMdStat(testing::Fixture("proc").string());
  ASSERT_TRUE(stat.ok()) << stat.error().message();
  ASSERT_EQ(stat->arrays.size(), 3u);
  EXPECT_EQ(stat->arrays[1].name, "md6");
  EXPECT_TRUE(stat->arrays[1].Degraded());
}

TEST(ReadMdStat, NoMdDriverIsNotFound) {
  testing::ScratchDir empty;
  auto stat = ReadMdStat(empty.path().string());
  ASSERT_FALSE(stat.ok());
  EXPECT_EQ(stat.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(stat.error().message(), HasSubstr("mdstat"));
}

}  // namespace
}  // namespace atmhealth::platform
