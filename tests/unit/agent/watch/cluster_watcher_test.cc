// The cluster watcher against real-format keepalived and crm_mon fixtures:
// keepalived files the test switches, crm_mon a script that prints the
// fixture the test chose (or hangs), and its [cluster] section.
#include "agent/watch/cluster_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/rules/rule_set.h"
#include "platform/pacemaker.h"
#include "platform/text_input.h"
#include "tests/support/fake_command.h"
#include "tests/support/fake_keepalived_fifo.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

const std::vector<v1::CustomerService> kOffered = {
    v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT, v1::CUSTOMER_SERVICE_INQUIRY};

Result<std::shared_ptr<const ClusterConfig>> Parse(const std::string& text) {
  const toml::table root = toml::parse(text, std::string_view("atmhealthd.toml"));
  const ConfigSection top("atmhealthd.toml", root, "", 1);
  auto cluster = top.Child("cluster");
  if (!cluster.ok()) return cluster.error();
  return ReadClusterConfig(*cluster, kOffered);
}

std::map<std::string, std::string> ContextOf(const Measurement& m) {
  return {m.context.begin(), m.context.end()};
}

platform::ClusterStatus Fixture(const std::string& name) {
  const std::string path = testing::Fixture("crm_mon/" + name).string();
  auto text = platform::ReadTextFile(path, 1 << 20);
  EXPECT_TRUE(text.ok());
  auto status = platform::ParseCrmMonXml(*text, path);
  EXPECT_TRUE(status.ok()) << status.error().message();
  return *status;
}

Measurement Cluster(const std::string& fixture, std::string_view preferred = "") {
  return ClusterWatcher::MeasureCluster("pacemaker", Fixture(fixture), preferred);
}

// --- pacemaker: every state from a crm_mon fixture -----------------------

TEST(ClusterStateOfPacemaker, HealthyTwoNodeClusterIsRedundant) {
  for (const std::string_view preferred : {"", "atm-srv-a"}) {
    const Measurement m = Cluster("result_two_nodes_healthy.xml", preferred);
    EXPECT_EQ(m.kind, v1::ALERT_KIND_CLUSTER);
    EXPECT_EQ(m.state, RedundancyState::kRedundant) << ContextOf(m)["reason"];
    EXPECT_EQ(m.value, 2);
    EXPECT_EQ(m.expected, 2);
    auto context = ContextOf(m);
    EXPECT_EQ(context["nodes_online"], "atm-srv-a,atm-srv-b");
    EXPECT_EQ(context["dc"], "atm-srv-a");
    EXPECT_EQ(context["quorum"], "yes");
    // The fence device and the unpromoted clone instance run on the other
    // node by design: not failed over.
    EXPECT_EQ(context.count("running_elsewhere"), 0u);
  }
  EXPECT_EQ(Cluster("legacy_ha_cluster_exporter.xml").state, RedundancyState::kRedundant);
  EXPECT_EQ(Cluster("legacy_ha_cluster_exporter.xml", "hana01").state, RedundancyState::kRedundant);
}

TEST(ClusterStateOfPacemaker, NodeInStandbyIsFailedOverFromItsPreferredNode) {
  const Measurement m = Cluster("result_standby_failed_over.xml", "atm-srv-a");
  EXPECT_EQ(m.state, RedundancyState::kFailedOver);
  EXPECT_EQ(m.value, 1);
  EXPECT_EQ(m.expected, 2);
  auto context = ContextOf(m);
  EXPECT_EQ(context["nodes_standby"], "atm-srv-a");
  EXPECT_EQ(context["running_elsewhere"], "atm-vip on atm-srv-b; atm-switchd on atm-srv-b");
  EXPECT_EQ(context["preferred_node"], "atm-srv-a");
  // Without a preferred node the same cluster runs without a spare.
  EXPECT_EQ(Cluster("result_standby_failed_over.xml").state, RedundancyState::kDegraded);
}

TEST(ClusterStateOfPacemaker, OfflineNodeAndFailedResourceIsDegraded) {
  const Measurement m = Cluster("legacy_resources_and_failures.xml");
  EXPECT_EQ(m.state, RedundancyState::kDegraded);
  auto context = ContextOf(m);
  EXPECT_EQ(context["nodes_offline"], "atm-srv-a");
  EXPECT_EQ(context["resources_failed"], "atm-switchd");
  EXPECT_EQ(context["resources_stopped"], "ledger-db");
  EXPECT_EQ(context["failed_actions"], "atm-switchd_monitor_10000 on atm-srv-b: not running");
  // Its preferred node offline, the promoted database runs on the other:
  // failed over.
  const Measurement failed_over = Cluster("legacy_resources_and_failures.xml", "atm-srv-a");
  EXPECT_EQ(failed_over.state, RedundancyState::kFailedOver);
  EXPECT_THAT(ContextOf(failed_over)["running_elsewhere"], HasSubstr("ledger-db on atm-srv-b"));
}

TEST(ClusterStateOfPacemaker, ResourceActiveOnTwoNodesIsSplitBrain) {
  const Measurement m = Cluster("result_multi_active_split_brain.xml", "atm-srv-a");
  EXPECT_EQ(m.state, RedundancyState::kSplitBrain);
  EXPECT_EQ(ContextOf(m)["multi_active"], "atm-vip on atm-srv-a,atm-srv-b");
}

TEST(ClusterStateOfPacemaker, PartitionWithoutQuorumIsSplitBrain) {
  const Measurement m = Cluster("result_offline_unclean_failed.xml");
  EXPECT_EQ(m.state, RedundancyState::kSplitBrain);
  auto context = ContextOf(m);
  EXPECT_EQ(context["quorum"], "no");
  EXPECT_EQ(context["nodes_unclean"], "atm-srv-a");
  EXPECT_EQ(context["nodes_offline"], "atm-srv-a,atm-srv-c");
  EXPECT_EQ(context["resources_failed"], "atm-switchd");
  EXPECT_EQ(context["failed_actions"],
            "atm-switchd_start_0 on atm-srv-b: not running (atm-switchd: listener port 7001 in "
            "use); atm-switchd_monitor_10000 on atm-srv-a: Timed Out");
}

TEST(ClusterStateOfPacemaker, ClusterNotReachableIsDown) {
  const Measurement m = Cluster("result_not_connected.xml");
  EXPECT_EQ(m.state, RedundancyState::kDown);
  EXPECT_EQ(m.value, 0);
  auto context = ContextOf(m);
  EXPECT_EQ(context["reason"], "crm_mon cannot reach the cluster: Not connected (code 102)");
  EXPECT_EQ(context["crm_mon"], "code 102: Not connected");
}

TEST(ClusterStateOfPacemaker, NoResourceRunningAnywhereIsDown) {
  platform::ClusterStatus status = Fixture("result_two_nodes_healthy.xml");
  for (platform::ClusterResource& resource : status.resources) {
    if (resource.agent.rfind("stonith:", 0) == 0) continue;  // fencing still up
    resource.active = false;
    resource.nodes.clear();
  }
  const Measurement m = ClusterWatcher::MeasureCluster("pacemaker", status, "");
  EXPECT_EQ(m.state, RedundancyState::kDown);
  EXPECT_EQ(ContextOf(m)["reason"], "no resource runs anywhere");
}

// --- keepalived: every state from a state file or data dump --------------

VrrpInstanceConfig Vrrp(VrrpRole role, std::string instance = "VI_1") {
  VrrpInstanceConfig config;
  config.instance = std::move(instance);
  config.role = role;
  return config;
}

TEST(ClusterStateOfVrrp, EachStateOnEachRole) {
  using platform::VrrpState;
  struct Case {
    VrrpRole role;
    VrrpState state;
    RedundancyState expected;
  };
  const std::vector<Case> cases = {
      {VrrpRole::kMaster, VrrpState::kMaster, RedundancyState::kRedundant},
      {VrrpRole::kBackup, VrrpState::kBackup, RedundancyState::kRedundant},
      {VrrpRole::kEither, VrrpState::kMaster, RedundancyState::kRedundant},
      {VrrpRole::kEither, VrrpState::kBackup, RedundancyState::kRedundant},
      {VrrpRole::kBackup, VrrpState::kMaster, RedundancyState::kFailedOver},
      {VrrpRole::kMaster, VrrpState::kBackup, RedundancyState::kFailedOver},
      {VrrpRole::kMaster, VrrpState::kInit, RedundancyState::kRecovering},
      {VrrpRole::kMaster, VrrpState::kFault, RedundancyState::kDegraded},
      {VrrpRole::kBackup, VrrpState::kStop, RedundancyState::kDegraded},
      {VrrpRole::kEither, VrrpState::kDeleted, RedundancyState::kDegraded},
  };
  for (const Case& c : cases) {
    const Measurement m = ClusterWatcher::MeasureVrrp(Vrrp(c.role), c.state, 100);
    EXPECT_EQ(m.state, c.expected)
        << VrrpRoleName(c.role) << " " << platform::VrrpStateName(c.state);
    EXPECT_EQ(m.kind, v1::ALERT_KIND_CLUSTER);
    EXPECT_EQ(m.subject, "VI_1");
    EXPECT_EQ(ContextOf(m)["vrrp_state"], platform::VrrpStateName(c.state));
    EXPECT_EQ(ContextOf(m)["priority"], "100");
  }
}

class ClusterWatcherTest : public ::testing::Test {
 protected:
  // Replaces `target` with the keepalived fixture at once.
  void Switch(const std::string& fixture, const std::string& target) {
    const std::filesystem::path next = scratch_ / (target + ".next");
    std::filesystem::copy_file(testing::Fixture("keepalived/" + fixture), next,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(next, scratch_ / target);
  }

  // The measurements of one sample, by kind:subject.
  std::map<std::string, Measurement> SampleOnce(ClusterWatcher& watcher) {
    std::vector<Measurement> out;
    watcher.Sample(out);
    std::map<std::string, Measurement> by_subject;
    for (Measurement& m : out) by_subject[AlertKey(m.kind, m.subject)] = std::move(m);
    return by_subject;
  }

  testing::ScratchDir scratch_;
};

TEST_F(ClusterWatcherTest, StateFileSwitchedFromBackupToMasterFailsOverABackupNode) {
  ClusterConfig config;
  VrrpInstanceConfig vrrp = Vrrp(VrrpRole::kBackup);
  vrrp.state_file = (scratch_ / "VI_1.state").string();
  config.vrrp.push_back(vrrp);
  ClusterWatcher watcher(config);

  Switch("backup_word.state", "VI_1.state");
  auto sample = SampleOnce(watcher);
  ASSERT_EQ(sample.count("cluster:VI_1"), 1u);
  EXPECT_EQ(sample["cluster:VI_1"].state, RedundancyState::kRedundant);
  EXPECT_EQ(sample["agent_health:probe:" + vrrp.state_file].value, 0);

  Switch("master_args.state", "VI_1.state");
  sample = SampleOnce(watcher);
  EXPECT_EQ(sample["cluster:VI_1"].state, RedundancyState::kFailedOver);
  auto context = ContextOf(sample["cluster:VI_1"]);
  EXPECT_EQ(context["vrrp_state"], "MASTER");
  EXPECT_EQ(context["priority"], "150");
  EXPECT_EQ(context["file"], vrrp.state_file);

  Switch("fault_word.state", "VI_1.state");
  EXPECT_EQ(SampleOnce(watcher)["cluster:VI_1"].state, RedundancyState::kDegraded);

  // Gone: the probe alert says so, the instance keeps its state.
  std::filesystem::remove(vrrp.state_file);
  sample = SampleOnce(watcher);
  EXPECT_EQ(sample.count("cluster:VI_1"), 0u);
  EXPECT_EQ(sample["agent_health:probe:" + vrrp.state_file].value, 1);
  EXPECT_THAT(ContextOf(sample["agent_health:probe:" + vrrp.state_file])["error"],
              HasSubstr(vrrp.state_file));
}

// keepalived's notify FIFO, written as keepalived writes it: read on the
// reader's own thread, the latest line of each instance is its state.
TEST_F(ClusterWatcherTest, NotifyFifoLinesDriveTheStateAcrossAWriterThatRestarts) {
  ClusterConfig config;
  config.interval = milliseconds(100);
  VrrpInstanceConfig vi1 = Vrrp(VrrpRole::kBackup, "VI_1");
  vi1.fifo = (scratch_ / "vrrp.fifo").string();
  VrrpInstanceConfig vi2 = Vrrp(VrrpRole::kMaster, "VI_2");
  vi2.fifo = vi1.fifo;
  config.vrrp = {vi1, vi2};
  const std::string probe = "agent_health:probe:" + vi1.fifo;

  // No FIFO yet (keepalived not started): the probe says so, nothing blocks.
  ClusterWatcher watcher(config);
  std::map<std::string, Measurement> sample;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        sample = SampleOnce(watcher);
        return sample[probe].value == 1;
      },
      seconds(10)));
  EXPECT_EQ(ContextOf(sample[probe])["error_code"], ErrorCodeName(ErrorCode::kNotFound));
  EXPECT_EQ(sample.count("cluster:VI_1"), 0u);
  // One reader thread for both instances, proven alive by the watchdog.
  const std::vector<WatcherThread> threads = watcher.Threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].name, "keepalived fifo " + vi1.fifo);

  testing::FakeKeepalivedFifo keepalived(vi1.fifo);
  auto await = [&](const std::string& key, RedundancyState wanted) {
    Measurement found;
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          auto next = SampleOnce(watcher);
          if (next.count(key) == 0) return false;
          found = next[key];
          return found.state == wanted;
        },
        seconds(10)))
        << key << " " << RedundancyStateName(wanted);
    return found;
  };
  ASSERT_TRUE(keepalived.Write("INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_2\" MASTER 150\n"));
  await("cluster:VI_1", RedundancyState::kRedundant);
  await("cluster:VI_2", RedundancyState::kRedundant);

  ASSERT_TRUE(keepalived.Write("INSTANCE \"VI_1\" MASTER 100\n"));
  const Measurement took_over = await("cluster:VI_1", RedundancyState::kFailedOver);
  EXPECT_EQ(ContextOf(took_over)["vrrp_state"], "MASTER");
  EXPECT_EQ(ContextOf(took_over)["fifo"], vi1.fifo);

  // keepalived restarts and makes the FIFO anew: read again from the new one.
  keepalived.Restart();
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return keepalived.Write("INSTANCE \"VI_2\" FAULT 0\n") &&
               SampleOnce(watcher)["cluster:VI_2"].state == RedundancyState::kDegraded;
      },
      seconds(10)));

  // A malformed line is counted and named; the lines after it count.
  ASSERT_TRUE(keepalived.Write("INSTANCE \"VI_1\" master 100\nINSTANCE \"VI_1\" BACKUP 100\n"));
  await("cluster:VI_1", RedundancyState::kRedundant);
  sample = SampleOnce(watcher);
  EXPECT_EQ(sample[probe].value, 0);
  auto context = ContextOf(sample[probe]);
  EXPECT_EQ(context["malformed_lines"], "1");
  EXPECT_THAT(context["last_malformed"], HasSubstr(vi1.fifo + ":"));
  EXPECT_THAT(context["last_malformed"], HasSubstr("state \"master\" is not a VRRP state"));
}

TEST_F(ClusterWatcherTest, DataFileGivesEveryInstanceOneProbeAndAMissingInstanceIsDown) {
  ClusterConfig config;
  const std::string data = (scratch_ / "keepalived.data").string();
  for (auto [name, role] :
       {std::pair{"VI_1", VrrpRole::kBackup}, std::pair{"VI_2", VrrpRole::kBackup},
        std::pair{"VI_9", VrrpRole::kMaster}}) {
    VrrpInstanceConfig vrrp = Vrrp(role, name);
    vrrp.data_file = data;
    config.vrrp.push_back(vrrp);
  }
  ClusterWatcher watcher(config);
  Switch("two_instances_backup_fault.data", "keepalived.data");
  std::vector<Measurement> out;
  watcher.Sample(out);
  std::map<std::string, Measurement> by_subject;
  int probes = 0;
  for (Measurement& m : out) {
    if (m.kind == v1::ALERT_KIND_AGENT_HEALTH) ++probes;
    by_subject[m.subject] = m;
  }
  EXPECT_EQ(probes, 1);
  EXPECT_EQ(by_subject["VI_1"].state, RedundancyState::kRedundant);
  EXPECT_EQ(by_subject["VI_2"].state, RedundancyState::kDegraded);
  EXPECT_EQ(ContextOf(by_subject["VI_2"])["effective_priority"], "0");
  EXPECT_EQ(ContextOf(by_subject["VI_2"])["wanted_state"], "BACKUP");
  EXPECT_EQ(ContextOf(by_subject["VI_2"])["interface"], "eth1");
  EXPECT_EQ(by_subject["VI_9"].state, RedundancyState::kDown);
  EXPECT_EQ(ContextOf(by_subject["VI_9"])["reason"], "keepalived runs no such instance");

  // The rules: one state rule per instance, one probe for the shared file.
  const std::vector<RuleDefinition> rules = watcher.Rules();
  EXPECT_EQ(rules.size(), 4u);
  for (const RuleDefinition& rule : rules) {
    if (rule.kind == v1::ALERT_KIND_CLUSTER) {
      EXPECT_EQ(std::get<StateSpec>(rule.spec).category,
                v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
    }
  }
}

// --- pacemaker through crm_mon on its own thread -------------------------

ClusterConfig PacemakerConfigFor(const testing::FakeCrmMon& crm_mon, milliseconds time_limit) {
  ClusterConfig config;
  config.interval = milliseconds(100);
  PacemakerConfig pacemaker;
  pacemaker.command.argv = {crm_mon.program().string(), "--output-as=xml"};
  pacemaker.command.time_limit = time_limit;
  pacemaker.preferred_node = "atm-srv-a";
  config.pacemaker = pacemaker;
  return config;
}

TEST_F(ClusterWatcherTest, CrmMonOutputSwitchedDrivesTheClusterState) {
  testing::FakeCrmMon crm_mon(scratch_ / "bin", "result_two_nodes_healthy.xml");
  ClusterWatcher watcher(PacemakerConfigFor(crm_mon, seconds(10)));
  // The state the watcher reports once a run of `fixture` has finished.
  auto await_state = [&](RedundancyState wanted) {
    std::optional<RedundancyState> seen;
    testing::WaitFor(
        [&] {
          auto sample = SampleOnce(watcher);
          if (sample.count("cluster:pacemaker") != 0) seen = sample["cluster:pacemaker"].state;
          return seen == wanted;
        },
        seconds(10));
    return seen;
  };
  EXPECT_EQ(await_state(RedundancyState::kRedundant), RedundancyState::kRedundant);
  crm_mon.Show("result_standby_failed_over.xml");
  EXPECT_EQ(await_state(RedundancyState::kFailedOver), RedundancyState::kFailedOver);
  crm_mon.Show("result_multi_active_split_brain.xml");
  EXPECT_EQ(await_state(RedundancyState::kSplitBrain), RedundancyState::kSplitBrain);
  crm_mon.Show("result_not_connected.xml");
  EXPECT_EQ(await_state(RedundancyState::kDown), RedundancyState::kDown);
  crm_mon.Show("result_two_nodes_healthy.xml");
  EXPECT_EQ(await_state(RedundancyState::kRedundant), RedundancyState::kRedundant);
  // Each finished run is sampled once: a sample between two runs adds
  // nothing, so the probe's failure count follows the runs, not the samples.
  const std::vector<WatcherThread> threads = watcher.Threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].name, "crm_mon");
  // The watchdog is told how long a run may keep the thread busy.
  EXPECT_EQ(threads[0].longest_task, seconds(10));
}

TEST_F(ClusterWatcherTest, HangingCrmMonNeverHoldsTheSampleAndIsKilledAtItsLimit) {
  testing::FakeCrmMon crm_mon(scratch_ / "bin", "result_two_nodes_healthy.xml");
  crm_mon.Hang();
  ClusterWatcher watcher(PacemakerConfigFor(crm_mon, milliseconds(1500)));
  ASSERT_TRUE(testing::WaitFor([&] { return crm_mon.runs() >= 1; }, seconds(10)));
  // crm_mon is running and will not end by itself: samples return at once
  // with nothing new about the cluster until it is killed at its limit.
  int samples_while_running = 0;
  Measurement probe;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto next = SampleOnce(watcher);
        EXPECT_EQ(next.count("cluster:pacemaker"), 0u);
        if (next.count("agent_health:probe:crm_mon") == 0) {
          ++samples_while_running;
          return false;
        }
        probe = next["agent_health:probe:crm_mon"];
        return true;
      },
      seconds(10)));
  EXPECT_GT(samples_while_running, 0);
  EXPECT_EQ(probe.value, 1);
  auto context = ContextOf(probe);
  EXPECT_THAT(context["error"], HasSubstr("killed (SIGKILL) at its time limit of 1500 ms"));
  EXPECT_EQ(context["error_code"], ErrorCodeName(ErrorCode::kTimeout));
  EXPECT_EQ(context["timeouts"], "1");

  // Every run that hangs is killed and counted; once crm_mon answers again
  // the probe resolves and the cluster is measured.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto next = SampleOnce(watcher);
        return next.count("agent_health:probe:crm_mon") == 1 &&
               ContextOf(next["agent_health:probe:crm_mon"])["timeouts"] == "2";
      },
      seconds(10)));
  crm_mon.Show("result_two_nodes_healthy.xml");
  std::map<std::string, Measurement> recovered;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        recovered = SampleOnce(watcher);
        return recovered.count("cluster:pacemaker") == 1;
      },
      seconds(10)));
  EXPECT_EQ(recovered["agent_health:probe:crm_mon"].value, 0);
  EXPECT_GE(std::stoi(ContextOf(recovered["agent_health:probe:crm_mon"])["timeouts"]), 2);
  EXPECT_EQ(recovered["cluster:pacemaker"].state, RedundancyState::kRedundant);
}

TEST_F(ClusterWatcherTest, CrmMonThatCannotStartIsAProbeAlert) {
  ClusterConfig config;
  config.interval = milliseconds(100);
  PacemakerConfig pacemaker;
  pacemaker.command.argv = {(scratch_ / "no-such-crm_mon").string()};
  config.pacemaker = pacemaker;
  ClusterWatcher watcher(config);
  Measurement probe;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto sample = SampleOnce(watcher);
        if (sample.count("agent_health:probe:crm_mon") == 0) return false;
        probe = sample["agent_health:probe:crm_mon"];
        return true;
      },
      seconds(10)));
  EXPECT_EQ(probe.value, 1);
  EXPECT_EQ(ContextOf(probe)["error_code"], ErrorCodeName(ErrorCode::kNotFound));
  EXPECT_EQ(ContextOf(probe)["timeouts"], "0");
}

// --- [cluster] -----------------------------------------------------------

TEST(ClusterConfig, ReadsEverySourceAndItsStates) {
  auto config = Parse(R"([cluster]
interval = "5s"
for = "3s"
[cluster.states]
failed_over = { severity = "warning" }
split_brain = { severity = "critical", unavailable = ["withdrawal"] }
[[cluster.vrrp]]
instance = "VI_1"
role = "backup"
state_file = "/run/keepalived/VI_1.state"
[[cluster.vrrp]]
instance = "VI_2"
data_file = "/tmp/keepalived.data"
[cluster.pacemaker]
command = ["crm_mon", "--as-xml"]
time_limit = "4s"
output_limit = "256KiB"
preferred_node = "atm-srv-a"
)");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ((*config)->interval, seconds(5));
  EXPECT_EQ((*config)->states.for_duration, seconds(3));
  EXPECT_EQ((*config)->states.category, v1::FAILURE_CATEGORY_DAILY_OPERATION_REDUNDANCY);
  EXPECT_THAT((*config)->states.outcome(RedundancyState::kSplitBrain).impact.unavailable,
              ::testing::ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));
  ASSERT_EQ((*config)->vrrp.size(), 2u);
  EXPECT_EQ((*config)->vrrp[0].role, VrrpRole::kBackup);
  EXPECT_EQ((*config)->vrrp[0].state_file, "/run/keepalived/VI_1.state");
  EXPECT_EQ((*config)->vrrp[1].role, VrrpRole::kEither);
  EXPECT_EQ((*config)->vrrp[1].data_file, "/tmp/keepalived.data");
  ASSERT_TRUE((*config)->pacemaker);
  EXPECT_EQ((*config)->pacemaker->name, "pacemaker");
  EXPECT_THAT((*config)->pacemaker->command.argv, ::testing::ElementsAre("crm_mon", "--as-xml"));
  EXPECT_EQ((*config)->pacemaker->command.time_limit, seconds(4));
  EXPECT_EQ((*config)->pacemaker->command.output_limit, 256u * 1024);
  EXPECT_EQ((*config)->pacemaker->preferred_node, "atm-srv-a");
  // What --check-config says the agent would watch.
  EXPECT_THAT((*config)->Describe(),
              ::testing::ElementsAre(
                  "cluster vrrp VI_1: role backup, state file /run/keepalived/VI_1.state",
                  "cluster vrrp VI_2: role either, data file /tmp/keepalived.data",
                  "cluster pacemaker pacemaker: crm_mon --as-xml on its own thread, time limit "
                  "4s, output limit 262144 bytes, preferred node atm-srv-a",
                  ::testing::StartsWith("cluster: every 5s; degraded warning, ")));

  auto defaults = Parse("[cluster]\n[cluster.pacemaker]\n");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  EXPECT_THAT((*defaults)->pacemaker->command.argv,
              ::testing::ElementsAre("crm_mon", "--output-as=xml"));
  EXPECT_EQ((*defaults)->pacemaker->command.time_limit, seconds(10));

  auto off = Parse("[raid]\n");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);
}

TEST(ClusterConfig, NotifyFifoIsTheThirdSourceOfAnInstance) {
  auto config = Parse(R"([cluster]
[[cluster.vrrp]]
instance = "VI_1"
role = "master"
fifo = "/run/keepalived/vrrp.fifo"
)");
  ASSERT_TRUE(config.ok()) << config.error().message();
  ASSERT_EQ((*config)->vrrp.size(), 1u);
  EXPECT_EQ((*config)->vrrp[0].fifo, "/run/keepalived/vrrp.fifo");
  EXPECT_EQ((*config)->vrrp[0].source(), "/run/keepalived/vrrp.fifo");
  EXPECT_EQ((*config)->Describe().front(),
            "cluster vrrp VI_1: role master, notify FIFO read on its own thread "
            "/run/keepalived/vrrp.fifo");

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nstate_file = \"/run/x\"\n"
       "fifo = \"/run/y\"\n",
       "atmhealthd.toml:5: cluster.vrrp[0].fifo: give exactly one of state_file (written by a "
       "notify script), data_file (keepalived's SIGUSR1 dump) and fifo"},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\n",
       "atmhealthd.toml:2: cluster.vrrp[0].state_file: give exactly one of"},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nfifo = \"vrrp.fifo\"\n",
       "atmhealthd.toml:4: cluster.vrrp[0].fifo: must be an absolute path, not \"vrrp.fifo\""},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nfifo = 3\n",
       "atmhealthd.toml:4: cluster.vrrp[0].fifo: must be a string, not an integer"},
  };
  for (const auto& [text, expected] : cases) {
    auto bad = Parse(text);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_THAT(bad.error().message(), HasSubstr(expected)) << text;
  }
}

TEST(ClusterConfig, EveryErrorNamesFileLineAndKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[cluster]\ninterval = \"5s\"\n",
       "atmhealthd.toml:1: cluster: needs a source: [[cluster.vrrp]] (keepalived) or "
       "[cluster.pacemaker] (crm_mon)"},
      {"[cluster]\n[[cluster.vrrp]]\nrole = \"master\"\nstate_file = \"/run/x\"\n",
       "atmhealthd.toml:2: cluster.vrrp[0].instance: required"},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nrole = \"primary\"\n"
       "state_file = \"/run/x\"\n",
       "atmhealthd.toml:4: cluster.vrrp[0].role: must be \"master\", \"backup\" or \"either\", "
       "not \"primary\""},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nstate_file = \"/run/x\"\n"
       "data_file = \"/run/y\"\n",
       "atmhealthd.toml:5: cluster.vrrp[0].data_file: give exactly one of state_file"},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nstate_file = \"run/x\"\n",
       "atmhealthd.toml:4: cluster.vrrp[0].state_file: must be an absolute path, not \"run/x\""},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nstate_file = \"/run/x\"\n"
       "[[cluster.vrrp]]\ninstance = \"VI_1\"\nstate_file = \"/run/y\"\n",
       "atmhealthd.toml:6: cluster.vrrp[1].instance: \"VI_1\" is watched by another"},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"VI_1\"\nstat_file = \"/run/x\"\n",
       "atmhealthd.toml:4: cluster.vrrp[0].stat_file: unknown key"},
      {"[cluster]\n[cluster.pacemaker]\ncommand = \"crm_mon --as-xml\"\n",
       "atmhealthd.toml:3: cluster.pacemaker.command: must be a program and its arguments"},
      {"[cluster]\n[cluster.pacemaker]\ncommand = []\n",
       "atmhealthd.toml:3: cluster.pacemaker.command: must be a program and its arguments, like "
       "[\"crm_mon\", \"--output-as=xml\"], not []"},
      {"[cluster]\n[cluster.pacemaker]\ncommand = [\"crm_mon --as-xml\"]\n",
       "atmhealthd.toml:3: cluster.pacemaker.command: \"crm_mon --as-xml\" is one word of argv"},
      {"[cluster]\n[cluster.pacemaker]\ncommand = [\"crm_mon\", 3]\n",
       "atmhealthd.toml:3: cluster.pacemaker.command[1]: must be a string, not an integer"},
      {"[cluster]\n[cluster.pacemaker]\ntime_limit = \"0s\"\n",
       "atmhealthd.toml:3: cluster.pacemaker.time_limit: must be longer than zero"},
      {"[cluster]\n[cluster.pacemaker]\ntime_limit = \"1h\"\n",
       "atmhealthd.toml:3: cluster.pacemaker.time_limit: must be at most"},
      {"[cluster]\n[cluster.pacemaker]\noutput_limit = 10\n",
       "atmhealthd.toml:3: cluster.pacemaker.output_limit: must be at least 1024 bytes, not 10"},
      {"[cluster]\n[cluster.pacemaker]\nname = \"\"\n",
       "atmhealthd.toml:3: cluster.pacemaker.name: must not be empty"},
      {"[cluster]\n[[cluster.vrrp]]\ninstance = \"ha\"\nstate_file = \"/run/x\"\n"
       "[cluster.pacemaker]\nname = \"ha\"\n",
       "atmhealthd.toml:6: cluster.pacemaker.name: \"ha\" is also a [[cluster.vrrp]] instance"},
      {"[cluster]\n[cluster.pacemaker]\ncomand = [\"crm_mon\"]\n",
       "atmhealthd.toml:3: cluster.pacemaker.comand: unknown key"},
      {"[cluster]\n[cluster.states]\nredundant = { severity = \"warning\" }\n"
       "[cluster.pacemaker]\n",
       "atmhealthd.toml:3: cluster.states.redundant"},
  };
  for (const auto& [text, expected] : cases) {
    auto config = Parse(text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.error().message(), HasSubstr(expected)) << text;
  }
}

}  // namespace
}  // namespace atmhealth::agent
