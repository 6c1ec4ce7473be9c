// Text a peer or the disk controls cannot forge a log line of either
// program: the real binaries, fed a newline where a name or version goes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "tests/integration/harness.h"
#include "tests/support/agent_client.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

// A newline, then what the collector's own lines look like.
constexpr char kForged[] = "\n[2026-01-01 00:00:00.000] [atmhealth-collector] [error] FORGED";

// Lines of `log` that begin with `prefix`.
int LinesStartingWith(const std::string& log, const std::string& prefix) {
  std::istringstream lines(log);
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) ++count;
  }
  return count;
}

class LogForgeryTest : public ::testing::Test {
 protected:
  ScratchDir scratch_;
};

TEST_F(LogForgeryTest, NewlineInHelloFieldsCannotForgeACollectorLogLine) {
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);

  // A valid device whose agent version carries a line of its own (welcomed
  // and logged with its version), and a device id with one (refused, and
  // the refusal logged with the id). The version is 64 bytes, the schema's
  // limit, so that it is welcomed rather than refused for its length.
  v1::Hello hello = SampleHello("atm-forge-1");
  hello.set_agent_version(std::string("1") + kForged);
  auto agent = AgentClient::Connect(collector.agent_port());
  ASSERT_TRUE(agent.ok()) << agent.error().message();
  ASSERT_TRUE((*agent)->Handshake(hello).ok());
  auto stranger = AgentClient::Connect(collector.agent_port());
  ASSERT_TRUE(stranger.ok()) << stranger.error().message();
  // Short enough for the id's length limit, so its characters are checked.
  const auto refused = (*stranger)->Handshake(SampleHello("atm\n[2026-01-01] FORGED"));
  ASSERT_TRUE(refused.ok()) << refused.status.detail;
  ASSERT_TRUE(refused.message.has_refusal());

  // Both logged, each on its own line with the newline escaped.
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string log = collector.process().Log();
        return log.find(
                   "agent 1\\n[2026-01-01 00:00:00.000] [atmhealth-collector] [error] "
                   "FORGED") != std::string::npos &&
               log.find("atm\\n[2026-01-01] FORGED") != std::string::npos;
      },
      seconds(10)))
      << collector.process().Log();
  const std::string log = collector.process().Log();
  EXPECT_EQ(LinesStartingWith(log, "[2026-01-01"), 0) << log;
  EXPECT_THAT(log, HasSubstr("atm-forge-1"));
}

TEST_F(LogForgeryTest, NewlineInAWatchedPathCannotForgeAnAgentLogLine) {
  // A directory name is outside text too: whoever can create one picks it.
  const std::filesystem::path watched = scratch_ / "fs\nFORGED agent line";
  TmpfsMount fs(watched, "size=4m");
  ASSERT_TRUE(fs.mounted());
  FillFile(watched / "ballast", 4 * 1024 * 1024 * 95 / 100);

  AgentOptions options;
  options.collector_port = 1;  // nobody listens: the alert is logged all the same
  options.store = scratch_ / "agent.events.db";
  options.watched = "PLACEHOLDER";
  std::string toml = AgentConfigToml(options);
  // TOML needs the newline escaped inside its string.
  toml.replace(toml.find("PLACEHOLDER"), 11, (scratch_ / "fs\\nFORGED agent line").string());
  std::filesystem::create_directories(scratch_ / "agent");
  WriteFile(scratch_ / "agent" / "atmhealthd.toml", toml);
  Process agent(Binary("agent/atmhealthd"),
                {"--config", (scratch_ / "agent" / "atmhealthd.toml").string()},
                scratch_ / "agent" / "agent.log");

  ASSERT_TRUE(
      WaitFor([&] { return agent.Log().find("critical") != std::string::npos; }, seconds(10)))
      << agent.Log();
  const std::string log = agent.Log();
  EXPECT_EQ(LinesStartingWith(log, "FORGED"), 0) << log;
  EXPECT_THAT(log, HasSubstr("fs\\nFORGED agent line"));
  EXPECT_EQ(agent.Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
