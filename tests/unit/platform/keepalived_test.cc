#include "platform/keepalived.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

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

// --- the notify FIFO as a stream -------------------------------------------

std::map<std::string, VrrpState> StatesOf(const VrrpNoticeStream& stream) {
  std::map<std::string, VrrpState> states;
  for (const auto& [name, notice] : stream.instances()) states[name] = notice.state;
  return states;
}

TEST(VrrpNoticeStream, KeepsTheLatestStateOfEachInstanceOfARealFifo) {
  VrrpNoticeStream stream("/run/keepalived/vrrp.fifo");
  stream.Feed(Text("notify_fifo.txt"));
  EXPECT_EQ(stream.lines(), 9u);
  EXPECT_EQ(stream.malformed(), 0u);
  EXPECT_FALSE(stream.last_error().has_value());
  // The sync group, the MASTER_RX_LOWER_PRI event and the LVS lines are
  // not instance states.
  const std::map<std::string, VrrpState> expected = {
      {"VI_1", VrrpState::kMaster}, {"VI_2", VrrpState::kDeleted}, {"VI 3", VrrpState::kStop}};
  EXPECT_EQ(StatesOf(stream), expected);
  EXPECT_EQ(stream.instances().at("VI_1").priority, 100);
}

TEST(VrrpNoticeStream, LinesSplitAcrossReadsAreJoined) {
  const std::string text = Text("notify_fifo.txt");
  VrrpNoticeStream whole("fifo");
  whole.Feed(text);
  VrrpNoticeStream bytewise("fifo");
  for (char c : text) bytewise.Feed(std::string_view(&c, 1));
  EXPECT_EQ(StatesOf(bytewise), StatesOf(whole));
  EXPECT_EQ(bytewise.lines(), whole.lines());
  // A line is taken only once its newline arrives.
  VrrpNoticeStream partial("fifo");
  partial.Feed("INSTANCE \"VI_1\" MAS");
  EXPECT_TRUE(partial.instances().empty());
  partial.Feed("TER 100\r\n");
  EXPECT_EQ(StatesOf(partial).at("VI_1"), VrrpState::kMaster);
}

TEST(VrrpNoticeStream, MalformedLinesAreCountedNamedAndSkipped) {
  VrrpNoticeStream stream("/run/keepalived/vrrp.fifo");
  stream.Feed(Text("notify_fifo_malformed.txt"));
  EXPECT_EQ(stream.lines(), 9u);
  EXPECT_EQ(stream.malformed(), 5u);
  ASSERT_TRUE(stream.last_error().has_value());
  EXPECT_THAT(
      stream.last_error()->message(),
      StartsWith("/run/keepalived/vrrp.fifo:9: not \"INSTANCE <name> <state> [priority]\""));
  // The good lines around them count.
  const std::map<std::string, VrrpState> expected = {{"VI_1", VrrpState::kMaster},
                                                     {"VI_2", VrrpState::kBackup}};
  EXPECT_EQ(StatesOf(stream), expected);

  stream.Feed("INSTANCE \"VI_2\" master 90\n");
  EXPECT_EQ(stream.malformed(), 6u);
  EXPECT_THAT(stream.last_error()->message(),
              StartsWith("/run/keepalived/vrrp.fifo:10: state \"master\""));
}

TEST(VrrpNoticeStream, OverlongLineIsMalformedAndTheNextOneCounts) {
  VrrpNoticeStream stream("fifo");
  stream.Feed("INSTANCE \"" + std::string(3000, 'x'));
  stream.Feed(std::string(3000, 'y') + "\" MASTER 100\nINSTANCE \"VI_1\" FAULT 0\n");
  EXPECT_EQ(stream.lines(), 2u);
  EXPECT_EQ(stream.malformed(), 1u);
  EXPECT_THAT(stream.last_error()->message(), StartsWith("fifo:1: line longer than 1024 bytes"));
  EXPECT_EQ(StatesOf(stream), (std::map<std::string, VrrpState>{{"VI_1", VrrpState::kFault}}));
}

TEST(VrrpNoticeStream, WriterGoneInTheMiddleOfALineIsMalformed) {
  VrrpNoticeStream stream("fifo");
  stream.Feed("INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MAS");
  stream.WriterGone();
  EXPECT_EQ(stream.malformed(), 1u);
  EXPECT_THAT(stream.last_error()->message(),
              StartsWith("fifo:2: the writer went away in the middle of the line"));
  // The next writer starts a fresh line.
  stream.Feed("INSTANCE \"VI_1\" MASTER 100\n");
  EXPECT_EQ(StatesOf(stream).at("VI_1"), VrrpState::kMaster);
  stream.WriterGone();
  EXPECT_EQ(stream.malformed(), 1u);
}

TEST(VrrpNoticeStream, InstancesBeyondTheBoundAreMalformed) {
  VrrpNoticeStream stream("fifo");
  for (std::size_t i = 0; i <= VrrpNoticeStream::kMaxInstances; ++i) {
    stream.Feed("INSTANCE \"VI_" + std::to_string(i) + "\" BACKUP 100\n");
  }
  EXPECT_EQ(stream.instances().size(), VrrpNoticeStream::kMaxInstances);
  EXPECT_EQ(stream.malformed(), 1u);
  EXPECT_THAT(stream.last_error()->message(), HasSubstr("one more than the 256 kept"));
  // A known instance still changes.
  stream.Feed("INSTANCE \"VI_0\" MASTER 100\n");
  EXPECT_EQ(StatesOf(stream).at("VI_0"), VrrpState::kMaster);
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
