// Faults of the device itself, with the real binaries on loopback: a buffer
// file that fails its checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/integration/harness.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

// Files next to `store` whose name says they are a set-aside buffer.
std::vector<std::filesystem::path> SetAside(const std::filesystem::path& store) {
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(store.parent_path())) {
    if (entry.path().filename().string().rfind(store.filename().string() + ".corrupt-", 0) == 0) {
      found.push_back(entry.path());
    }
  }
  return found;
}

class AgentFaultsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }
  ScratchDir scratch_;
};

TEST_F(AgentFaultsTest, CorruptBufferIsSetAsideAndReportedNeverDeletedNorACrashLoop) {
  const auto db = scratch_ / "collector" / "collector.db";
  CollectorProcess collector(scratch_ / "collector", db);
  ASSERT_NE(collector.agent_port(), 0);
  AgentOptions options;
  options.collector_port = collector.agent_port();
  options.watched = scratch_.path();
  options.store = scratch_ / "buffer" / "events.db";
  std::filesystem::create_directories(options.store.parent_path());
  const std::string garbage(32 * 1024, '\x5a');  // a disk that returned the wrong blocks
  WriteFile(options.store, garbage);

  AgentProcess agent(scratch_ / "agent", options);
  ASSERT_TRUE(WaitFor(
      [&] {
        return !CollectorEvents(db, options.device_id,
                                "kind = 'agent_health' AND summary LIKE '%set aside%'")
                    .empty();
      },
      seconds(20)));
  EXPECT_TRUE(agent.process().running()) << "the agent runs on a new buffer";
  const auto aside = SetAside(options.store);
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(ReadFile(aside[0]), garbage) << "set aside untouched";
  const auto notice = CollectorEvents(db, options.device_id,
                                      "kind = 'agent_health' AND "
                                      "summary LIKE '%set aside%'");
  EXPECT_EQ(notice[0].at("severity"), "critical");
  EXPECT_THAT(notice[0].at("summary"), HasSubstr(aside[0].string()));
  EXPECT_THAT(agent.process().Log(), HasSubstr("set aside as " + aside[0].string()));
  EXPECT_EQ(agent.process().Stop(), 0);

  // The next start finds the new buffer healthy: nothing more set aside.
  AgentProcess again(scratch_ / "agent2", options);
  ASSERT_TRUE(WaitFor([&] { return again.process().Log().find("connected") != std::string::npos; },
                      seconds(20)));
  EXPECT_EQ(SetAside(options.store).size(), 1u);
  EXPECT_EQ(again.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
