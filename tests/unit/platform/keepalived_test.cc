#include "platform/keepalived.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "platform/text_input.h"
#include "tests/support/error_matchers.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::platform {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Text(const std::string& name) {
  return testing::ReadFile(testing::Fixture("keepalived/" + name));
}

TEST(ParseVrrpNoticeLine, EveryLineOfANotifyFifo) {
  const auto text = Text("notify_fifo.txt");
  std::vector<VrrpNotice> notices;
  int skipped = 0;
  TextLines lines(text);
  while (const auto line = lines.Next()) {
    auto notice = ParseVrrpNoticeLine(*line, "fifo", lines.number());
    ASSERT_TRUE(notice.ok()) << notice.error().message();
    if (notice->has_value()) {
      notices.push_back(**notice);
    } else {
      ++skipped;
    }
  }
  EXPECT_EQ(skipped, 3);  // MASTER_RX_LOWER_PRI, VS, RS
  ASSERT_EQ(notices.size(), 6u);
  EXPECT_EQ(notices[0].name, "VI_1");
  EXPECT_EQ(notices[0].state, VrrpState::kBackup);
  EXPECT_EQ(notices[1].state, VrrpState::kMaster);
  EXPECT_EQ(notices[1].priority, 100);
  EXPECT_FALSE(notices[1].group);
  EXPECT_TRUE(notices[2].group);
  EXPECT_EQ(notices[2].name, "VG_ATM");
  EXPECT_FALSE(notices[2].priority.has_value());
  EXPECT_EQ(notices[3].state, VrrpState::kFault);
  EXPECT_EQ(notices[3].priority, 90);
  EXPECT_EQ(notices[4].name, "VI 3");
  EXPECT_EQ(notices[4].state, VrrpState::kStop);
  EXPECT_EQ(notices[4].priority, 0);
  EXPECT_EQ(notices[5].state, VrrpState::kDeleted);
}

TEST(ParseVrrpNoticeLine, NotifyScriptArgumentsWithoutQuotes) {
  auto notice = ParseVrrpNoticeLine("INSTANCE VI_1 MASTER 100", "args", 1);
  ASSERT_TRUE(notice.ok());
  ASSERT_TRUE(notice->has_value());
  EXPECT_EQ((*notice)->name, "VI_1");
  EXPECT_EQ((*notice)->state, VrrpState::kMaster);
}

void ExpectBad(std::string_view line, const char* what) {
  EXPECT_THAT(ParseVrrpNoticeLine(line, "fifo", 7), testing::IsBadInputAt("fifo:7: ", what))
      << line;
}

TEST(ParseVrrpNoticeLine, BadLinesNameTheLine) {
  ExpectBad("INSTANCE \"VI_1 MASTER 100", "unclosed quote");
  ExpectBad("HELLO \"VI_1\" MASTER", "not \"INSTANCE|GROUP");
  ExpectBad("INSTANCE \"VI_1\"", "not \"INSTANCE <name> <state>");
  ExpectBad("INSTANCE \"VI_1\" master 100", "state \"master\"");
  ExpectBad("INSTANCE \"VI_1\" MASTER 256", "priority \"256\"");
  ExpectBad("INSTANCE \"VI_1\" MASTER 100 extra", "not \"INSTANCE");
  ExpectBad("   ", "empty line");
}

TEST(ParseVrrpStateFile, NotifyArgumentsOrALoneStateWord) {
  auto master = ParseVrrpStateFile(Text("master_args.state"), "VI_9", "state");
  ASSERT_TRUE(master.ok()) << master.error().message();
  EXPECT_EQ(master->name, "VI_1");
  EXPECT_EQ(master->state, VrrpState::kMaster);
  EXPECT_EQ(master->priority, 150);

  auto backup = ParseVrrpStateFile(Text("backup_word.state"), "VI_1", "state");
  ASSERT_TRUE(backup.ok()) << backup.error().message();
  EXPECT_EQ(backup->name, "VI_1");
  EXPECT_EQ(backup->state, VrrpState::kBackup);
  EXPECT_FALSE(backup->priority.has_value());
}

TEST(ReadVrrpStateFile, ReadsTheFileAndReportsAMissingOne) {
  auto fault = ReadVrrpStateFile(testing::Fixture("keepalived/fault_word.state").string(), "VI_1");
  ASSERT_TRUE(fault.ok()) << fault.error().message();
  EXPECT_EQ(fault->state, VrrpState::kFault);
  auto missing = ReadVrrpStateFile(testing::Fixture("keepalived/none.state").string(), "VI_1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(ParseVrrpStateFile, EmptyOrGarbageIsAnErrorNamingTheFile) {
  auto empty = ParseVrrpStateFile("# nothing yet\n\n", "VI_1", "/run/vrrp.state");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message(), StartsWith("/run/vrrp.state: no state"));
  auto garbage = ParseVrrpStateFile("MASTER\nmaybe\n", "VI_1", "/run/vrrp.state");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message(), StartsWith("/run/vrrp.state:2: "));
}

TEST(ParseKeepalivedData, MasterInstanceOfARealDump) {
  auto instances = ParseKeepalivedData(Text("keepalived_v2.2.7_master.data"), "data");
  ASSERT_TRUE(instances.ok()) << instances.error().message();
  ASSERT_EQ(instances->size(), 1u);
  const auto& vi1 = instances->at(0);
  EXPECT_EQ(vi1.name, "VI_1");
  EXPECT_EQ(vi1.state, VrrpState::kMaster);
  EXPECT_EQ(vi1.wanted_state, VrrpState::kMaster);
  EXPECT_EQ(vi1.interface, "ens3");
  EXPECT_EQ(vi1.virtual_router_id, 52);
  EXPECT_EQ(vi1.priority, 50);
  EXPECT_EQ(vi1.effective_priority, 150);
}

TEST(ParseKeepalivedData, BackupAndFaultInstancesAndScriptStateIgnored) {
  auto instances = ParseKeepalivedData(Text("two_instances_backup_fault.data"), "data");
  ASSERT_TRUE(instances.ok()) << instances.error().message();
  ASSERT_EQ(instances->size(), 2u);
  EXPECT_EQ(instances->at(0).state, VrrpState::kBackup);
  EXPECT_EQ(instances->at(0).interface, "bond0");
  EXPECT_EQ(instances->at(1).name, "VI_2");
  EXPECT_EQ(instances->at(1).state, VrrpState::kFault);
  EXPECT_EQ(instances->at(1).effective_priority, 0);
}

TEST(ParseKeepalivedData, BadStateNamesTheLine) {
  auto bad = ParseKeepalivedData(
      "------< VRRP Topology >------\n VRRP Instance = VI_1\n   State = ASLEEP\n", "data");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), StartsWith("data:3: instance VI_1: State \"ASLEEP\""));
}

}  // namespace
}  // namespace atmhealth::platform
