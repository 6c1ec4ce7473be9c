// Redundancy watchers end to end with the real binaries: the agent reads a
// fixture /proc or /sys tree (or real interfaces in a network namespace)
// that the test changes while it runs, and the alerts arrive at the
// collector.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/support/fake_command.h"
#include "tests/support/fake_keepalived_fifo.h"
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

  // Waits until the agent's first heartbeat reached the collector.
  bool AwaitHeartbeat(const CollectorProcess& collector) {
    return WaitFor(
        [&] {
          return QueryInt(collector.db(),
                          "SELECT count(*) FROM heartbeats WHERE device_id = 'atm-it-01'") >= 1;
        },
        seconds(20));
  }

  // Replaces `target` with the fixture at once, as the kernel's file changes
  // between two reads: never half written.
  void Switch(const std::string& fixture, const std::filesystem::path& target) {
    const std::filesystem::path next = target.string() + ".next";
    std::filesystem::copy_file(Fixture(fixture), next,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(next, target);
  }

  // Starts an agent watching md0 and the `section` whose command hangs:
  // the RAID array degrading is seen at once while the command runs, then
  // `probe` fires saying the command was killed at its time limit
  // (`limit`, "6000 ms"); after `answer` makes it answer, `probe` resolves.
  void ExpectHungCommandKilledWhileRaidGoesOn(const FakeCommand& command,
                                              const std::string& section,
                                              const std::string& probe_subject,
                                              const std::string& limit,
                                              const std::function<void()>& answer) {
    command.Hang();
    const std::filesystem::path proc = scratch_ / "proc";
    std::filesystem::create_directories(proc);
    Switch("mdstat/clean_with_spare.txt", proc / "mdstat");
    CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
    ASSERT_NE(collector.agent_port(), 0);
    db_ = collector.db();
    AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), R"(
[raid]
interval = "100ms"
proc_root = ")" + proc.string() + R"("
arrays = ["md0"]
)" + section));
    ASSERT_TRUE(AwaitHeartbeat(collector));
    ASSERT_TRUE(WaitFor([&] { return command.runs() >= 1; }, seconds(10)));

    Switch("mdstat/degraded_failed.txt", proc / "mdstat");
    const auto raid = AwaitEvent(collector.db(), "kind = 'raid' AND state = 'firing'");
    ASSERT_TRUE(raid);
    const auto probe = AwaitEvent(collector.db(), "kind = 'agent_health' AND subject = '" +
                                                      probe_subject + "' AND state = 'firing'");
    ASSERT_TRUE(probe);
    // The RAID alert came while the command was still running, before it
    // was killed at its limit.
    EXPECT_LT(std::stoll(raid->at("seq")), std::stoll(probe->at("seq")));
    const auto context = nlohmann::json::parse(probe->at("context_json"));
    EXPECT_NE(context.value("error", "").find("killed (SIGKILL) at its time limit of " + limit),
              std::string::npos)
        << context.dump();
    EXPECT_EQ(context.value("timeouts", ""), "1");
    EXPECT_EQ(probe->at("severity"), "critical");

    answer();
    const auto answered =
        AwaitEvent(collector.db(), "kind = 'agent_health' AND subject = '" + probe_subject +
                                       "' AND state = 'resolved'");
    ASSERT_TRUE(answered);
    EXPECT_EQ(agent.process().Stop(), 0);
    EXPECT_EQ(collector.process().Stop(), 0);
  }

  ScratchDir scratch_;
  std::filesystem::path db_;  // the collector's database, while a helper runs
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
  ASSERT_TRUE(AwaitHeartbeat(collector));

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
  ASSERT_TRUE(AwaitHeartbeat(collector));

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

TEST_F(RedundancyIntegrationTest, PacemakerFailedOverThenSplitBrainIsRaisedAndResolved) {
  FakeCrmMon crm_mon(scratch_ / "bin", "result_two_nodes_healthy.xml");
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), R"(
[cluster]
interval = "100ms"
[cluster.states]
failed_over = { severity = "warning" }
split_brain = { severity = "critical", unavailable = ["withdrawal", "deposit"] }
[cluster.pacemaker]
command = [")" + crm_mon.program().string() + R"(", "--output-as=xml"]
time_limit = "5s"
preferred_node = "atm-srv-a"
)"));
  ASSERT_TRUE(AwaitHeartbeat(collector));

  crm_mon.Show("result_standby_failed_over.xml");
  const auto failed_over =
      AwaitEvent(collector.db(), "kind = 'cluster' AND state = 'firing' AND severity = 'warning'");
  ASSERT_TRUE(failed_over);
  EXPECT_EQ(failed_over->at("subject"), "pacemaker");
  EXPECT_EQ(failed_over->at("category"), "daily_operation_redundancy");
  EXPECT_EQ(failed_over->at("impact_unavailable"), "");
  EXPECT_EQ(std::stod(failed_over->at("value")), 1);
  EXPECT_EQ(std::stod(failed_over->at("threshold")), 2);
  const auto failed_over_context = nlohmann::json::parse(failed_over->at("context_json"));
  EXPECT_EQ(failed_over_context.value("state", ""), "failed_over");
  EXPECT_EQ(failed_over_context.value("nodes_standby", ""), "atm-srv-a");
  EXPECT_EQ(failed_over_context.value("running_elsewhere", ""),
            "atm-vip on atm-srv-b; atm-switchd on atm-srv-b");

  crm_mon.Show("result_multi_active_split_brain.xml");
  const auto split_brain =
      AwaitEvent(collector.db(), "kind = 'cluster' AND state = 'firing' AND severity = 'critical'");
  ASSERT_TRUE(split_brain);
  EXPECT_EQ(split_brain->at("impact_unavailable"), "withdrawal,deposit");
  const auto split_context = nlohmann::json::parse(split_brain->at("context_json"));
  EXPECT_EQ(split_context.value("state", ""), "split_brain");
  EXPECT_EQ(split_context.value("multi_active", ""), "atm-vip on atm-srv-a,atm-srv-b");

  crm_mon.Show("result_two_nodes_healthy.xml");
  const auto resolved = AwaitEvent(collector.db(), "kind = 'cluster' AND state = 'resolved'");
  ASSERT_TRUE(resolved);
  EXPECT_GT(std::stoll(resolved->at("seq")), std::stoll(split_brain->at("seq")));
  EXPECT_EQ(std::stod(resolved->at("value")), 2);
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(RedundancyIntegrationTest, CrmMonThatHangsIsKilledAtItsLimitWhileOtherWatchersGoOn) {
  FakeCrmMon crm_mon(scratch_ / "bin", "result_two_nodes_healthy.xml");
  ExpectHungCommandKilledWhileRaidGoesOn(crm_mon, R"(
[cluster]
interval = "100ms"
[cluster.pacemaker]
command = [")" + crm_mon.program().string() + R"("]
time_limit = "6s"
)",
                                         "probe:crm_mon", "6000 ms",
                                         [&] { crm_mon.Show("result_two_nodes_healthy.xml"); });
}

TEST_F(RedundancyIntegrationTest, CommandCheckExitingTwoFiresWithItsFirstLineAndZeroResolves) {
  FakeCommand check(scratch_ / "bin", "check_megaraid");
  check.Answer(0, "OK: vd0 optimal, 2 of 2 disks online\n");
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), R"(
[command]
interval = "100ms"
[command.states]
down = { severity = "critical", unavailable = ["withdrawal"] }
[[command.check]]
name = "megaraid"
kind = "raid"
command = [")" + check.program().string() + R"(", "-b"]
time_limit = "5s"
)"));
  ASSERT_TRUE(AwaitHeartbeat(collector));
  ASSERT_TRUE(WaitFor([&] { return check.runs() >= 1; }, seconds(10)));

  check.Answer(2, "CRITICAL: vd0 offline, 0 of 2 disks online\nslot 0: failed\n");
  const auto down = AwaitEvent(collector.db(), "kind = 'raid' AND state = 'firing'");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->at("subject"), "megaraid");
  EXPECT_EQ(down->at("severity"), "critical");
  EXPECT_EQ(down->at("category"), "daily_operation_redundancy");
  EXPECT_EQ(down->at("impact_unavailable"), "withdrawal");
  EXPECT_EQ(std::stod(down->at("value")), 2);
  EXPECT_NE(down->at("summary").find("CRITICAL: vd0 offline, 0 of 2 disks online"),
            std::string::npos)
      << down->at("summary");
  const auto context = nlohmann::json::parse(down->at("context_json"));
  EXPECT_EQ(context.value("state", ""), "down");
  EXPECT_EQ(context.value("exit_status", ""), "2");
  EXPECT_EQ(context.value("output", ""), "CRITICAL: vd0 offline, 0 of 2 disks online");

  check.Answer(0, "OK: vd0 optimal, 2 of 2 disks online\n");
  const auto resolved = AwaitEvent(collector.db(), "kind = 'raid' AND state = 'resolved'");
  ASSERT_TRUE(resolved);
  EXPECT_GT(std::stoll(resolved->at("seq")), std::stoll(down->at("seq")));
  EXPECT_NE(resolved->at("summary").find("OK: vd0 optimal"), std::string::npos)
      << resolved->at("summary");
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(RedundancyIntegrationTest, CommandCheckThatHangsIsKilledAtItsLimitWhileOtherWatchersGoOn) {
  FakeCommand check(scratch_ / "bin", "check_multipath");
  ExpectHungCommandKilledWhileRaidGoesOn(
      check,
      R"(
[command]
interval = "100ms"
[[command.check]]
name = "san-paths"
kind = "link_group"
command = [")" +
          check.program().string() + R"("]
time_limit = "4s"
)",
      "probe:command:san-paths", "4000 ms", [&] {
        // Until it answers, the check's own alert never fired: it keeps
        // its state.
        EXPECT_EQ(CollectorEvents(db_, "atm-it-01", "kind = 'link_group'").size(), 0u);
        check.Answer(0, "OK: 4 of 4 paths active\n");
      });
}

TEST_F(RedundancyIntegrationTest, KeepalivedBackupTakingOverIsFailedOverAndResolved) {
  const std::filesystem::path run = scratch_ / "run";
  std::filesystem::create_directories(run);
  Switch("keepalived/backup_word.state", run / "VI_1.state");
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), R"(
[cluster]
interval = "100ms"
[cluster.states]
failed_over = { severity = "critical", degraded = ["withdrawal"] }
[[cluster.vrrp]]
instance = "VI_1"
role = "backup"
state_file = ")" + (run / "VI_1.state").string() + R"("
)"));
  ASSERT_TRUE(AwaitHeartbeat(collector));

  Switch("keepalived/master_args.state", run / "VI_1.state");
  const auto failed_over = AwaitEvent(collector.db(), "kind = 'cluster' AND state = 'firing'");
  ASSERT_TRUE(failed_over);
  EXPECT_EQ(failed_over->at("subject"), "VI_1");
  EXPECT_EQ(failed_over->at("severity"), "critical");
  EXPECT_EQ(failed_over->at("impact_degraded"), "withdrawal");
  const auto context = nlohmann::json::parse(failed_over->at("context_json"));
  EXPECT_EQ(context.value("state", ""), "failed_over");
  EXPECT_EQ(context.value("vrrp_state", ""), "MASTER");
  EXPECT_EQ(context.value("role", ""), "backup");

  Switch("keepalived/backup_word.state", run / "VI_1.state");
  const auto resolved = AwaitEvent(collector.db(), "kind = 'cluster' AND state = 'resolved'");
  ASSERT_TRUE(resolved);
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(RedundancyIntegrationTest,
       KeepalivedNotifyFifoMasterThenFaultThenBackupIsRaisedAndResolved) {
  const std::filesystem::path fifo = scratch_ / "run" / "vrrp.fifo";
  std::filesystem::create_directories(fifo.parent_path());
  FakeKeepalivedFifo keepalived(fifo);
  ASSERT_TRUE(keepalived.Write("INSTANCE \"VI_1\" BACKUP 100\n"));
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), R"(
[cluster]
interval = "100ms"
[cluster.states]
failed_over = { severity = "critical", degraded = ["withdrawal"] }
degraded = { severity = "warning" }
[[cluster.vrrp]]
instance = "VI_1"
role = "backup"
fifo = ")" + fifo.string() + R"("
)"));
  ASSERT_TRUE(AwaitHeartbeat(collector));

  // The backup node takes over the address.
  ASSERT_TRUE(keepalived.Write("INSTANCE \"VI_1\" MASTER 100\n"));
  const auto failed_over =
      AwaitEvent(collector.db(), "kind = 'cluster' AND state = 'firing' AND severity = 'critical'");
  ASSERT_TRUE(failed_over);
  EXPECT_EQ(failed_over->at("subject"), "VI_1");
  EXPECT_EQ(failed_over->at("impact_degraded"), "withdrawal");
  const auto context = nlohmann::json::parse(failed_over->at("context_json"));
  EXPECT_EQ(context.value("state", ""), "failed_over");
  EXPECT_EQ(context.value("vrrp_state", ""), "MASTER");
  EXPECT_EQ(context.value("fifo", ""), fifo.string());

  // keepalived restarts, makes its FIFO anew and comes up in FAULT: the
  // agent reads the new FIFO.
  keepalived.Restart();
  ASSERT_TRUE(keepalived.Write("INSTANCE \"VI_1\" FAULT 0\n"));
  const auto fault =
      AwaitEvent(collector.db(), "kind = 'cluster' AND state = 'firing' AND severity = 'warning'");
  ASSERT_TRUE(fault);
  EXPECT_EQ(nlohmann::json::parse(fault->at("context_json")).value("state", ""), "degraded");

  ASSERT_TRUE(keepalived.Write("INSTANCE \"VI_1\" BACKUP 100\n"));
  const auto resolved = AwaitEvent(collector.db(), "kind = 'cluster' AND state = 'resolved'");
  ASSERT_TRUE(resolved);
  EXPECT_GT(std::stoll(resolved->at("seq")), std::stoll(fault->at("seq")));
  EXPECT_EQ(nlohmann::json::parse(resolved->at("context_json")).value("vrrp_state", ""), "BACKUP");
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
