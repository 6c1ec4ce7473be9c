// Alert forwarding to the real Prometheus Alertmanager (Debian's
// prometheus-alertmanager), started by the test on a free port: a device
// alert and the impact-tolerance alerts it leads to arrive firing, then
// resolved; an Alertmanager that is not up yet gets them once it is.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/fleet_support.h"
#include "tests/integration/harness.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// A port nothing listens on now (bound, then released).
class RealAlertmanager {
 public:
  RealAlertmanager(const std::filesystem::path& dir, std::uint16_t port) : port_(port) {
    std::filesystem::create_directories(dir / "data");
    WriteFile(dir / "alertmanager.yml", "route:\n  receiver: noc\nreceivers:\n  - name: noc\n");
    process_ = std::make_unique<Process>(
        FindOnPath("prometheus-alertmanager"),
        std::vector<std::string>{"--config.file=" + (dir / "alertmanager.yml").string(),
                                 "--storage.path=" + (dir / "data").string(),
                                 fmt::format("--web.listen-address=127.0.0.1:{}", port),
                                 "--cluster.listen-address=", "--log.level=debug"},
        dir / "alertmanager.log");
  }

  bool Ready() {
    return WaitFor(
        [&] {
          Result<HttpReply> reply = HttpGet(port_, "/-/ready");
          return reply.ok() && reply->status == 200;
        },
        seconds(30));
  }

  // GET /api/v2/alerts: the alerts Alertmanager holds as not yet ended.
  json Alerts() {
    Result<HttpReply> reply = HttpGet(port_, "/api/v2/alerts");
    if (!reply || reply->status != 200) return json::array();
    json alerts = json::parse(reply->body, nullptr, false);
    return alerts.is_array() ? alerts : json::array();
  }

  // The held alerts whose label `name` is `value`.
  json AlertsWith(const std::string& name, const std::string& value) {
    json found = json::array();
    for (const json& alert : Alerts()) {
      if (alert["labels"].value(name, "") == value) found.push_back(alert);
    }
    return found;
  }

  Process& process() { return *process_; }

 private:
  std::uint16_t port_;
  std::unique_ptr<Process> process_;
};

class AlertmanagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (FindOnPath("prometheus-alertmanager").empty()) {
      GTEST_SKIP() << "prometheus-alertmanager is not installed: forwarding cannot be tested "
                      "against the real one (scripts/install-deps.sh installs it)";
    }
  }

  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  ScratchDir scratch_;
};

TEST_F(AlertmanagerTest, AlertAndToleranceBreachesArriveFiringThenResolvedAfterRetries) {
  const std::uint16_t port = FreePort();
  CollectorProcess collector(
      scratch_ / "collector", scratch_ / "collector" / "collector.db", 0,
      "[listen]\nplaintext = true\n\n" + FleetConfigToml() +
          fmt::format("[alertmanager]\nurls = [\"http://127.0.0.1:{}\"]\nresend_interval = \"1m\"\n"
                      "retry_initial_delay = \"100ms\"\nretry_max_delay = \"400ms\"\n\n",
                      port) +
          "[fleet]\nevaluate_interval = \"100ms\"\n\n[fleet.tolerance]\nwithdrawal = \"2s\"\n");
  ASSERT_NE(collector.http_port(), 0);
  SimulatedAgent agent(collector.agent_port(), "atm-am-01", "branch-shinjuku");
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  ASSERT_TRUE(agent.FireCritical(1, "storage:/var/spool/ej", {"withdrawal"}));
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "out_of_service"}, {"deposit", "in_service"}},
                              "storage:/var/spool/ej"));

  // Alertmanager is not up yet: the collector keeps retrying.
  const std::string failed = fmt::format(
      "atmhealth_collector_alertmanager_posts_failed_total{{alertmanager=\"http://127.0.0.1:{}\"}}",
      port);
  ASSERT_TRUE(WaitFor([&] { return collector.Metric(failed) >= 2; }, seconds(10)));

  RealAlertmanager alertmanager(scratch_ / "alertmanager", port);
  ASSERT_TRUE(alertmanager.Ready()) << alertmanager.process().Log();

  json device_alert;
  ASSERT_TRUE(WaitFor(
      [&] {
        const json alerts = alertmanager.AlertsWith("device", "atm-am-01");
        if (alerts.empty()) return false;
        device_alert = alerts[0];
        return true;
      },
      seconds(10)))
      << alertmanager.Alerts().dump();
  EXPECT_EQ(device_alert["labels"]["alertname"], "atmhealth_storage");
  EXPECT_EQ(device_alert["labels"]["severity"], "critical");
  EXPECT_EQ(device_alert["labels"]["category"], "daily_operation_storage");
  EXPECT_EQ(device_alert["labels"]["site"], "branch-shinjuku");
  EXPECT_EQ(device_alert["labels"]["alert_key"], "storage:/var/spool/ej");
  EXPECT_EQ(device_alert["status"]["state"], "active");

  // The withdrawal outage passes 50 % and 100 % of its 2 s tolerance.
  ASSERT_TRUE(WaitFor(
      [&] {
        return alertmanager.AlertsWith("alertname", "atmhealth_impact_tolerance").size() == 2;
      },
      seconds(10)))
      << alertmanager.Alerts().dump();
  for (const json& alert : alertmanager.AlertsWith("alertname", "atmhealth_impact_tolerance")) {
    EXPECT_EQ(alert["labels"]["service"], "withdrawal");
    EXPECT_EQ(alert["labels"]["severity"],
              alert["labels"]["percent"] == "100" ? "critical" : "warning")
        << alert.dump();
  }

  // Resolved: Alertmanager ends all three now, minutes before the endsAt
  // of their firing state (4 x resend_interval) would have.
  ASSERT_TRUE(agent.Resolve(2, "storage:/var/spool/ej"));
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  EXPECT_TRUE(WaitFor([&] { return alertmanager.Alerts().empty(); }, seconds(10)))
      << alertmanager.Alerts().dump();
  EXPECT_GE(collector.Metric(fmt::format(
                "atmhealth_collector_alertmanager_alerts_sent_total{{alertmanager=\"http://"
                "127.0.0.1:{}\"}}",
                port)),
            6);  // three firing, three resolved
  EXPECT_EQ(collector.Metric(fmt::format(
                "atmhealth_collector_alertmanager_alerts_dropped_total{{alertmanager=\"http://"
                "127.0.0.1:{}\"}}",
                port)),
            0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
