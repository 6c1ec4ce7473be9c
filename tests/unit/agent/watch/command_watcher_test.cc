// The command watcher: the state each exit status means, what makes a run a
// failed probe, real checks (a script the test switches, or that hangs) run
// on their own threads, and the [command] section with its errors.
#include "agent/watch/command_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "agent/config.h"
#include "tests/support/fake_command.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<v1::CustomerService> kOffered = {
    v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT, v1::CUSTOMER_SERVICE_INQUIRY};

Result<std::shared_ptr<const CommandConfig>> Parse(const std::string& text) {
  const toml::table root = toml::parse(text, std::string_view("atmhealthd.toml"));
  const ConfigSection top("atmhealthd.toml", root, "", 1);
  auto section = top.Child("command");
  if (!section.ok()) return section.error();
  return ReadCommandConfig(*section, kOffered);
}

std::map<std::string, std::string> ContextOf(const Measurement& m) {
  return {m.context.begin(), m.context.end()};
}

CommandCheckConfig Check(v1::AlertKind kind = v1::ALERT_KIND_RAID) {
  CommandCheckConfig check;
  check.name = "megaraid";
  check.kind = kind;
  check.command.argv = {"/usr/sbin/check_megaraid", "-a0"};
  check.command.time_limit = milliseconds(1500);
  return check;
}

platform::CommandOutcome Exited(int status, std::string output) {
  platform::CommandOutcome outcome;
  outcome.exited = true;
  outcome.exit_code = status;
  outcome.output_bytes = output.size();
  outcome.output = std::move(output);
  outcome.elapsed = milliseconds(42);
  return outcome;
}

// --- the state of one run --------------------------------------------------

TEST(CommandCheckState, PluginConventionZeroOneTwoAreRedundantDegradedDown) {
  const std::vector<std::pair<int, RedundancyState>> cases = {
      {0, RedundancyState::kRedundant},
      {1, RedundancyState::kDegraded},
      {2, RedundancyState::kDown},
  };
  for (const auto& [status, state] : cases) {
    auto m = CommandWatcher::MeasureCheck(
        Check(), Exited(status, "RAID " + std::to_string(status) + " | vd0=1\r\nsecond line\n"));
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m->kind, v1::ALERT_KIND_RAID);
    EXPECT_EQ(m->subject, "megaraid");
    EXPECT_EQ(m->state, state) << status;
    EXPECT_EQ(m->value, status);
    EXPECT_EQ(m->expected, 0);
    // The first line, without its "\r", is what the summary says.
    EXPECT_EQ(m->detail, "RAID " + std::to_string(status) + " | vd0=1");
    auto context = ContextOf(*m);
    EXPECT_EQ(context["source"], "command");
    EXPECT_EQ(context["output"], m->detail);
    EXPECT_EQ(context["exit_status"], std::to_string(status));
    EXPECT_EQ(context["command"], "/usr/sbin/check_megaraid -a0");
    EXPECT_EQ(context["elapsed_ms"], "42");
    EXPECT_EQ(context.count("output_cut"), 0u);
  }
}

TEST(CommandCheckState, ConfiguredExitStatesReplaceTheConvention) {
  CommandCheckConfig check = Check(v1::ALERT_KIND_CLUSTER);
  check.exit_states = {{0, RedundancyState::kRedundant},
                       {4, RedundancyState::kFailedOver},
                       {5, RedundancyState::kSplitBrain}};
  auto failed_over = CommandWatcher::MeasureCheck(check, Exited(4, "standby is active\n"));
  ASSERT_TRUE(failed_over.ok());
  EXPECT_EQ(failed_over->kind, v1::ALERT_KIND_CLUSTER);
  EXPECT_EQ(failed_over->state, RedundancyState::kFailedOver);
  EXPECT_EQ(CommandWatcher::MeasureCheck(check, Exited(5, ""))->state,
            RedundancyState::kSplitBrain);
  // 1 is not listed any more: a failed check, not a state.
  auto unlisted = CommandWatcher::MeasureCheck(check, Exited(1, "warning\n"));
  ASSERT_FALSE(unlisted.ok());
  EXPECT_EQ(unlisted.error().message(),
            "/usr/sbin/check_megaraid: exit status 1, which no state is given for; \"warning\"");
}

TEST(CommandCheckState, UnknownStatusKillAndSignalAreFailedProbesSayingWhy) {
  auto unknown = CommandWatcher::MeasureCheck(Check(), Exited(3, "UNKNOWN - no controller\n"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message(),
            "/usr/sbin/check_megaraid: exit status 3, which no state is given for (UNKNOWN by the "
            "monitoring-plugin convention); \"UNKNOWN - no controller\"");

  platform::CommandOutcome killed;
  killed.killed_at_time_limit = true;
  killed.signal = SIGKILL;
  auto timeout = CommandWatcher::MeasureCheck(Check(), killed);
  ASSERT_FALSE(timeout.ok());
  EXPECT_EQ(timeout.error().code(), ErrorCode::kTimeout);
  EXPECT_EQ(timeout.error().message(),
            "/usr/sbin/check_megaraid: killed (SIGKILL) at its time limit of 1500 ms");

  platform::CommandOutcome crashed;
  crashed.signal = SIGSEGV;
  auto signalled = CommandWatcher::MeasureCheck(Check(), crashed);
  ASSERT_FALSE(signalled.ok());
  EXPECT_EQ(signalled.error().message(),
            "/usr/sbin/check_megaraid: killed by signal 11; no output");

  auto not_started = CommandWatcher::MeasureCheck(
      Check(), Error(ErrorCode::kNotFound, "/usr/sbin/check_megaraid: no such program"));
  ASSERT_FALSE(not_started.ok());
  EXPECT_EQ(not_started.error().code(), ErrorCode::kNotFound);
}

TEST(CommandCheckState, LongFirstLineAndCutOutputAreBounded) {
  platform::CommandOutcome outcome = Exited(1, std::string(5000, 'x') + "\nrest\n");
  outcome.output_truncated = true;
  outcome.output_bytes = 100000;
  auto m = CommandWatcher::MeasureCheck(Check(), outcome);
  ASSERT_TRUE(m.ok());
  EXPECT_LE(m->detail.size(), 256u);
  EXPECT_EQ(ContextOf(*m)["output_cut"], "65536 of 100000 bytes kept");
}

// --- real checks on their own threads --------------------------------------

class CommandWatcherTest : public ::testing::Test {
 protected:
  std::map<std::string, Measurement> SampleOnce(CommandWatcher& watcher) {
    std::vector<Measurement> out;
    watcher.Sample(out);
    std::map<std::string, Measurement> by_subject;
    for (Measurement& m : out) by_subject[AlertKey(m.kind, m.subject)] = std::move(m);
    return by_subject;
  }

  CommandConfig ConfigFor(const testing::FakeCommand& check, milliseconds time_limit) {
    CommandConfig config;
    config.interval = milliseconds(100);
    CommandCheckConfig entry;
    entry.name = "multipath";
    entry.kind = v1::ALERT_KIND_LINK_GROUP;
    entry.command.argv = {check.program().string(), "--all"};
    entry.command.time_limit = time_limit;
    config.checks.push_back(entry);
    return config;
  }

  testing::ScratchDir scratch_;
};

TEST_F(CommandWatcherTest, ScriptSwitchedFromZeroToTwoToZeroDrivesTheState) {
  testing::FakeCommand check(scratch_ / "bin", "check_multipath");
  check.Answer(0, "OK: 2 of 2 paths active\n");
  CommandWatcher watcher(ConfigFor(check, seconds(10)));
  auto await_state = [&](RedundancyState wanted) {
    Measurement found;
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          auto sample = SampleOnce(watcher);
          if (sample.count("link_group:multipath") == 0) return false;
          found = sample["link_group:multipath"];
          EXPECT_EQ(sample["agent_health:probe:command:multipath"].value, 0);
          return found.state == wanted;
        },
        seconds(10)))
        << RedundancyStateName(wanted);
    return found;
  };
  EXPECT_EQ(await_state(RedundancyState::kRedundant).detail, "OK: 2 of 2 paths active");
  check.Answer(2, "CRITICAL: 0 of 2 paths active\n");
  EXPECT_EQ(await_state(RedundancyState::kDown).detail, "CRITICAL: 0 of 2 paths active");
  check.Answer(0, "OK: 2 of 2 paths active\n");
  await_state(RedundancyState::kRedundant);

  const std::vector<WatcherThread> threads = watcher.Threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].name, "command:multipath");
  EXPECT_EQ(threads[0].longest_task, seconds(10));
  const std::vector<RuleDefinition> rules = watcher.Rules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].kind, v1::ALERT_KIND_LINK_GROUP);
  EXPECT_EQ(rules[0].subject, "multipath");
  EXPECT_EQ(rules[1].subject, "probe:command:multipath");
}

TEST_F(CommandWatcherTest, HangingCheckNeverHoldsTheSampleAndIsKilledAtItsLimit) {
  testing::FakeCommand check(scratch_ / "bin", "check_multipath");
  check.Hang();
  CommandWatcher watcher(ConfigFor(check, milliseconds(1500)));
  ASSERT_TRUE(testing::WaitFor([&] { return check.runs() >= 1; }, seconds(10)));
  int samples_while_running = 0;
  Measurement probe;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto next = SampleOnce(watcher);
        EXPECT_EQ(next.count("link_group:multipath"), 0u);
        if (next.count("agent_health:probe:command:multipath") == 0) {
          ++samples_while_running;
          return false;
        }
        probe = next["agent_health:probe:command:multipath"];
        return true;
      },
      seconds(10)));
  EXPECT_GT(samples_while_running, 0);
  EXPECT_EQ(probe.value, 1);
  auto context = ContextOf(probe);
  EXPECT_THAT(context["error"], HasSubstr("killed (SIGKILL) at its time limit of 1500 ms"));
  EXPECT_EQ(context["error_code"], ErrorCodeName(ErrorCode::kTimeout));
  EXPECT_EQ(context["timeouts"], "1");

  check.Answer(1, "WARNING: 1 of 2 paths active\n");
  std::map<std::string, Measurement> answered;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        answered = SampleOnce(watcher);
        return answered.count("link_group:multipath") == 1;
      },
      seconds(10)));
  EXPECT_EQ(answered["agent_health:probe:command:multipath"].value, 0);
  EXPECT_EQ(answered["link_group:multipath"].state, RedundancyState::kDegraded);
}

TEST_F(CommandWatcherTest, CheckThatCannotStartIsAProbeAlert) {
  CommandConfig config;
  config.interval = milliseconds(100);
  CommandCheckConfig entry = Check();
  entry.command.argv = {(scratch_ / "no-such-check").string()};
  config.checks.push_back(entry);
  CommandWatcher watcher(config);
  Measurement probe;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto sample = SampleOnce(watcher);
        if (sample.count("agent_health:probe:command:megaraid") == 0) return false;
        probe = sample["agent_health:probe:command:megaraid"];
        return true;
      },
      seconds(10)));
  EXPECT_EQ(probe.value, 1);
  EXPECT_EQ(ContextOf(probe)["error_code"], ErrorCodeName(ErrorCode::kNotFound));
  EXPECT_EQ(ContextOf(probe)["timeouts"], "0");
}

// --- [command] -------------------------------------------------------------

TEST(CommandConfig, ReadsEveryCheckItsMappingAndStates) {
  auto config = Parse(R"([command]
interval = "20s"
for = "5s"
[command.states]
down = { severity = "critical", unavailable = ["withdrawal"] }
[[command.check]]
name = "megaraid"
kind = "raid"
command = ["/usr/sbin/check_megaraid", "-a0", "-v", "-v"]
time_limit = "15s"
output_limit = "8KiB"
[[command.check]]
name = "ha-tool"
kind = "cluster"
command = ["/usr/local/bin/ha-state"]
exit_states = { 0 = "redundant", 3 = "failed_over", 4 = "split_brain" }
for = "0s"
[command.check.states]
failed_over = { severity = "critical", degraded = ["deposit"] }
)");
  ASSERT_TRUE(config.ok()) << config.error().message();
  const CommandConfig& command = **config;
  EXPECT_EQ(command.interval, seconds(20));
  ASSERT_EQ(command.checks.size(), 2u);
  const CommandCheckConfig& raid = command.checks[0];
  EXPECT_EQ(raid.kind, v1::ALERT_KIND_RAID);
  EXPECT_THAT(raid.command.argv, ElementsAre("/usr/sbin/check_megaraid", "-a0", "-v", "-v"));
  EXPECT_EQ(raid.command.time_limit, seconds(15));
  EXPECT_EQ(raid.command.output_limit, 8192u);
  EXPECT_EQ(raid.exit_states, PluginExitStates());
  EXPECT_EQ(raid.states.for_duration, seconds(5));
  EXPECT_EQ(raid.states.outcome(RedundancyState::kDown).impact.unavailable,
            std::vector<v1::CustomerService>{v1::CUSTOMER_SERVICE_WITHDRAWAL});
  const CommandCheckConfig& cluster = command.checks[1];
  EXPECT_EQ(cluster.kind, v1::ALERT_KIND_CLUSTER);
  EXPECT_EQ(cluster.command.time_limit, seconds(10));  // the default
  EXPECT_EQ(cluster.exit_states.at(3), RedundancyState::kFailedOver);
  EXPECT_EQ(cluster.exit_states.count(1), 0u);
  EXPECT_EQ(cluster.states.for_duration, seconds(0));
  EXPECT_EQ(cluster.states.outcome(RedundancyState::kFailedOver).severity, v1::SEVERITY_CRITICAL);
  // The section's down outcome still holds for the check that set others.
  EXPECT_EQ(cluster.states.outcome(RedundancyState::kDown).impact.unavailable.size(), 1u);

  EXPECT_THAT(
      command.Describe(),
      ElementsAre("command check megaraid (raid): /usr/sbin/check_megaraid -a0 -v -v on its own "
                  "thread every 20s, time limit 15s, output limit 8192 bytes; exit 0 redundant, "
                  "1 degraded, 2 down, any other a failed check; degraded warning, recovering "
                  "warning, failed_over warning, split_brain critical, down critical "
                  "(unavailable: withdrawal)",
                  ::testing::StartsWith("command check ha-tool (cluster): /usr/local/bin/ha-state "
                                        "on its own thread every 20s, time limit 10s, output "
                                        "limit 65536 bytes; exit 0 redundant, 3 failed_over, 4 "
                                        "split_brain, any other a failed check; ")));

  auto off = Parse("[raid]\n");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);
}

TEST(CommandConfig, EveryErrorNamesFileLineAndKey) {
  const std::string check = "[command]\n[[command.check]]\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[command]\ninterval = \"5s\"\n",
       "atmhealthd.toml:1: command.check: needs at least one [[command.check]]"},
      {check + "kind = \"raid\"\ncommand = [\"/bin/true\"]\n",
       "atmhealthd.toml:2: command.check[0].name: required"},
      {check + "name = \"a b\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\n",
       "atmhealthd.toml:3: command.check[0].name: must be 1..128 characters without spaces, not "
       "\"a b\""},
      {check + "name = \"x\"\ncommand = [\"/bin/true\"]\n",
       "atmhealthd.toml:2: command.check[0].kind: required: the alert the check stands for, one "
       "of \"raid\", \"link_group\", \"peer\", \"cluster\""},
      {check + "name = \"x\"\nkind = \"storage\"\ncommand = [\"/bin/true\"]\n",
       "atmhealthd.toml:4: command.check[0].kind: must be one of \"raid\", \"link_group\", "
       "\"peer\", \"cluster\", not \"storage\""},
      {check + "name = \"x\"\nkind = \"raid\"\n",
       "atmhealthd.toml:2: command.check[0].command: required"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = \"/sbin/check -a\"\n",
       "atmhealthd.toml:5: command.check[0].command: must be a program and its arguments"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/sbin/check -a\"]\n",
       "atmhealthd.toml:5: command.check[0].command: \"/sbin/check -a\" is one word of argv"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\ntime_limit = \"1h\"\n",
       "atmhealthd.toml:6: command.check[0].time_limit: must be at most 5m, not 1h"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\noutput_limit = 1\n",
       "atmhealthd.toml:6: command.check[0].output_limit: must be at least 1024 bytes, not 1"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\n"
               "exit_states = { 0 = \"redundant\", 300 = \"down\" }\n",
       "atmhealthd.toml:6: command.check[0].exit_states.300: \"300\" is not an exit status "
       "0..255"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\n"
               "exit_states = { 0 = \"redundant\", 1 = \"broken\" }\n",
       "atmhealthd.toml:6: command.check[0].exit_states.1: must be a state: \"redundant\", "
       "\"degraded\", \"recovering\", \"failed_over\", \"split_brain\" or \"down\", not "
       "\"broken\""},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\n"
               "exit_states = { 1 = \"degraded\" }\n",
       "atmhealthd.toml:6: command.check[0].exit_states: gives no status for \"redundant\""},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\nexit_states = 0\n",
       "atmhealthd.toml:6: command.check[0].exit_states: must be a table of exit statuses"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\n"
               "[[command.check]]\nname = \"x\"\nkind = \"cluster\"\ncommand = [\"/bin/true\"]\n",
       "atmhealthd.toml:7: command.check[1].name: \"x\" names another [[command.check]] too"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\ntimeout = \"5s\"\n",
       "atmhealthd.toml:6: command.check[0].timeout: unknown key"},
      {check + "name = \"x\"\nkind = \"raid\"\ncommand = [\"/bin/true\"]\n"
               "[command.check.states]\nredundant = { severity = \"warning\" }\n",
       "atmhealthd.toml:7: command.check[0].states.redundant"},
  };
  for (const auto& [text, expected] : cases) {
    auto config = Parse(text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.error().message(), HasSubstr(expected)) << text;
  }
}

constexpr char kUplink[] = "[uplink]\ncollectors = [\"127.0.0.1:7411\"]\nplaintext = true\n";

// A check raises the alert of the thing it stands for: named like a link
// group, a VRRP instance or a listed RAID array, both would share one alert.
TEST(CommandConfig, CheckNamedLikeAnotherWatchersSubjectIsRefusedNamingBoth) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[links]\n[[links.group]]\nname = \"uplink\"\ninterfaces = [\"eth0\", \"eth1\"]\n"
       "[command]\n[[command.check]]\nname = \"uplink\"\nkind = \"link_group\"\n"
       "command = [\"/bin/true\"]\n",
       "atmhealthd.toml:7: command.check[0].name: \"uplink\" is named at atmhealthd.toml:3: "
       "links.group[0].name too: both would raise the alert link_group:uplink"},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nstate_file = \"/run/VI_1\"\n"
       "[command]\n[[command.check]]\nname = \"VI_1\"\nkind = \"cluster\"\n"
       "command = [\"/bin/true\"]\n",
       "atmhealthd.toml:7: command.check[0].name: \"VI_1\" is named at atmhealthd.toml:3: "
       "cluster.vrrp[0].instance too"},
      {"[raid]\narrays = [\"md0\"]\n[command]\n[[command.check]]\nname = \"md0\"\n"
       "kind = \"raid\"\ncommand = [\"/bin/true\"]\n",
       "atmhealthd.toml:5: command.check[0].name: \"md0\" is named at atmhealthd.toml:2: "
       "raid.arrays[0] too"},
  };
  for (const auto& [text, expected] : cases) {
    auto config = ParseAgentConfig(text + kUplink, "atmhealthd.toml");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.error().message(), HasSubstr(expected)) << text;
  }
  // The same name under another kind is another alert.
  auto config = ParseAgentConfig(
      std::string("[raid]\narrays = [\"md0\"]\n[command]\n[[command.check]]\nname = \"md0\"\n"
                  "kind = \"cluster\"\ncommand = [\"/bin/true\"]\n") +
          kUplink,
      "atmhealthd.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
}

// The [command] section of the example is commented out (a device without
// such checks must not alert about them); uncommented, it is valid.
TEST(CommandConfig, PackagedExampleCommandSectionIsValidOnceUncommented) {
  std::ifstream in(ATMHEALTH_EXAMPLE_CONFIG);
  std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto begin = example.find("\n#[command]\n");
  ASSERT_NE(begin, std::string::npos);
  const auto end = example.find("\n[", begin);
  std::string text = std::string(kUplink) + "[device]\nid = \"atm-01\"\nsite = \"s\"\n";
  std::istringstream block(example.substr(begin, end - begin));
  for (std::string line; std::getline(block, line);) {
    // Settings are "#key = ..." and "#[table]"; prose is "# ...".
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ') line.erase(0, 1);
    text += line + "\n";
  }
  auto config = ParseAgentConfig(text, "atmhealthd.toml");
  ASSERT_TRUE(config.ok()) << config.error().message() << "\n" << text;
  const CommandConfig* command = config->Watcher<CommandConfig>("command");
  ASSERT_NE(command, nullptr);
  ASSERT_GE(command->checks.size(), 2u);
  EXPECT_EQ(command->checks[0].kind, v1::ALERT_KIND_RAID);
}

}  // namespace
}  // namespace atmhealth::agent
