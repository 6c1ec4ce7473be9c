#include "collector/fleet/incident_tracker.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/unit/collector/fleet/fleet_samples.h"

namespace atmhealth::collector::fleet {
namespace {

using std::chrono::milliseconds;

IncidentRules Rules() {
  IncidentRules rules;
  rules.correlation_window = milliseconds(120'000);
  rules.correlation_min_devices = 5;
  rules.tolerance = {{"withdrawal", milliseconds(60'000)}};
  return rules;
}

// Devices with heartbeats fresh at `now`.
class Fleet {
 public:
  StoredDevice& Add(const std::string& id, const std::string& site) {
    devices_.push_back(SampleDevice(id, site));
    return devices_.back();
  }
  StoredDevice& operator[](const std::string& id) {
    for (StoredDevice& device : devices_) {
      if (device.device_id == id) return device;
    }
    return Add(id, "");
  }
  FleetSnapshot At(std::int64_t now) {
    for (StoredDevice& device : devices_) device.heartbeat->received_unix_ns = now;
    return DeriveFleet(devices_, nullptr, FleetRules{}, now);
  }

 private:
  std::vector<StoredDevice> devices_;
};

std::vector<const Incident*> Open(const IncidentTracker& tracker) {
  std::vector<const Incident*> open;
  for (const auto& [id, incident] : tracker.incidents()) {
    if (incident.open()) open.push_back(&incident);
  }
  return open;
}

TEST(IncidentTrackerTest, DeviceLosingAServiceOpensAnIncidentThatEndsWhenItReturns) {
  IncidentTracker tracker(Rules());
  Fleet fleet;
  fleet.Add("atm-1", "a");
  EXPECT_TRUE(tracker.Update(fleet.At(kT0)).empty());
  SetService(fleet["atm-1"], "withdrawal", "out_of_service", kT0 + kSecond);
  const IncidentChanges opened = tracker.Update(fleet.At(kT0 + 2 * kSecond));
  ASSERT_EQ(opened.changed.size(), 1u);
  const Incident& incident = *tracker.Find(opened.changed[0]);
  EXPECT_EQ(incident.scope, "device");
  EXPECT_EQ(incident.site_id, "a");
  EXPECT_EQ(incident.started_unix_ns, kT0 + kSecond);  // when the service went, not when seen
  ASSERT_EQ(incident.services.size(), 1u);
  EXPECT_EQ(incident.services[0].service, "withdrawal");
  EXPECT_EQ(incident.services[0].lost_since_unix_ns, kT0 + kSecond);
  EXPECT_EQ(tracker.IncidentOf("atm-1"), incident.id);

  SetService(fleet["atm-1"], "withdrawal", "in_service", kT0 + 10 * kSecond);
  tracker.Update(fleet.At(kT0 + 10 * kSecond));
  const Incident& ended = *tracker.Find(incident.id);
  EXPECT_EQ(ended.ended_unix_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(ended.devices[0].recovered_unix_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(ended.services[0].restored_unix_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(tracker.IncidentOf("atm-1"), 0);
}

// A drill (atmhealthctl drill) proves the response works; it is no outage:
// a critical drill alert neither impairs its device nor opens an incident,
// while the same alert without the drill mark does both.
TEST(IncidentTrackerTest, ACriticalDrillAlertOpensNoIncidentButTheSameRealAlertDoes) {
  IncidentTracker tracker(Rules());
  Fleet fleet;
  StoredAlert alert;
  alert.alert_key = "storage:drill-20261130T0900Z";
  alert.kind = "storage";
  alert.severity = "critical";
  alert.category = "daily_operation_storage";
  alert.summary = "[DRILL] storage drill-20261130T0900Z is 99% full";
  alert.since_wall_time_unix_ns = kT0 + kSecond;
  fleet.Add("atm-1", "a").firing.push_back(alert);
  EXPECT_TRUE(alert.drill());
  EXPECT_FALSE(fleet.At(kT0 + 2 * kSecond).devices[0].impaired());
  EXPECT_TRUE(tracker.Update(fleet.At(kT0 + 2 * kSecond)).changed.empty());
  EXPECT_TRUE(Open(tracker).empty());

  fleet["atm-1"].firing[0].summary = "storage /var is 99% full";
  EXPECT_TRUE(fleet.At(kT0 + 3 * kSecond).devices[0].impaired());
  tracker.Update(fleet.At(kT0 + 3 * kSecond));
  ASSERT_EQ(Open(tracker).size(), 1u);
  EXPECT_EQ(Open(tracker)[0]->categories.count("daily_operation_storage"), 1u);
}

TEST(IncidentTrackerTest, ToleranceAlertsRiseAtHalfAndFullAndResolveWithTheService) {
  IncidentTracker tracker(Rules());
  Fleet fleet;
  fleet.Add("atm-1", "a");
  SetService(fleet["atm-1"], "withdrawal", "out_of_service", kT0);
  EXPECT_TRUE(tracker.Update(fleet.At(kT0 + 29 * kSecond)).tolerance.empty());
  const IncidentChanges half = tracker.Update(fleet.At(kT0 + 30 * kSecond));
  ASSERT_EQ(half.tolerance.size(), 1u);
  EXPECT_EQ(half.tolerance[0].second.percent, 50);
  EXPECT_EQ(half.tolerance[0].second.outage_since_unix_ns, kT0);
  EXPECT_TRUE(tracker.Update(fleet.At(kT0 + 45 * kSecond)).tolerance.empty());  // raised once
  const IncidentChanges full = tracker.Update(fleet.At(kT0 + 60 * kSecond));
  ASSERT_EQ(full.tolerance.size(), 1u);
  EXPECT_EQ(full.tolerance[0].second.percent, 100);
  // Deposit has no tolerance configured: tracked, never alerted.
  SetService(fleet["atm-1"], "deposit", "out_of_service", kT0);
  EXPECT_TRUE(tracker.Update(fleet.At(kT0 + 61 * kSecond)).tolerance.empty());

  SetService(fleet["atm-1"], "withdrawal", "in_service", kT0 + 70 * kSecond);
  const IncidentChanges back = tracker.Update(fleet.At(kT0 + 70 * kSecond));
  ASSERT_EQ(back.tolerance.size(), 2u);
  EXPECT_FALSE(back.tolerance[0].second.firing());
  EXPECT_FALSE(back.tolerance[1].second.firing());
  ASSERT_EQ(Open(tracker).size(), 1u);  // deposit is still out
}

TEST(IncidentTrackerTest, DevicesOfOneSiteShareASiteIncident) {
  IncidentTracker tracker(Rules());
  Fleet fleet;
  fleet.Add("atm-1", "a");
  fleet.Add("atm-2", "a");
  fleet.Add("atm-3", "b");
  SetService(fleet["atm-1"], "withdrawal", "out_of_service", kT0);
  tracker.Update(fleet.At(kT0 + kSecond));
  SetService(fleet["atm-2"], "deposit", "out_of_service", kT0 + 5 * kSecond);
  SetService(fleet["atm-3"], "deposit", "out_of_service", kT0 + 5 * kSecond);
  tracker.Update(fleet.At(kT0 + 6 * kSecond));
  const std::vector<const Incident*> open = Open(tracker);
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0]->scope, "site");
  EXPECT_EQ(open[0]->devices.size(), 2u);
  EXPECT_EQ(open[1]->scope, "device");
  EXPECT_EQ(open[1]->site_id, "b");
}

TEST(IncidentTrackerTest, ManyDevicesFailingWithinTheWindowMergeIntoOneFleetIncident) {
  IncidentTracker tracker(Rules());
  Fleet fleet;
  for (int i = 0; i < 20; ++i) fleet.Add(fmt::format("atm-{:02}", i), fmt::format("s{}", i));
  tracker.Update(fleet.At(kT0));
  std::vector<std::pair<std::int64_t, std::int64_t>> merged;
  // Three at first, then one every 10 s: the fifth makes it a mass failure.
  for (int i = 0; i < 12; ++i) {
    const std::int64_t at = kT0 + (i < 3 ? 1 : i * 10) * kSecond;
    SetService(fleet[fmt::format("atm-{:02}", i)], "withdrawal", "out_of_service", at);
    const IncidentChanges changes = tracker.Update(fleet.At(at));
    merged.insert(merged.end(), changes.merged.begin(), changes.merged.end());
  }
  const std::vector<const Incident*> open = Open(tracker);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0]->scope, "fleet");
  EXPECT_TRUE(open[0]->site_id.empty());
  EXPECT_EQ(open[0]->devices.size(), 12u);
  EXPECT_EQ(open[0]->started_unix_ns, kT0 + kSecond);
  EXPECT_EQ(merged.size(), 3u);  // the first four incidents became one
  ASSERT_EQ(open[0]->services.size(), 1u);
  EXPECT_EQ(open[0]->services[0].devices_lost, 12);

  // A device failing long after the mass failure stops gathering is its own.
  const std::int64_t later = kT0 + 600 * kSecond;
  SetService(fleet["atm-19"], "deposit", "out_of_service", later);
  tracker.Update(fleet.At(later));
  EXPECT_EQ(Open(tracker).size(), 2u);
}

TEST(IncidentTrackerTest, RestoredTrackerCarriesOnItsOpenIncidents) {
  IncidentTracker first(Rules());
  Fleet fleet;
  fleet.Add("atm-1", "a");
  SetService(fleet["atm-1"], "withdrawal", "out_of_service", kT0);
  first.Update(fleet.At(kT0 + kSecond));
  std::vector<Incident> open;
  for (const Incident* incident : Open(first)) open.push_back(*incident);

  IncidentTracker second(Rules());
  second.Restore(open, 7);
  EXPECT_EQ(second.IncidentOf("atm-1"), open[0].id);
  EXPECT_TRUE(second.Update(fleet.At(kT0 + 2 * kSecond)).changed.empty());
  SetService(fleet["atm-1"], "withdrawal", "in_service", kT0 + 3 * kSecond);
  second.Update(fleet.At(kT0 + 3 * kSecond));
  EXPECT_FALSE(second.Find(open[0].id)->open());
  // New incidents get ids above the stored ones.
  SetService(fleet["atm-1"], "withdrawal", "out_of_service", kT0 + 4 * kSecond);
  const IncidentChanges again = second.Update(fleet.At(kT0 + 4 * kSecond));
  ASSERT_EQ(again.changed.size(), 1u);
  EXPECT_EQ(again.changed[0], 7);
}

}  // namespace
}  // namespace atmhealth::collector::fleet
