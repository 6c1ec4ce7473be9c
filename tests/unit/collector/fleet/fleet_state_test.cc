#include "collector/fleet/fleet_state.h"

#include <gtest/gtest.h>

#include "tests/unit/collector/fleet/fleet_samples.h"

namespace atmhealth::collector::fleet {
namespace {

FleetSnapshot At(std::vector<StoredDevice> devices, std::int64_t now) {
  return DeriveFleet(std::move(devices), nullptr, FleetRules{}, now);
}

TEST(FleetStateTest, DeviceIsUnreachableOnceThreeAnnouncedIntervalsPassWithoutHeartbeat) {
  // Heartbeat at kT0 announcing 10 s: reachable until kT0 + 30 s.
  const FleetSnapshot before = At({SampleDevice("atm-1", "s")}, kT0 + 29 * kSecond);
  EXPECT_TRUE(before.devices[0].reachable);
  EXPECT_EQ(before.devices[0].state, DeviceState::kInService);
  const FleetSnapshot after = At({SampleDevice("atm-1", "s")}, kT0 + 30 * kSecond);
  const DeviceView& device = after.devices[0];
  EXPECT_FALSE(device.reachable);
  EXPECT_EQ(device.state, DeviceState::kUnreachable);
  EXPECT_EQ(device.unreachable_since_unix_ns, kT0 + 30 * kSecond);
  // Never silently in service: every service reads unknown.
  for (const ServiceView& service : device.services) {
    EXPECT_EQ(service.state, "unknown");
    EXPECT_TRUE(service.lost());
    EXPECT_FALSE(service.available());
  }
  EXPECT_EQ(after.counts.unreachable, 1);
  EXPECT_EQ(after.services[0].service, "withdrawal");
  EXPECT_EQ(after.services[0].unknown, 1);
  EXPECT_TRUE(device.impaired());
}

TEST(FleetStateTest, DeviceWithoutHeartbeatIsPendingThenUnreachable) {
  StoredDevice device = SampleDevice("atm-1", "s");
  device.heartbeat.reset();
  device.services.clear();
  const FleetSnapshot fresh = At({device}, kT0 + 5 * kSecond);
  EXPECT_TRUE(fresh.devices[0].pending);
  EXPECT_EQ(fresh.devices[0].state, DeviceState::kUnreachable);
  EXPECT_FALSE(fresh.devices[0].impaired());
  const FleetSnapshot late = At({device}, kT0 + 31 * kSecond);
  EXPECT_FALSE(late.devices[0].pending);
  EXPECT_TRUE(late.devices[0].impaired());
}

TEST(FleetStateTest, ServiceStatesGiveTheDeviceStateAndCounts) {
  StoredDevice out = SampleDevice("atm-out", "a");
  SetService(out, "withdrawal", "out_of_service", kT0 + kSecond);
  StoredAlert alert;
  alert.alert_key = "storage:/var";
  alert.severity = "critical";
  alert.summary = "/var is 97% full";
  out.firing.push_back(alert);
  StoredDevice slow = SampleDevice("atm-slow", "a");
  SetService(slow, "deposit", "degraded", kT0 + kSecond, "latency:core");
  const FleetSnapshot snapshot = At({slow, SampleDevice("atm-ok", "b"), out}, kT0 + 2 * kSecond);
  ASSERT_EQ(snapshot.devices.size(), 3u);
  EXPECT_EQ(snapshot.devices[0].stored.device_id, "atm-ok");  // sorted by id
  EXPECT_EQ(snapshot.Find("atm-out")->state, DeviceState::kOutOfService);
  EXPECT_EQ(snapshot.Find("atm-slow")->state, DeviceState::kDegraded);
  const ServiceView* withdrawal = snapshot.Find("atm-out")->Service("withdrawal");
  ASSERT_NE(withdrawal, nullptr);
  EXPECT_EQ(withdrawal->reason, "storage:/var");
  EXPECT_EQ(withdrawal->reason_summary, "/var is 97% full");
  EXPECT_EQ(withdrawal->since_unix_ns, kT0 + kSecond);
  EXPECT_EQ(snapshot.counts.in_service, 1);
  EXPECT_EQ(snapshot.counts.out_of_service, 1);
  EXPECT_EQ(snapshot.counts.degraded, 1);
  EXPECT_EQ(snapshot.Find("atm-out")->impaired_since_unix_ns(), kT0 + kSecond);
  // Per site, registered or not.
  ASSERT_EQ(snapshot.site_views.size(), 2u);
  EXPECT_EQ(snapshot.site_views[0].site_id, "b");  // in the order of their first device
  EXPECT_EQ(snapshot.site_views[1].site_id, "a");
  EXPECT_EQ(snapshot.site_views[1].devices.size(), 2u);
  EXPECT_EQ(snapshot.site_views[1].counts.out_of_service, 1);
  EXPECT_EQ(snapshot.devices_without_registered_site, 3);
}

TEST(FleetStateTest, HeartbeatWithoutIntervalUsesTheDefault) {
  const FleetSnapshot snapshot = At({SampleDevice("atm-1", "s", kT0, 0)}, kT0 + 179 * kSecond);
  EXPECT_TRUE(snapshot.devices[0].reachable);
  const FleetSnapshot later = At({SampleDevice("atm-1", "s", kT0, 0)}, kT0 + 180 * kSecond);
  EXPECT_FALSE(later.devices[0].reachable);
}

}  // namespace
}  // namespace atmhealth::collector::fleet
