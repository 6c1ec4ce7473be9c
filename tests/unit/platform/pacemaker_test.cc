#include "platform/pacemaker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/error_matchers.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::platform {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ClusterStatus ParseFixture(const std::string& name) {
  const auto path = testing::Fixture("crm_mon/" + name);
  auto status = ParseCrmMonXml(testing::ReadFile(path), path.string());
  EXPECT_TRUE(status.ok()) << status.error().message();
  return status.ok() ? *status : ClusterStatus{};
}

const ClusterNode& Node(const ClusterStatus& status, const std::string& name) {
  for (const auto& node : status.nodes) {
    if (node.name == name) return node;
  }
  ADD_FAILURE() << "no node " << name;
  static const ClusterNode kNone;
  return kNone;
}

std::vector<const ClusterResource*> Resources(const ClusterStatus& status, const std::string& id) {
  std::vector<const ClusterResource*> found;
  for (const auto& resource : status.resources) {
    if (resource.id == id) found.push_back(&resource);
  }
  return found;
}

TEST(ParseCrmMonXml, NewFormHealthyTwoNodeCluster) {
  const auto status = ParseFixture("result_two_nodes_healthy.xml");
  EXPECT_EQ(status.form, ClusterStatus::Form::kPacemakerResult);
  EXPECT_EQ(status.dc, "atm-srv-a");
  EXPECT_EQ(status.with_quorum, true);
  EXPECT_FALSE(status.maintenance_mode);
  ASSERT_EQ(status.nodes.size(), 2u);
  EXPECT_TRUE(Node(status, "atm-srv-a").online);
  EXPECT_TRUE(Node(status, "atm-srv-a").is_dc);
  EXPECT_EQ(Node(status, "atm-srv-a").resources_running, 4);
  EXPECT_EQ(Node(status, "atm-srv-b").type, "member");
  ASSERT_EQ(status.resources.size(), 5u);
  const auto vip = Resources(status, "atm-vip");
  ASSERT_EQ(vip.size(), 1u);
  EXPECT_EQ(vip[0]->parent, "atm-switch");
  EXPECT_EQ(vip[0]->agent, "ocf:heartbeat:IPaddr2");
  EXPECT_EQ(vip[0]->role, "Started");
  EXPECT_TRUE(vip[0]->active);
  EXPECT_TRUE(vip[0]->managed);
  EXPECT_THAT(vip[0]->nodes, ElementsAre("atm-srv-a"));
  const auto db = Resources(status, "ledger-db");
  ASSERT_EQ(db.size(), 2u);  // clone instances keep their own role and node
  EXPECT_EQ(db[0]->role, "Promoted");
  EXPECT_EQ(db[1]->role, "Unpromoted");
  EXPECT_THAT(db[1]->nodes, ElementsAre("atm-srv-b"));
  EXPECT_THAT(status.failures, IsEmpty());
  EXPECT_EQ(status.result_code, 0);
  EXPECT_EQ(status.result_message, "OK");
}

TEST(ParseCrmMonXml, NewFormStandbyNodeAndResourcesFailedOver) {
  const auto status = ParseFixture("result_standby_failed_over.xml");
  EXPECT_TRUE(Node(status, "atm-srv-a").standby);
  EXPECT_TRUE(Node(status, "atm-srv-a").online);
  EXPECT_THAT(Resources(status, "atm-vip").at(0)->nodes, ElementsAre("atm-srv-b"));
}

TEST(ParseCrmMonXml, NewFormOfflineUncleanNodeFailedBlockedAndUnmanagedResources) {
  const auto status = ParseFixture("result_offline_unclean_failed.xml");
  EXPECT_EQ(status.with_quorum, false);
  EXPECT_FALSE(Node(status, "atm-srv-a").online);
  EXPECT_TRUE(Node(status, "atm-srv-a").unclean);
  EXPECT_FALSE(Node(status, "atm-srv-c").online);
  EXPECT_FALSE(Node(status, "atm-srv-c").unclean);

  const auto switchd = Resources(status, "atm-switchd").at(0);
  EXPECT_TRUE(switchd->failed);
  EXPECT_TRUE(switchd->blocked);
  EXPECT_FALSE(switchd->active);
  EXPECT_EQ(switchd->role, "Stopped");
  EXPECT_EQ(switchd->target_role, "Started");
  EXPECT_THAT(switchd->nodes, IsEmpty());

  const auto journal = Resources(status, "journal").at(0);
  EXPECT_EQ(journal->parent, "journal-bundle/0");
  const auto batch = Resources(status, "legacy-batch").at(0);
  EXPECT_FALSE(batch->managed);
  EXPECT_THAT(batch->nodes, ElementsAre("atm-srv-a"));

  ASSERT_EQ(status.failures.size(), 2u);
  EXPECT_EQ(status.failures[0].op_key, "atm-switchd_start_0");
  EXPECT_EQ(status.failures[0].node, "atm-srv-b");
  EXPECT_EQ(status.failures[0].task, "start");
  EXPECT_EQ(status.failures[0].exit_code, 7);
  EXPECT_EQ(status.failures[0].exit_status, "not running");
  EXPECT_EQ(status.failures[0].exit_reason, "atm-switchd: listener port 7001 in use");
  EXPECT_EQ(status.failures[1].status, "Timed Out");
}

TEST(ParseCrmMonXml, NewFormErrorResultCarriesCrmMonsCode) {
  const auto status = ParseFixture("result_not_connected.xml");
  EXPECT_EQ(status.result_code, 102);
  EXPECT_EQ(status.result_message, "Not connected");
  EXPECT_THAT(status.nodes, IsEmpty());
  EXPECT_FALSE(status.with_quorum.has_value());
}

TEST(ParseCrmMonXml, OldFormWithResourcesListedPerNode) {
  const auto status = ParseFixture("legacy_ha_cluster_exporter.xml");
  EXPECT_EQ(status.form, ClusterStatus::Form::kCrmMon);
  EXPECT_EQ(status.dc, "hana01");
  ASSERT_EQ(status.nodes.size(), 2u);
  EXPECT_TRUE(Node(status, "hana02").online);
  EXPECT_FALSE(status.result_code.has_value());
  ASSERT_EQ(status.resources.size(), 6u);
  const auto hana = Resources(status, "rsc_SAPHana_PRD_HDB00");
  ASSERT_EQ(hana.size(), 2u);
  EXPECT_EQ(hana[0]->role, "Master");
  EXPECT_THAT(hana[0]->nodes, ElementsAre("hana01"));
  EXPECT_EQ(hana[1]->role, "Slave");
  EXPECT_THAT(hana[1]->nodes, ElementsAre("hana02"));
}

TEST(ParseCrmMonXml, OldFormWithResourcesSectionAndFailures) {
  const auto status = ParseFixture("legacy_resources_and_failures.xml");
  EXPECT_EQ(status.form, ClusterStatus::Form::kCrmMon);
  EXPECT_FALSE(Node(status, "atm-srv-a").online);
  ASSERT_EQ(status.resources.size(), 4u);
  EXPECT_TRUE(Resources(status, "atm-switchd").at(0)->failed);
  EXPECT_EQ(Resources(status, "ledger-db").at(1)->role, "Stopped");
  EXPECT_EQ(Resources(status, "ledger-db").at(1)->parent, "ledger-db-clone");
  ASSERT_EQ(status.failures.size(), 1u);
  EXPECT_EQ(status.failures[0].exit_code, 7);
  EXPECT_EQ(status.failures[0].task, "monitor");
}

void ExpectBad(std::string_view xml, const char* where, const char* what) {
  EXPECT_THAT(ParseCrmMonXml(xml, "crm_mon"), testing::IsBadInputAt(where, what)) << xml;
}

TEST(ParseCrmMonXml, BadInputNamesTheLine) {
  ExpectBad("<pacemaker-result>\n  <nodes>\n    <node name=\"a\"\n</pacemaker-result>\n",
            "crm_mon:4: ", "not well-formed XML");
  ExpectBad("", "crm_mon:1: ", "not well-formed XML");
  ExpectBad("<html>\n</html>\n", "crm_mon:1: ", "neither <crm_mon> nor <pacemaker-result>");
  ExpectBad("<crm_mon>\n<nodes>\n<node name=\"a\" online=\"maybe\"/>\n</nodes>\n</crm_mon>",
            "crm_mon:3: ", "online=\"maybe\" is not true or false");
  ExpectBad("<crm_mon>\n<nodes>\n<node online=\"true\"/>\n</nodes>\n</crm_mon>",
            "crm_mon:3: ", "node without a name");
  ExpectBad(
      "<pacemaker-result>\n<failures>\n<failure op_key=\"x\" exitcode=\"seven\"/>\n</failures>\n"
      "</pacemaker-result>",
      "crm_mon:3: ", "exitcode=\"seven\"");
  std::string deep = "<pacemaker-result><resources>";
  for (int i = 0; i < 20; ++i) deep += "<group id=\"g" + std::to_string(i) + "\">";
  ExpectBad(deep + "</resources></pacemaker-result>", "crm_mon:", "not well-formed");
  for (int i = 0; i < 20; ++i) deep += "</group>";
  ExpectBad(deep + "</resources></pacemaker-result>", "crm_mon:1: ", "nested deeper");
}

// A stand-in crm_mon: a real executable that prints `fixture` (or nothing)
// to stdout, noise to stderr, and exits with `exit_code`.
std::string FakeCrmMon(const testing::ScratchDir& dir, const std::string& fixture, int exit_code,
                       const std::string& extra = "") {
  const auto path = (dir / "crm_mon").string();
  std::string script = "#!/bin/sh\necho 'warning: this goes to stderr' >&2\n";
  if (!fixture.empty()) script += "cat '" + testing::Fixture("crm_mon/" + fixture).string() + "'\n";
  script += extra + "exit " + std::to_string(exit_code) + "\n";
  testing::WriteFile(path, script);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

TEST(RunCrmMon, ParsesWhatTheCommandPrintsAndIgnoresItsStderr) {
  testing::ScratchDir dir;
  auto status = RunCrmMon(
      {.argv = {FakeCrmMon(dir, "result_standby_failed_over.xml", 0), "--output-as=xml"}});
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_TRUE(Node(*status, "atm-srv-a").standby);
}

TEST(RunCrmMon, NonZeroExitWithXmlIsAStatusCarryingTheCode) {
  testing::ScratchDir dir;
  auto status = RunCrmMon({.argv = {FakeCrmMon(dir, "result_not_connected.xml", 102)}});
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_EQ(status->result_code, 102);
}

TEST(RunCrmMon, EachFailureSaysWhichStepFailed) {
  testing::ScratchDir dir;
  auto garbage = RunCrmMon({.argv = {FakeCrmMon(dir, "", 1, "echo 'crm_mon: not found'\n")}});
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message(), HasSubstr("not well-formed XML"));
  EXPECT_THAT(garbage.error().message(), HasSubstr("(exit status 1)"));

  auto hung = RunCrmMon({.argv = {FakeCrmMon(dir, "", 0, "sleep 30\n")},
                         .time_limit = std::chrono::milliseconds(200)});
  ASSERT_FALSE(hung.ok());
  EXPECT_EQ(hung.error().code(), ErrorCode::kTimeout);
  EXPECT_THAT(hung.error().message(), HasSubstr("time limit of 200 ms"));

  auto cut = RunCrmMon(
      {.argv = {FakeCrmMon(dir, "result_two_nodes_healthy.xml", 0)}, .output_limit = 512});
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(cut.error().message(), HasSubstr("output cut at 512"));

  auto missing = RunCrmMon({.argv = {(dir / "no-crm_mon").string()}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace atmhealth::platform
