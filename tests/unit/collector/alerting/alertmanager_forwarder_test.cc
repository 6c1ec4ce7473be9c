// The alerts the collector forwards to Alertmanager, and the bounded queue
// that holds them while Alertmanager does not answer.
#include "collector/alerting/alertmanager_forwarder.h"

#include <gtest/gtest.h>

#include <string>

namespace atmhealth::collector {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1'764'460'800'000'000'000;  // 2025-11-30T00:00:00Z

json DeviceAlert(const std::string& device, const std::string& state) {
  return {{"device_id", device},
          {"site_id", "branch-ginza"},
          {"alert_key", "storage:/var/spool/ej"},
          {"state", state},
          {"kind", "storage"},
          {"severity", "critical"},
          {"category", "daily_operation_storage"},
          {"summary", "/var/spool/ej is 95.0% full (critical at 90%)"},
          {"firing_since", "2025-11-29T23:50:00.000Z"}};
}

AlertmanagerAlert Alert(const std::string& device, const std::string& state) {
  return *AlertmanagerAlertFor("alert", DeviceAlert(device, state), kNow);
}

TEST(AlertmanagerAlertFor, DeviceAlertFiringAndResolvedShareTheirLabels) {
  const AlertmanagerAlert firing = Alert("atm-1", "firing");
  const AlertmanagerAlert resolved = Alert("atm-1", "resolved");
  EXPECT_TRUE(firing.firing);
  EXPECT_FALSE(resolved.firing);
  EXPECT_EQ(firing.Fingerprint(), resolved.Fingerprint());
  EXPECT_EQ(firing.body["labels"]["alertname"], "atmhealth_storage");
  EXPECT_EQ(firing.body["labels"]["device"], "atm-1");
  EXPECT_EQ(firing.body["labels"]["category"], "daily_operation_storage");
  EXPECT_EQ(firing.body["startsAt"], "2025-11-29T23:50:00.000Z");
  EXPECT_FALSE(firing.body.contains("endsAt"));  // set when sent
  EXPECT_EQ(resolved.body["endsAt"], "2025-11-30T00:00:00.000Z");
}

TEST(AlertmanagerAlertFor, ToleranceBreachIsCriticalAtFullTolerance) {
  const json tolerance = {{"incident_id", 7},
                          {"service", "withdrawal"},
                          {"percent", 100},
                          {"state", "resolved"},
                          {"outage_since", "2025-11-29T23:00:00.000Z"},
                          {"tolerance_ms", 1'800'000},
                          {"raised_at", "2025-11-29T23:30:00.000Z"},
                          {"resolved_at", "2025-11-29T23:40:00.000Z"}};
  const auto alert = AlertmanagerAlertFor("tolerance", tolerance, kNow);
  ASSERT_TRUE(alert.has_value());
  EXPECT_EQ(alert->body["labels"]["alertname"], "atmhealth_impact_tolerance");
  EXPECT_EQ(alert->body["labels"]["severity"], "critical");
  EXPECT_EQ(alert->body["labels"]["percent"], "100");
  EXPECT_EQ(alert->body["labels"]["incident"], "7");
  EXPECT_EQ(alert->body["endsAt"], "2025-11-29T23:40:00.000Z");
  EXPECT_FALSE(AlertmanagerAlertFor("device", json::object(), kNow).has_value());
}

TEST(PendingAlerts, NewerStateOfAnAlertReplacesTheWaitingOneInPlace) {
  PendingAlerts pending(8);
  EXPECT_EQ(pending.Push(Alert("atm-1", "firing")), 0u);
  EXPECT_EQ(pending.Push(Alert("atm-2", "firing")), 0u);
  EXPECT_EQ(pending.Push(Alert("atm-1", "resolved")), 0u);
  const auto taken = pending.Take(10);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].body["labels"]["device"], "atm-1");
  EXPECT_FALSE(taken[0].firing);
  EXPECT_EQ(pending.size(), 0u);
}

TEST(PendingAlerts, WhenFullTheOldestFiringAlertGoesBeforeAnyResolution) {
  PendingAlerts pending(3);
  pending.Push(Alert("atm-1", "resolved"));
  pending.Push(Alert("atm-2", "firing"));
  pending.Push(Alert("atm-3", "firing"));
  EXPECT_EQ(pending.Push(Alert("atm-4", "resolved")), 1u);
  EXPECT_EQ(pending.size(), 3u);
  std::vector<std::string> devices;
  for (const auto& alert : pending.Take(10)) devices.push_back(alert.body["labels"]["device"]);
  EXPECT_EQ(devices, (std::vector<std::string>{"atm-1", "atm-3", "atm-4"}));
}

TEST(PendingAlerts, FailedBatchGoesBackFirstUnlessANewerStateArrived) {
  PendingAlerts pending(4);
  pending.Push(Alert("atm-1", "firing"));
  pending.Push(Alert("atm-2", "firing"));
  auto batch = pending.Take(2);
  pending.Push(Alert("atm-3", "firing"));
  pending.Push(Alert("atm-2", "resolved"));  // while the POST was failing
  EXPECT_EQ(pending.PutBack(std::move(batch)), 0u);
  std::vector<std::string> order;
  for (const auto& alert : pending.Take(10)) {
    order.push_back(alert.body["labels"]["device"].get<std::string>() + (alert.firing ? "+" : "-"));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"atm-1+", "atm-3+", "atm-2-"}));
}

TEST(PendingAlerts, PutBackStaysWithinTheBound) {
  PendingAlerts pending(2);
  pending.Push(Alert("atm-1", "firing"));
  pending.Push(Alert("atm-2", "firing"));
  auto batch = pending.Take(2);
  pending.Push(Alert("atm-3", "resolved"));
  pending.Push(Alert("atm-4", "resolved"));
  EXPECT_EQ(pending.PutBack(std::move(batch)), 2u);
  EXPECT_EQ(pending.size(), 2u);
}

}  // namespace
}  // namespace atmhealth::collector
