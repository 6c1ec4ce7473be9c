// The md RAID watcher against real-format /proc/mdstat fixtures in a proc
// tree the test switches, and its [raid] section.
#include "agent/watch/raid_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/rules/rule_set.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using ::testing::HasSubstr;

const std::vector<v1::CustomerService> kOffered = {
    v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT, v1::CUSTOMER_SERVICE_INQUIRY};

Result<std::shared_ptr<const RaidConfig>> Parse(const std::string& text) {
  const toml::table root = toml::parse(text, std::string_view("atmhealthd.toml"));
  const ConfigSection top("atmhealthd.toml", root, "", 1);
  auto raid = top.Child("raid");
  if (!raid.ok()) return raid.error();
  return ReadRaidConfig(*raid, kOffered);
}

std::map<std::string, std::string> ContextOf(const Measurement& m) {
  return {m.context.begin(), m.context.end()};
}

std::map<std::string, std::string> ContextOf(const v1::Event& event) {
  std::map<std::string, std::string> context;
  for (const auto& entry : event.context()) context[entry.key()] = entry.value();
  return context;
}

// A proc tree whose mdstat the test replaces with a fixture.
class RaidWatcherTest : public ::testing::Test {
 protected:
  void Use(const std::string& fixture) {
    std::filesystem::copy_file(testing::Fixture("mdstat/" + fixture), scratch_ / "mdstat",
                               std::filesystem::copy_options::overwrite_existing);
  }

  RaidConfig Config(std::vector<std::string> arrays = {}) {
    RaidConfig config;
    config.proc_root = scratch_.path().string();
    config.arrays = std::move(arrays);
    return config;
  }

  // The RAID measurements of one sample, by array.
  std::map<std::string, Measurement> Arrays(RaidWatcher& watcher) {
    std::vector<Measurement> out;
    watcher.Sample(out);
    std::map<std::string, Measurement> arrays;
    for (Measurement& m : out) {
      if (m.kind == v1::ALERT_KIND_RAID) arrays[m.subject] = std::move(m);
    }
    return arrays;
  }

  testing::ScratchDir scratch_;
};

TEST_F(RaidWatcherTest, EachFixtureGivesItsState) {
  RaidWatcher watcher(Config());
  Use("clean_with_spare.txt");
  auto arrays = Arrays(watcher);
  ASSERT_EQ(arrays.count("md0"), 1u);
  EXPECT_EQ(arrays["md0"].state, RedundancyState::kRedundant);
  EXPECT_EQ(arrays["md0"].value, 2);
  EXPECT_EQ(arrays["md0"].expected, 2);
  EXPECT_EQ(ContextOf(arrays["md0"])["spares"], "1");

  Use("degraded_failed.txt");
  arrays = Arrays(watcher);
  EXPECT_EQ(arrays["md0"].state, RedundancyState::kDegraded);
  EXPECT_EQ(arrays["md0"].value, 1);
  EXPECT_EQ(arrays["md0"].expected, 2);
  auto context = ContextOf(arrays["md0"]);
  EXPECT_EQ(context["failed"], "sdb1");
  EXPECT_EQ(context["slots"], "[U_]");
  EXPECT_EQ(context["missing_slots"], "1");
  EXPECT_EQ(context["spares"], "0");
  EXPECT_THAT(context["mdstat"], HasSubstr("md0 : active raid1 sdb1[1](F) sda1[0]"));
  EXPECT_THAT(context["mdstat"], HasSubstr("[2/1] [U_]"));
  EXPECT_EQ(context.count("sync_action"), 0u);

  Use("recovering.txt");
  arrays = Arrays(watcher);
  EXPECT_EQ(arrays["md0"].state, RedundancyState::kRecovering);
  context = ContextOf(arrays["md0"]);
  EXPECT_EQ(context["sync_action"], "recovery");
  EXPECT_EQ(context["sync_progress"], "21.4%");
  EXPECT_EQ(context["sync_eta"], platform::FormatDuration(std::chrono::milliseconds(3738000)));
  EXPECT_EQ(context["sync_speed"], "205218 KiB/s");
}

TEST_F(RaidWatcherTest, SeveralArraysEachInTheirOwnState) {
  Use("procfs_composite.txt");
  RaidWatcher watcher(Config());
  auto arrays = Arrays(watcher);
  std::map<std::string, RedundancyState> states;
  for (const auto& [name, m] : arrays) states[name] = *m.state;
  // raid0 and linear arrays have no redundancy; md219 is an IMSM container.
  EXPECT_EQ(states, (std::map<std::string, RedundancyState>{
                        {"md0", RedundancyState::kRedundant},
                        {"md127", RedundancyState::kRedundant},
                        {"md3", RedundancyState::kRedundant},
                        {"md4", RedundancyState::kDown},  // inactive
                        // The spare is being rebuilt into the failed member's slot.
                        {"md6", RedundancyState::kRecovering},
                        {"md7", RedundancyState::kDegraded},
                        {"md8", RedundancyState::kRecovering},   // resync
                        {"md9", RedundancyState::kRedundant},    // resync=DELAYED, not running
                        {"md11", RedundancyState::kRedundant},   // resync=PENDING
                        {"md201", RedundancyState::kRedundant},  // a check changes nothing
                        {"md42", RedundancyState::kRecovering},  // degraded, reshaping
                    }));
  EXPECT_EQ(ContextOf(arrays["md6"])["failed"], "sdb2");
  EXPECT_EQ(ContextOf(arrays["md6"])["sync_progress"], "8.5%");
  EXPECT_EQ(ContextOf(arrays["md7"])["failed"], "sdc1");
  EXPECT_EQ(ContextOf(arrays["md7"])["level"], "raid6");
  EXPECT_EQ(ContextOf(arrays["md7"])["missing_slots"], "1");
  EXPECT_EQ(arrays["md7"].value, 3);
  EXPECT_EQ(arrays["md7"].expected, 4);
  EXPECT_THAT(ContextOf(arrays["md7"])["mdstat"], ::testing::Not(HasSubstr("md6")));
  EXPECT_EQ(ContextOf(arrays["md201"])["sync_action"], "check");
  EXPECT_EQ(ContextOf(arrays["md201"])["sync_progress"], "5.7%");
  EXPECT_EQ(ContextOf(arrays["md9"])["sync_waiting"], "DELAYED");
  EXPECT_EQ(ContextOf(arrays["md42"])["sync_action"], "reshape");
  EXPECT_EQ(ContextOf(arrays["md3"])["spares"], "2");
  EXPECT_EQ(arrays["md4"].value, 0);
  EXPECT_EQ(ContextOf(arrays["md4"])["activity"], "inactive");
}

TEST_F(RaidWatcherTest, ListedArrayMissingFromMdstatIsDown) {
  Use("degraded_failed.txt");
  RaidWatcher watcher(Config({"md0", "md1"}));
  auto arrays = Arrays(watcher);
  ASSERT_EQ(arrays.count("md1"), 1u);
  EXPECT_EQ(arrays["md1"].state, RedundancyState::kDown);
  EXPECT_THAT(ContextOf(arrays["md1"])["condition"], HasSubstr("not in "));
}

TEST_F(RaidWatcherTest, BadMdstatIsAProbeFailureNamingFileAndLineCountedAndArraysKeepTheirState) {
  Use("degraded_failed.txt");
  RaidWatcher watcher(Config());
  FakeClock clock;
  RuleSet rules;
  std::vector<v1::Event> events;
  std::vector<Measurement> out;
  watcher.Sample(out);
  ASSERT_TRUE(rules.Declare(watcher.name(), watcher.Rules(), clock, events).ok());
  rules.Evaluate(out, clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].alert_key(), "raid:md0");

  testing::WriteFile(scratch_ / "mdstat",
                     "Personalities : [raid1]\nmd0 : active raid1 sdb1[x](F) sda1[0]\n");
  const std::string path = (scratch_ / "mdstat").string();
  for (int i = 1; i <= 2; ++i) {
    out.clear();
    events.clear();
    watcher.Sample(out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, v1::ALERT_KIND_AGENT_HEALTH);
    EXPECT_EQ(out[0].subject, "probe:" + path);
    EXPECT_EQ(out[0].value, 1);
    EXPECT_THAT(ContextOf(out[0])["error"], HasSubstr(path + ":2:"));
    EXPECT_EQ(ContextOf(out[0])["failed_reads"], std::to_string(i));
    ASSERT_TRUE(rules.Declare(watcher.name(), watcher.Rules(), clock, events).ok());
    rules.Evaluate(out, clock, events);
  }
  // The array's alert is neither resolved nor retired while mdstat is unreadable.
  EXPECT_NE(rules.Find("raid:md0"), nullptr);
  EXPECT_NE(rules.Find("raid:md0")->firing_severity(), v1::SEVERITY_UNSPECIFIED);

  // No mdstat at all is no md driver: no arrays, and the listed ones down.
  std::filesystem::remove(scratch_ / "mdstat");
  RaidWatcher listing(Config({"md0"}));
  auto arrays = Arrays(listing);
  ASSERT_EQ(arrays.count("md0"), 1u);
  EXPECT_EQ(arrays["md0"].state, RedundancyState::kDown);
}

// clean -> degraded -> recovering -> clean, through the rules as the daemon
// runs them: each state its own event, severity and impact from the config.
TEST_F(RaidWatcherTest, DegradedThenRecoveringThenCleanRaisesAndResolves) {
  auto config = Parse(R"([raid]
proc_root = "/proc"
[raid.states]
degraded = { severity = "critical" }
recovering = { severity = "warning", degraded = ["deposit"] }
)");
  ASSERT_TRUE(config.ok()) << config.error().message();
  RaidConfig settings = **config;
  settings.proc_root = scratch_.path().string();
  RaidWatcher watcher(settings);
  FakeClock clock;
  RuleSet rules;
  const auto step = [&](const std::string& fixture) {
    Use(fixture);
    std::vector<Measurement> out;
    std::vector<v1::Event> events;
    watcher.Sample(out);
    EXPECT_TRUE(rules.Declare(watcher.name(), watcher.Rules(), clock, events).ok());
    rules.Evaluate(out, clock, events);
    clock.Advance(std::chrono::seconds(10));
    return events;
  };

  EXPECT_TRUE(step("clean_with_spare.txt").empty());
  auto events = step("degraded_failed.txt");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(events[0].kind(), v1::ALERT_KIND_RAID);
  EXPECT_EQ(events[0].subject(), "md0");
  EXPECT_EQ(events[0].value(), 1);
  EXPECT_EQ(events[0].threshold(), 2);
  EXPECT_EQ(events[0].unit(), v1::UNIT_COUNT);
  EXPECT_EQ(events[0].category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  EXPECT_EQ(events[0].impact().unavailable_size(), 0);
  EXPECT_EQ(events[0].impact().degraded_size(), 0);
  EXPECT_THAT(events[0].summary(), HasSubstr("redundancy lost while the service is still up"));
  EXPECT_EQ(ContextOf(events[0])["state"], "degraded");
  EXPECT_EQ(ContextOf(events[0])["failed"], "sdb1");

  events = step("recovering.txt");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(ContextOf(events[0])["state"], "recovering");
  EXPECT_EQ(ContextOf(events[0])["sync_progress"], "21.4%");
  EXPECT_FALSE(ContextOf(events[0])["sync_eta"].empty());
  ASSERT_EQ(events[0].impact().degraded_size(), 1);
  EXPECT_EQ(events[0].impact().degraded(0), v1::CUSTOMER_SERVICE_DEPOSIT);

  events = step("clean_with_spare.txt");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(ContextOf(events[0])["state"], "redundant");
  EXPECT_TRUE(step("clean_with_spare.txt").empty());
}

TEST(RaidConfigTest, OffWithoutTheSectionOnWithIt) {
  auto absent = Parse("[other]\n");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, nullptr);
  auto present = Parse("[raid]\n");
  ASSERT_TRUE(present.ok()) << present.error().message();
  ASSERT_NE(*present, nullptr);
  EXPECT_EQ((*present)->proc_root, "/proc");
  EXPECT_EQ((*present)->interval, std::chrono::seconds(10));
  EXPECT_EQ((*present)->states.category, v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  auto full = Parse(R"([raid]
interval = "2s"
proc_root = "/host/proc"
arrays = ["md0", "md1"]
for = "30s"
)");
  ASSERT_TRUE(full.ok()) << full.error().message();
  EXPECT_EQ((*full)->interval, std::chrono::seconds(2));
  EXPECT_EQ((*full)->proc_root, "/host/proc");
  EXPECT_EQ((*full)->arrays, (std::vector<std::string>{"md0", "md1"}));
  EXPECT_EQ((*full)->states.for_duration, std::chrono::seconds(30));
}

TEST(RaidConfigTest, MistakesNameFileLineAndKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"[raid]\nproc = \"/proc\"\n",
       "atmhealthd.toml:2: raid.proc: unknown key (valid keys: interval, proc_root, arrays, for, "
       "states)"},
      {"[raid]\nproc_root = \"proc\"\n",
       "atmhealthd.toml:2: raid.proc_root: must be an absolute path, not \"proc\""},
      {"[raid]\narrays = [\"md0\", \"md0\"]\n",
       "atmhealthd.toml:2: raid.arrays[1]: \"md0\" is listed twice"},
      {"[raid]\narrays = [\"/dev/md0\"]\n",
       "atmhealthd.toml:2: raid.arrays[0]: must be an array name like \"md0\", not \"/dev/md0\""},
      {"[raid]\ninterval = \"0s\"\n", "atmhealthd.toml:2: raid.interval: must be longer than zero"},
      {"[raid.states]\nrecovering = { severity = \"loud\" }\n",
       "atmhealthd.toml:2: raid.states.recovering.severity: unknown severity \"loud\" (valid: "
       "none, info, warning, critical)"},
  };
  for (const auto& [text, message] : cases) {
    auto config = Parse(text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.error().message(), message);
  }
}

}  // namespace
}  // namespace atmhealth::agent
