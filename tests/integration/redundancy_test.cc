// Redundancy watchers end to end with the real binaries: the agent reads a
// fixture /proc or /sys tree (or real interfaces in a network namespace)
// that the test changes while it runs, and the alerts arrive at the
// collector.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;

class RedundancyIntegrationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  AgentOptions Agent(std::uint16_t port, const std::string& extra) {
    std::filesystem::create_directories(scratch_ / "watched");
    AgentOptions options;
    options.collector_port = port;
    options.watched = scratch_ / "watched";
    options.store = scratch_ / "atm-it-01.events.db";
    options.extra = extra;
    return options;
  }

  // The first event at the collector matching `where`, waiting for it.
  std::optional<Row> AwaitEvent(const std::filesystem::path& db, const std::string& where,
                                std::chrono::milliseconds timeout = seconds(15)) {
    return AwaitCollectorEvent(db, "atm-it-01", where, timeout);
  }

  // Replaces `target` with the fixture at once, as the kernel's file changes
  // between two reads: never half written.
  void Switch(const std::string& fixture, const std::filesystem::path& target) {
    const std::filesystem::path next = target.string() + ".next";
    std::filesystem::copy_file(Fixture(fixture), next,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(next, target);
  }

  ScratchDir scratch_;
};

TEST_F(RedundancyIntegrationTest, RaidDegradedThenRecoveringThenCleanIsRaisedAndResolved) {
  const std::filesystem::path proc = scratch_ / "proc";
  std::filesystem::create_directories(proc);
  Switch("mdstat/clean_with_spare.txt", proc / "mdstat");
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), R"(
[raid]
interval = "100ms"
proc_root = ")" + proc.string() + R"("
arrays = ["md0"]
[raid.states]
degraded = { severity = "critical" }
recovering = { severity = "warning" }
)"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(collector.db(),
                        "SELECT count(*) FROM heartbeats WHERE device_id = 'atm-it-01'") == 1;
      },
      seconds(20)));

  Switch("mdstat/degraded_failed.txt", proc / "mdstat");
  const auto degraded =
      AwaitEvent(collector.db(), "kind = 'raid' AND state = 'firing' AND severity = 'critical'");
  ASSERT_TRUE(degraded);
  EXPECT_EQ(degraded->at("subject"), "md0");
  EXPECT_EQ(std::stod(degraded->at("value")), 1);
  EXPECT_EQ(std::stod(degraded->at("threshold")), 2);
  EXPECT_EQ(degraded->at("unit"), "count");
  EXPECT_EQ(degraded->at("category"), "daily_operation_redundancy");
  EXPECT_EQ(degraded->at("impact_unavailable"), "");
  EXPECT_NE(degraded->at("summary").find("redundancy lost while the service is still up"),
            std::string::npos)
      << degraded->at("summary");
  const auto degraded_context = nlohmann::json::parse(degraded->at("context_json"));
  EXPECT_EQ(degraded_context.value("state", ""), "degraded");
  EXPECT_EQ(degraded_context.value("failed", ""), "sdb1");

  Switch("mdstat/recovering.txt", proc / "mdstat");
  const auto recovering =
      AwaitEvent(collector.db(), "kind = 'raid' AND state = 'firing' AND severity = 'warning'");
  ASSERT_TRUE(recovering);
  const auto context = nlohmann::json::parse(recovering->at("context_json"));
  EXPECT_EQ(context.value("state", ""), "recovering");
  EXPECT_EQ(context.value("sync_action", ""), "recovery");
  EXPECT_EQ(context.value("sync_progress", ""), "21.4%");
  EXPECT_FALSE(context.value("sync_eta", "").empty());

  Switch("mdstat/clean_with_spare.txt", proc / "mdstat");
  const auto resolved = AwaitEvent(collector.db(), "kind = 'raid' AND state = 'resolved'");
  ASSERT_TRUE(resolved);
  EXPECT_GT(std::stoll(resolved->at("seq")), std::stoll(recovering->at("seq")));
  EXPECT_EQ(std::stod(resolved->at("value")), 2);
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

// Runs `command` (ip ...) and says whether it worked.
bool RunIp(const std::string& command) { return std::system((command + " 2>&1").c_str()) == 0; }

// Two veth pairs whose far ends live in a network namespace of their own:
// the near ends are the agent's "uplinks", the far ends the switch ports.
class VethPairs {
 public:
  VethPairs() {
    const std::string tag = std::to_string(::getpid() % 100000);
    ns_ = "atmh-lg-" + tag;
    near_ = {"ahl" + tag + "a", "ahl" + tag + "b"};
    ok_ = RunIp("ip netns add " + ns_);
    for (std::size_t i = 0; ok_ && i < near_.size(); ++i) {
      const std::string far = "ahr" + std::to_string(i);
      ok_ = RunIp("ip link add " + near_[i] + " type veth peer name " + far + " netns " + ns_) &&
            RunIp("ip link set " + near_[i] + " up") &&
            RunIp("ip -n " + ns_ + " link set " + far + " up");
    }
  }
  ~VethPairs() {
    for (const std::string& name : near_) RunIp("ip link del " + name + " >/dev/null");
    RunIp("ip netns del " + ns_ + " >/dev/null");
  }
  bool ok() const { return ok_; }
  const std::string& ns() const { return ns_; }
  const std::string& near(std::size_t i) const { return near_[i]; }
  bool Up(std::size_t i) const {
    return ReadFile("/sys/class/net/" + near_[i] + "/operstate") == "up\n";
  }

 private:
  std::string ns_;
  std::vector<std::string> near_;
  bool ok_ = false;
};

TEST_F(RedundancyIntegrationTest, LinkGroupMemberDownIsRedundancyLostAndBackUpResolves) {
  VethPairs veth;
  if (!veth.ok()) GTEST_SKIP() << "cannot create a network namespace and veth pairs here";
  ASSERT_TRUE(WaitFor([&] { return veth.Up(0) && veth.Up(1); }, seconds(10)));
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), R"(
[links]
interval = "100ms"
[links.states]
degraded = { severity = "critical" }
down = { severity = "critical", unavailable = ["withdrawal", "deposit"] }
[[links.group]]
name = "uplink"
interfaces = [")" + veth.near(0) + "\", \"" + veth.near(1) + R"("]
min_up = 1
)"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(collector.db(),
                        "SELECT count(*) FROM heartbeats WHERE device_id = 'atm-it-01'") == 1;
      },
      seconds(20)));

  ASSERT_TRUE(RunIp("ip link set " + veth.near(1) + " down"));
  const auto degraded = AwaitEvent(collector.db(), "kind = 'link_group' AND state = 'firing'");
  ASSERT_TRUE(degraded);
  EXPECT_EQ(degraded->at("subject"), "uplink");
  EXPECT_EQ(degraded->at("severity"), "critical");
  EXPECT_EQ(degraded->at("category"), "daily_operation_redundancy");
  EXPECT_EQ(degraded->at("impact_unavailable"), "");
  EXPECT_EQ(std::stod(degraded->at("value")), 1);
  EXPECT_EQ(std::stod(degraded->at("threshold")), 2);
  EXPECT_NE(degraded->at("summary").find("redundancy lost while the service is still up"),
            std::string::npos)
      << degraded->at("summary");
  const auto context = nlohmann::json::parse(degraded->at("context_json"));
  EXPECT_EQ(context.value("state", ""), "degraded");
  EXPECT_EQ(context.value("up", ""), veth.near(0));
  EXPECT_NE(context.value("down", "").find(veth.near(1) + ": "), std::string::npos);

  // The switch port of the other link goes too: the service is down.
  ASSERT_TRUE(RunIp("ip -n " + veth.ns() + " link set ahr0 down"));
  const auto down = AwaitEvent(collector.db(),
                               "kind = 'link_group' AND state = 'firing' AND "
                               "context_json ->> '$.state' = 'down'");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->at("impact_unavailable"), "withdrawal,deposit");
  EXPECT_NE(nlohmann::json::parse(down->at("context_json")).value("down", "").find("no carrier"),
            std::string::npos);

  ASSERT_TRUE(RunIp("ip -n " + veth.ns() + " link set ahr0 up"));
  ASSERT_TRUE(RunIp("ip link set " + veth.near(1) + " up"));
  const auto resolved = AwaitEvent(collector.db(), "kind = 'link_group' AND state = 'resolved'");
  ASSERT_TRUE(resolved);
  EXPECT_EQ(std::stod(resolved->at("value")), 2);
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
