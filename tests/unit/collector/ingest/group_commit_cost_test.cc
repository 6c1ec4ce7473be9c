// What the store executor foresees from the groups that ran: a fixed part
// per commit, a part per call.
#include "collector/ingest/group_commit_cost.h"

#include <gtest/gtest.h>

#include <chrono>

namespace atmhealth::collector {
namespace {

using namespace std::chrono_literals;

double Ms(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

TEST(GroupCommitCostTest, NothingIsForeseenBeforeAGroupRan) {
  GroupCommitCost cost;
  EXPECT_EQ(cost.Drain(500, 10'000), 0ns);
}

// A disk syncing in 5 ms and 0.1 ms of work per call: the collector took a
// group's time divided by its calls as the cost of any call, so after a
// Hello alone (5.1 ms) it foresaw 500 queued Hellos taking 500 fsyncs,
// about 2.5 s, where one group commit takes them in 55 ms; it turned a
// restarting fleet away with retry slots 10 ms apart and then sat idle.
TEST(GroupCommitCostTest, QueuedCallsAreForeseenAsGroupsSharingAnFsyncNotAnFsyncEach) {
  GroupCommitCost cost;
  for (int i = 0; i < 40; ++i) {
    cost.Observe(1, 5100us);      // a call alone: 5 ms + 0.1 ms
    cost.Observe(200, 25'000us);  // 200 calls: 5 ms + 20 ms
    cost.Observe(37, 8700us);
  }
  EXPECT_NEAR(cost.fixed_ns() / 1e6, 5.0, 0.05);
  EXPECT_NEAR(cost.per_call_ns() / 1e6, 0.1, 0.001);
  EXPECT_NEAR(Ms(cost.Drain(500, 10'000)), 55.0, 0.5);
  // Groups of at most 200 calls: three commits for 500 calls.
  EXPECT_NEAR(Ms(cost.Drain(500, 200)), 65.0, 0.5);
  EXPECT_NEAR(Ms(cost.PerCall(500)), 0.11, 0.002);
  EXPECT_NEAR(Ms(cost.PerCall(1)), 5.1, 0.05);
}

// A collector that has run only calls alone (a quiet fleet, or the first
// Hello after a start) cannot tell the sync from the work of a call. It
// charged every call a whole group: a fleet turned away at a restart got
// retry slots a sync apart, 10,000 of them over two minutes, while the
// store that would take them in a few commits sat idle.
TEST(GroupCommitCostTest, GroupsAllOfOneSizeAreTakenForTheirCommitNotChargedToEachCall) {
  GroupCommitCost cost;
  for (int i = 0; i < 10; ++i) cost.Observe(1, 6ms);
  EXPECT_EQ(cost.per_call_ns(), 0);
  EXPECT_NEAR(Ms(cost.PerCall(500)), 6.0 / 500, 0.001);
  EXPECT_NEAR(Ms(cost.Drain(500, 10'000)), 6.0, 0.01);
  EXPECT_NEAR(Ms(cost.Drain(10, 4)), 18.0, 0.01) << "three groups of at most four";
  // Once sizes differ, the fit separates the two.
  cost.Observe(101, 16ms);
  EXPECT_GT(cost.per_call_ns(), 0);
}

TEST(GroupCommitCostTest, NoisyGroupsNeverGiveANegativeCost) {
  GroupCommitCost cost;
  // Larger groups that happened to run faster (the machine got quieter).
  cost.Observe(1, 9ms);
  cost.Observe(100, 2ms);
  cost.Observe(1, 8ms);
  cost.Observe(100, 3ms);
  EXPECT_GE(cost.fixed_ns(), 0);
  EXPECT_GE(cost.per_call_ns(), 0);
  EXPECT_GT(cost.Drain(10, 10'000), 0ns);
}

// The fit follows the disk: the newest groups weigh most.
TEST(GroupCommitCostTest, AFasterDiskIsLearntFromTheNewestGroups) {
  GroupCommitCost cost;
  for (int i = 0; i < 20; ++i) {
    cost.Observe(1, 5100us);
    cost.Observe(100, 15'000us);
  }
  for (int i = 0; i < 100; ++i) {
    cost.Observe(1, 300us);  // 0.2 ms sync + 0.1 ms
    cost.Observe(100, 10'200us);
  }
  EXPECT_NEAR(cost.fixed_ns() / 1e6, 0.2, 0.05);
}

}  // namespace
}  // namespace atmhealth::collector
