// The link-group and bonding watchers against real-format /sys and /proc
// fixture trees, and their config sections.
#include "agent/watch/link_group_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/rules/rule_set.h"
#include "agent/watch/bonding_watcher.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using ::testing::HasSubstr;

const std::vector<v1::CustomerService> kOffered = {
    v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT, v1::CUSTOMER_SERVICE_INQUIRY};

template <typename Read>
auto Parse(const std::string& text, const std::string& name, Read read) {
  const toml::table root = toml::parse(text, std::string_view("atmhealthd.toml"));
  const ConfigSection top("atmhealthd.toml", root, "", 1);
  auto section = top.Child(name);
  EXPECT_TRUE(section.ok());
  return read(*section, kOffered);
}

std::map<std::string, std::string> ContextOf(const Measurement& m) {
  return {m.context.begin(), m.context.end()};
}

std::map<std::string, Measurement> Measure(Watcher& watcher, v1::AlertKind kind) {
  std::vector<Measurement> out;
  watcher.Sample(out);
  std::map<std::string, Measurement> by_subject;
  for (Measurement& m : out) {
    if (m.kind == kind) by_subject[m.subject] = std::move(m);
  }
  return by_subject;
}

TEST(LinkGroupWatcher, KOfNUpGivesTheStateAndNamesWhyEachDownLinkIsDown) {
  LinkGroupConfig config;
  config.sys_root = testing::Fixture("sys").string();
  config.groups = {{"uplink", {"eth0", "lo"}, 1},
                   {"lan", {"eth0", "eth1", "wan0"}, 1},
                   {"branch", {"eth1", "wan0", "admin0", "gone0"}, 1},
                   {"pair", {"eth0", "bad0"}, 2}};
  LinkGroupWatcher watcher(config);
  auto groups = Measure(watcher, v1::ALERT_KIND_LINK_GROUP);
  ASSERT_EQ(groups.size(), 4u);
  // lo reports operstate "unknown" with carrier: it carries traffic.
  EXPECT_EQ(groups["uplink"].state, RedundancyState::kRedundant);
  EXPECT_EQ(groups["uplink"].value, 2);
  EXPECT_EQ(groups["lan"].state, RedundancyState::kDegraded);
  EXPECT_EQ(groups["lan"].value, 1);
  EXPECT_EQ(groups["lan"].expected, 3);
  EXPECT_EQ(ContextOf(groups["lan"])["up"], "eth0");
  EXPECT_THAT(ContextOf(groups["lan"])["down"], HasSubstr("eth1: no carrier"));
  EXPECT_THAT(ContextOf(groups["lan"])["down"], HasSubstr("wan0: no carrier"));
  EXPECT_EQ(groups["branch"].state, RedundancyState::kDown);
  EXPECT_THAT(ContextOf(groups["branch"])["down"], HasSubstr("gone0: no such interface"));
  EXPECT_THAT(ContextOf(groups["branch"])["down"], HasSubstr("admin0: operstate down"));
  // An operstate no kernel writes is a down link whose reason names the file.
  EXPECT_EQ(groups["pair"].state, RedundancyState::kDown);
  EXPECT_THAT(ContextOf(groups["pair"])["down"], HasSubstr("bad0/operstate"));
}

TEST(LinkGroupConfigTest, ReadsGroupsAndNamesMistakes) {
  auto config = Parse(R"([links]
interval = "1s"
sys_root = "/host/sys"
[links.states]
degraded = { severity = "critical" }
[[links.group]]
name = "uplink"
interfaces = ["eth0", "eth1"]
)",
                      "links", ReadLinkGroupConfig);
  ASSERT_TRUE(config.ok()) << config.error().message();
  ASSERT_NE(*config, nullptr);
  ASSERT_EQ((*config)->groups.size(), 1u);
  EXPECT_EQ((*config)->groups[0].min_up, 1u);
  EXPECT_EQ((*config)->sys_root, "/host/sys");
  EXPECT_EQ((*config)->states.outcome(RedundancyState::kDegraded).severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(*Parse("[other]\n", "links", ReadLinkGroupConfig), nullptr);

  const std::pair<std::string, std::string> cases[] = {
      {"[links]\ninterval = \"1s\"\n",
       "atmhealthd.toml:1: links.group: needs at least one [[links.group]] with a name and its "
       "interfaces"},
      {"[[links.group]]\nname = \"a\"\ninterfaces = [\"eth0\"]\n",
       "atmhealthd.toml:3: links.group[0].interfaces: needs at least two interfaces: one alone "
       "has nothing to fail over to"},
      {"[[links.group]]\nname = \"a\"\ninterfaces = [\"eth0\", \"eth1\"]\nmin_up = 3\n",
       "atmhealthd.toml:4: links.group[0].min_up: must be between 1 and 2, not 3"},
      {"[[links.group]]\ninterfaces = [\"eth0\", \"eth1\"]\n",
       "atmhealthd.toml:1: links.group[0].name: required: the name of the group"},
      {"[[links.group]]\nname = \"a\"\ninterfaces = [\"eth0\", \"eth1\"]\n[[links.group]]\nname = "
       "\"a\"\ninterfaces = [\"eth2\", \"eth3\"]\n",
       "atmhealthd.toml:5: links.group[1].name: \"a\" names another group too"},
      {"[links]\nsys_root = \"sys\"\n",
       "atmhealthd.toml:2: links.sys_root: must be an absolute path, not \"sys\""},
  };
  for (const auto& [text, message] : cases) {
    auto bad = Parse(text, "links", ReadLinkGroupConfig);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_EQ(bad.error().message(), message);
  }
}

// A proc tree whose bonding files the test writes from fixtures.
class BondingWatcherTest : public ::testing::Test {
 protected:
  void Use(const std::string& bond, const std::string& fixture) {
    std::filesystem::create_directories(scratch_ / "net/bonding");
    std::filesystem::copy_file(testing::Fixture("bonding/" + fixture),
                               scratch_ / "net/bonding" / bond,
                               std::filesystem::copy_options::overwrite_existing);
  }
  BondingConfig Config(std::vector<std::string> bonds = {}) {
    BondingConfig config;
    config.proc_root = scratch_.path().string();
    config.bonds = std::move(bonds);
    return config;
  }
  testing::ScratchDir scratch_;
};

TEST_F(BondingWatcherTest, EachFixtureGivesItsState) {
  Use("bond0", "active_backup_healthy.txt");
  Use("bond1", "active_backup_slave_down.txt");
  Use("bond2", "active_backup_all_down.txt");
  Use("bond3", "lacp_one_port_down.txt");
  Use("bond4", "lacp_no_aggregator.txt");
  BondingWatcher watcher(Config());
  auto bonds = Measure(watcher, v1::ALERT_KIND_LINK_GROUP);
  ASSERT_EQ(bonds.size(), 5u);
  EXPECT_EQ(bonds["bond0"].state, RedundancyState::kRedundant);
  EXPECT_EQ(bonds["bond1"].state, RedundancyState::kDegraded);
  auto context = ContextOf(bonds["bond1"]);
  EXPECT_EQ(context["mode"], "fault-tolerance (active-backup)");
  EXPECT_EQ(context["active_slave"], "eth2");
  EXPECT_EQ(context["slaves_down"], "eth3");
  EXPECT_THAT(context["link_failures"], HasSubstr("eth3=2"));
  EXPECT_EQ(bonds["bond1"].value, 1);
  EXPECT_EQ(bonds["bond1"].expected, 2);
  EXPECT_EQ(bonds["bond2"].state, RedundancyState::kDown);
  EXPECT_EQ(bonds["bond3"].state, RedundancyState::kDegraded);
  EXPECT_EQ(bonds["bond4"].state, RedundancyState::kDown);
  EXPECT_EQ(ContextOf(bonds["bond4"])["aggregator"], "no active aggregator");
}

TEST_F(BondingWatcherTest, ListedBondMissingIsDownAndBadTextIsAProbeFailureNamingFileAndLine) {
  std::filesystem::create_directories(scratch_ / "net/bonding");
  testing::WriteFile(scratch_ / "net/bonding/bond0",
                     "Ethernet Channel Bonding Driver: v3.6.0\n\nBonding Mode: "
                     "fault-tolerance (active-backup)\nMII Status: sideways\n");
  BondingWatcher watcher(Config({"bond0", "bond9"}));
  std::vector<Measurement> out;
  watcher.Sample(out);
  std::map<std::string, Measurement> by_subject;
  for (Measurement& m : out) by_subject[m.subject] = m;
  const std::string file = (scratch_ / "net/bonding/bond0").string();
  ASSERT_EQ(by_subject.count("probe:" + file), 1u);
  EXPECT_EQ(by_subject["probe:" + file].value, 1);
  EXPECT_THAT(ContextOf(by_subject["probe:" + file])["error"], HasSubstr(file + ":4"));
  EXPECT_EQ(by_subject.count("bond0"), 0u);  // keeps its state
  EXPECT_EQ(by_subject["bond9"].state, RedundancyState::kDown);

  // Every subject has a rule, and the probe one is declared for the bond.
  FakeClock clock;
  RuleSet rules;
  std::vector<v1::Event> events;
  ASSERT_TRUE(rules.Declare(watcher.name(), watcher.Rules(), clock, events).ok());
  rules.Evaluate(out, clock, events);
  EXPECT_NE(rules.Find("link_group:bond9"), nullptr);
  EXPECT_NE(rules.Find("link_group:bond0"), nullptr);
  EXPECT_NE(rules.Find("agent_health:probe:" + file), nullptr);
  ASSERT_EQ(events.size(), 2u);
}

TEST_F(BondingWatcherTest, ActiveBackupAwayFromItsPrimaryIsFailedOverAndNewLinkFailuresCount) {
  Use("bond0", "active_backup_slave_down.txt");
  BondingWatcher watcher(Config());
  auto first = Measure(watcher, v1::ALERT_KIND_LINK_GROUP);
  ASSERT_EQ(first.count("bond0"), 1u);
  EXPECT_EQ(ContextOf(first["bond0"])["new_link_failures"], "0");
  EXPECT_EQ(ContextOf(first["bond0"])["primary_slave"], "eth2");

  // eth3 failed three more times since the last sample.
  std::string text = testing::ReadFile(testing::Fixture("bonding/active_backup_slave_down.txt"));
  const std::string count = "Link Failure Count: 2";
  text.replace(text.find(count), count.size(), "Link Failure Count: 5");
  testing::WriteFile(scratch_ / "net/bonding/bond0", text);
  auto second = Measure(watcher, v1::ALERT_KIND_LINK_GROUP);
  EXPECT_EQ(ContextOf(second["bond0"])["new_link_failures"], "3");

  // Every slave up, but traffic on eth3 while eth2 is the primary.
  auto parsed = platform::ParseBondStatus(text, "bond0", "bond0");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  for (auto& slave : parsed->slaves) slave.mii_status = platform::MiiStatus::kUp;
  EXPECT_EQ(BondingWatcher::StateOf(*parsed), RedundancyState::kRedundant);
  parsed->active_slave = "eth3";
  EXPECT_EQ(BondingWatcher::StateOf(*parsed), RedundancyState::kFailedOver);
}

}  // namespace
}  // namespace atmhealth::agent
