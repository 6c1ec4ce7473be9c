// SIGHUP reloads the agent's configuration, end to end with the real
// binaries: a lowered storage threshold fires at the collector without a
// restart; a collector moved in [uplink] takes over; a broken file keeps
// the running configuration, and the agent says why with file:line;
// settings that need a restart are named and left as they were.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/harness.h"
#include "tests/support/process.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
constexpr std::size_t kMiB = 1024 * 1024;
constexpr char kDevice[] = "atm-it-01";

class ReloadIntegrationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  AgentOptions Agent(std::uint16_t port, const std::filesystem::path& watched) {
    AgentOptions options;
    options.collector_port = port;
    options.watched = watched;
    options.store = scratch_ / "agent" / "events.db";
    return options;
  }

  // The running daemon's status, through atmhealthctl and the socket (the
  // config file may be broken); null when it does not answer.
  nlohmann::json Status(const std::filesystem::path&) {
    Process ctl(Binary("tools/ctl/atmhealthctl"),
                {"status", "--json", "--socket", (scratch_ / "agent" / "control.sock").string()},
                scratch_ / ("status-" + std::to_string(++runs_) + ".log"));
    ctl.Wait(seconds(20));
    const std::string out = ctl.Log();
    nlohmann::json status = nlohmann::json::parse(out.substr(0, out.find('\n')), nullptr, false);
    if (status.is_discarded() || !status.value("ok", false)) return nullptr;
    return status;
  }

  // The config file with `from` replaced by `to`.
  void Edit(const std::filesystem::path& config, const std::string& from, const std::string& to) {
    std::string text = ReadFile(config);
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    WriteFile(config, text);
  }

  std::size_t LogCount(const std::string& text) {
    const std::string log = ReadFile(scratch_ / "agent" / "agent.log");
    std::size_t count = 0;
    for (std::size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) {
      ++count;
    }
    return count;
  }

  ScratchDir scratch_;
  int runs_ = 0;
};

TEST_F(ReloadIntegrationTest, ALoweredThresholdFiresAtTheCollectorAfterSighup) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  const std::filesystem::path config = agent.config();
  const std::string subject = fs.path().string();
  // Half full: below the 70 % warning of the first configuration.
  ASSERT_GE(FillFile(fs / "half.dat", 4 * kMiB / 2), 4 * kMiB * 45 / 100);
  nlohmann::json status;
  ASSERT_TRUE(WaitFor(
      [&] {
        status = Status(config);
        return status.is_object() && status["watchers"][0]["samples"].get<int>() >= 3 &&
               status["uplink"]["connected"] == true;
      },
      seconds(20)));
  ASSERT_TRUE(status["alerts"].empty()) << status.dump();
  EXPECT_EQ(status["config_reload"]["applied"], 0);

  Edit(config, "warning = 70\ncritical = 90", "warning = 30\ncritical = 40");
  agent.process().Signal(SIGHUP);
  const auto fired = AwaitCollectorEvent(
      collector.db(), kDevice,
      "kind = 'storage' AND state = 'firing' AND severity = 'critical' AND threshold = 40 AND "
      "subject = '" +
          subject + "'",
      seconds(20));
  ASSERT_TRUE(fired.has_value()) << "the new threshold did not fire at the collector";
  ASSERT_TRUE(WaitFor([&] { return LogCount("reload: " + config.string() + " applied") == 1; },
                      seconds(10)));
  status = Status(config);
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["config_reload"]["applied"], 1);
  EXPECT_EQ(status["config_reload"]["refused"], 0);

  // Raised again: the alert resolves, with no restart either.
  Edit(config, "warning = 30\ncritical = 40", "warning = 80\ncritical = 95");
  agent.process().Signal(SIGHUP);
  EXPECT_TRUE(
      AwaitCollectorEvent(collector.db(), kDevice,
                          "kind = 'storage' AND state = 'resolved' AND subject = '" + subject + "'",
                          seconds(20))
          .has_value());
}

TEST_F(ReloadIntegrationTest, ABrokenFileKeepsTheRunningConfigurationAndSaysWhereItIsWrong) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  const std::filesystem::path config = agent.config();
  const std::string subject = fs.path().string();
  ASSERT_TRUE(WaitFor([&] { return Status(config).is_object(); }, seconds(20)));
  const std::string good = ReadFile(config);

  // critical below warning, on a line of its own: refused, with its line.
  Edit(config, "critical = 90", "critical = 20");
  int line = 1;
  const std::string text = ReadFile(config);
  for (std::size_t i = 0; i < text.find("critical = 20"); ++i) line += text[i] == '\n';
  agent.process().Signal(SIGHUP);
  const std::string where = config.string() + ":" + std::to_string(line) + ":";
  ASSERT_TRUE(WaitFor([&] { return LogCount("reload refused") == 1; }, seconds(10)));
  EXPECT_EQ(LogCount(where), 1u) << "the reason names file:line " << where;
  nlohmann::json status = Status(config);
  ASSERT_TRUE(status.is_object()) << "the agent keeps running";
  EXPECT_EQ(status["config_reload"]["refused"], 1);
  EXPECT_EQ(status["config_reload"]["applied"], 0);
  EXPECT_THAT(status["config_reload"]["last_refusal"].get<std::string>(), HasSubstr(where));

  // Not TOML at all: refused too, the agent still runs the first
  // configuration: 95 % fires critical at 90 %, not at 20 %.
  WriteFile(config, good + "\n[storage\n");
  agent.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return LogCount("reload refused") == 2; }, seconds(10)));
  ASSERT_GE(FillFile(fs / "full.dat", 4 * kMiB * 95 / 100), 4 * kMiB * 85 / 100);
  const auto fired = AwaitCollectorEvent(
      collector.db(), kDevice,
      "kind = 'storage' AND state = 'firing' AND severity = 'critical' AND subject = '" + subject +
          "'",
      seconds(20));
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(std::stod(fired->at("threshold")), 90.0) << "fired at the first configuration's level";
  // The refusals reached the collector as notices too.
  EXPECT_EQ(CollectorEvents(collector.db(), kDevice,
                            "alert_key = 'agent_health:config_reload' AND severity = 'warning'")
                .size(),
            2u);
  EXPECT_EQ(Status(config)["config_reload"]["refused"], 2);

  // Settings that need a restart are named, not applied; the rest applies.
  WriteFile(config, good);
  Edit(config, "commit_interval = \"50ms\"", "commit_interval = \"70ms\"");
  agent.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] { return LogCount("reload: [store] changed in " + config.string()) == 1; }, seconds(10)));
  EXPECT_EQ(LogCount("needs a restart, not applied"), 1u);
  ASSERT_TRUE(WaitFor([&] { return LogCount("reload: " + config.string() + " applied") == 1; },
                      seconds(10)));
  EXPECT_EQ(agent.process().Stop(), 0);
}

// A collector moved in [uplink] takes the events from the reload on: the
// session with the old one ends, the new one is called at once, and it is
// given every event of the buffer it does not have, each once, in order.
TEST_F(ReloadIntegrationTest, ACollectorMovedInTheUplinkSectionTakesOverAfterSighup) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess old_collector(scratch_ / "old", scratch_ / "old" / "collector.db");
  CollectorProcess new_collector(scratch_ / "new", scratch_ / "new" / "collector.db");
  AgentProcess agent(scratch_ / "agent", Agent(old_collector.agent_port(), fs.path()));
  const std::filesystem::path config = agent.config();
  const std::string subject = fs.path().string();
  nlohmann::json status;
  ASSERT_TRUE(WaitFor(
      [&] {
        status = Status(config);
        return status.is_object() && status["uplink"]["connected"] == true &&
               status["uplink"]["last_ack_seq"].get<std::uint64_t>() >= 1;
      },
      seconds(20)));

  Edit(config, "127.0.0.1:" + std::to_string(old_collector.agent_port()),
       "127.0.0.1:" + std::to_string(new_collector.agent_port()));
  agent.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return LogCount("reload: " + config.string() + " applied") == 1; },
                      seconds(10)));
  EXPECT_EQ(LogCount("needs a restart"), 0u);
  EXPECT_EQ(LogCount("uplink: reconfigured: collectors 127.0.0.1:" +
                     std::to_string(new_collector.agent_port())),
            1u);
  ASSERT_TRUE(WaitFor(
      [&] {
        status = Status(config);
        return status.is_object() && status["uplink"]["connected"] == true &&
               status["uplink"]["endpoint"] ==
                   "127.0.0.1:" + std::to_string(new_collector.agent_port());
      },
      seconds(20)))
      << status.dump();

  // An alert raised after the reload reaches the new collector only.
  ASSERT_GE(FillFile(fs / "full.dat", 4 * kMiB), 4 * kMiB * 95 / 100);
  const std::string firing =
      "kind = 'storage' AND state = 'firing' AND subject = '" + subject + "'";
  ASSERT_TRUE(AwaitCollectorEvent(new_collector.db(), kDevice, firing, seconds(20)).has_value());
  EXPECT_TRUE(CollectorEvents(old_collector.db(), kDevice, firing).empty());

  // The new collector holds the whole buffer, every seq once and in order.
  ASSERT_TRUE(WaitFor(
      [&] {
        status = Status(config);
        return status.is_object() && status["uplink"]["backlog_events"] == 0;
      },
      seconds(20)));
  const std::vector<Row> stored = CollectorEvents(new_collector.db(), kDevice);
  ASSERT_FALSE(stored.empty());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(std::stoull(stored[i].at("seq")), i + 1);
  }
  EXPECT_EQ(std::stoull(stored.back().at("seq")),
            status["buffer"]["committed_seq"].get<std::uint64_t>());
  EXPECT_EQ(agent.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
