// Transaction volume beyond capacity, end to end with the real binaries: the
// atmhealth-feed tool sends traffic to the real agent's feed socket, and the
// alerts arrive at the real collector on loopback.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/fleet_support.h"
#include "tests/integration/harness.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"

namespace atmhealth::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace std::chrono_literals;

class ThroughputIntegrationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  // An agent whose feed is sized for 10 transactions per second, judged at
  // once ("for" 0 s) over whatever part of the minute it has watched.
  // `tables`: more [throughput.*] tables.
  std::unique_ptr<AgentProcess> StartAgent(std::uint16_t port, const std::string& tables = "") {
    std::filesystem::create_directories(scratch_ / "watched");
    AgentOptions options;
    options.collector_port = port;
    options.watched = scratch_ / "watched";
    options.store = scratch_ / "atm-it-01.events.db";
    options.extra =
        "[throughput]\n"
        "interval = \"200ms\"\n"
        "socket = \"" +
        socket().string() +
        "\"\n"
        "capacity_tps = 10\n"
        "for = \"0s\"\n"
        "min_transactions = 20\n"
        "error_warning = 5\n"
        "error_critical = 20\n"
        "unavailable = [\"withdrawal\"]\n"
        "degraded = [\"deposit\"]\n" +
        tables;
    return std::make_unique<AgentProcess>(scratch_ / "agent", options);
  }

  std::filesystem::path socket() const { return scratch_ / "feed.sock"; }

  // Business hours every day in UTC, from `open` to `close` relative to now
  // (whole minutes), and a stall after 2 s of silence inside them.
  static std::string BusinessHoursToml(std::chrono::minutes open, std::chrono::minutes close) {
    const auto time_of_day = [](std::chrono::minutes offset) {
      const auto at =
          std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now()) + offset;
      const auto minutes = (at - std::chrono::floor<std::chrono::days>(at)).count();
      const auto two = [](long value) { return (value < 10 ? "0" : "") + std::to_string(value); };
      return two(minutes / 60) + ":" + two(minutes % 60);
    };
    return "[throughput.business_hours]\ntime_zone = \"UTC\"\n"
           "days = [\"sun\", \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\"]\n"
           "open = \"" +
           time_of_day(open) + "\"\nclose = \"" + time_of_day(close) + "\"\nstall_after = \"2s\"\n";
  }

  bool Connected(const std::filesystem::path& db) {
    return QueryInt(db, "SELECT count(*) FROM heartbeats WHERE device_id = 'atm-it-01'") == 1;
  }

  // Runs atmhealth-feed against the agent's socket until it exits; its JSON
  // summary.
  nlohmann::json Feed(std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", socket().string()});
    Process tool(Binary("tools/atmhealth-feed"), args, scratch_ / "feed.log");
    const auto code = tool.Wait(seconds(60));
    EXPECT_EQ(code, 0) << tool.Log();
    return nlohmann::json::parse(tool.Log());
  }

  std::optional<Row> AwaitEvent(const std::filesystem::path& db, const std::string& where,
                                milliseconds timeout = seconds(20)) {
    return AwaitCollectorEvent(db, "atm-it-01", where, timeout);
  }

  ScratchDir scratch_;
};

TEST_F(ThroughputIntegrationTest, TrafficAboveCapacityAlertsAtTheCollectorAndResolvesWhenItDrops) {
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector.db");
  auto agent = StartAgent(collector.agent_port());
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket()); }, seconds(10)));

  // 40 transactions per second for 3 s against a capacity of 10.
  const nlohmann::json burst = Feed({"--rate", "40", "--duration", "3", "--error-ratio", "0",
                                     "--decline-ratio", "0", "--garbage-ratio", "0"});
  EXPECT_NEAR(static_cast<double>(burst["transactions"].get<std::uint64_t>()), 120, 10);
  const auto fired = AwaitEvent(collector.db(),
                                "alert_key = 'throughput_capacity:all' AND state = 'firing' AND "
                                "severity = 'critical'");
  ASSERT_TRUE(fired);
  EXPECT_GE(std::stod(fired->at("value")), 100);
  EXPECT_EQ(std::stod(fired->at("threshold")), 100);
  EXPECT_EQ(fired->at("unit"), "percent");
  EXPECT_EQ(fired->at("category"), "daily_operation_volume");
  EXPECT_NE(fired->at("impact_unavailable").find("withdrawal"), std::string::npos)
      << fired->at("impact_unavailable");

  // The rate drops to 2 per second: the window's rate falls below the
  // warning level and the alert resolves.
  Process calm(Binary("tools/atmhealth-feed"),
               {"--socket", socket().string(), "--rate", "2", "--duration", "40", "--error-ratio",
                "0", "--decline-ratio", "0", "--garbage-ratio", "0"},
               scratch_ / "calm.log");
  const auto resolved = AwaitEvent(
      collector.db(), "alert_key = 'throughput_capacity:all' AND state = 'resolved'", seconds(40));
  ASSERT_TRUE(resolved);
  EXPECT_TRUE(calm.running());  // resolved while the calm traffic flows
  EXPECT_LT(std::stod(resolved->at("value")), 75);
  EXPECT_TRUE(agent->process().running());
  EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(ThroughputIntegrationTest, AnErrorBurstRaisesTheErrorRatioAlert) {
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector.db");
  auto agent = StartAgent(collector.agent_port());
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket()); }, seconds(10)));

  // Within capacity, but half of the transactions fail.
  Feed({"--rate", "8", "--duration", "4", "--error-ratio", "0.5", "--decline-ratio", "0",
        "--garbage-ratio", "0", "--seed", "3"});
  const auto fired =
      AwaitEvent(collector.db(),
                 "alert_key = 'error_ratio:all' AND state = 'firing' AND severity = 'critical'");
  ASSERT_TRUE(fired);
  EXPECT_NEAR(std::stod(fired->at("value")), 50, 20);
  EXPECT_EQ(std::stod(fired->at("threshold")), 20);
  EXPECT_EQ(fired->at("unit"), "percent");
  EXPECT_EQ(fired->at("category"), "daily_operation_volume");
  EXPECT_TRUE(CollectorEvents(collector.db(), "atm-it-01", "kind = 'throughput_capacity'").empty());
  EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(ThroughputIntegrationTest, MalformedLinesAreCountedAndValidTrafficStillAlerts) {
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector.db");
  auto agent = StartAgent(collector.agent_port());
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket()); }, seconds(10)));

  // A third of the lines are garbage; the valid ones are still above capacity.
  const nlohmann::json sent = Feed({"--rate", "40", "--duration", "3", "--garbage-ratio", "0.3",
                                    "--error-ratio", "0", "--decline-ratio", "0", "--seed", "5"});
  ASSERT_GT(sent["garbage_lines"].get<std::uint64_t>(), 10u);
  ASSERT_TRUE(
      AwaitEvent(collector.db(), "alert_key = 'throughput_capacity:all' AND state = 'firing'"));
  EXPECT_TRUE(agent->process().running());
  // The count reaches the collector in the agent's health: every garbage
  // line, and every line counted.
  const auto garbage = static_cast<std::int64_t>(sent["garbage_lines"].get<std::uint64_t>());
  const auto lines = static_cast<std::int64_t>(sent["lines"].get<std::uint64_t>());
  EXPECT_TRUE(WaitFor(
      [&] {
        return QueryInt(collector.db(),
                        "SELECT coalesce(feed_json ->> '$.lines_total', 0) FROM heartbeats") ==
               lines;
      },
      seconds(10)))
      << ::testing::PrintToString(Query(collector.db(), "SELECT feed_json FROM heartbeats"));
  EXPECT_EQ(QueryInt(collector.db(), "SELECT feed_json ->> '$.bad_lines_total' FROM heartbeats"),
            garbage);
  EXPECT_EQ(QueryInt(collector.db(),
                     "SELECT sum(value) FROM heartbeats, json_each(feed_json, '$.bad_lines')"),
            garbage);
  EXPECT_EQ(QueryInt(collector.db(), "SELECT feed_json ->> '$.tps' > 0 FROM heartbeats"), 1);
  // The agent logged the first bad lines with what was wrong.
  EXPECT_TRUE(WaitFor(
      [&] {
        return ReadFile(scratch_ / "agent" / "agent.log").find("transaction feed: datagram") !=
               std::string::npos;
      },
      seconds(5)));
  EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(ThroughputIntegrationTest, TheFleetApiShowsTheLoadOfADevice) {
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector.db", 0,
                             "[listen]\nplaintext = true\n\n" + FleetConfigToml() +
                                 "[fleet]\nevaluate_interval = \"100ms\"\n");
  auto agent = StartAgent(collector.agent_port());
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket()); }, seconds(10)));
  const std::uint16_t port = collector.http_port();
  // Before any traffic the device reports its feed, idle.
  ASSERT_TRUE(WaitFor(
      [&] {
        const nlohmann::json device = GetJson(port, "/api/v1/device?id=atm-it-01");
        return device.is_object() && device["last_heartbeat"].is_object() &&
               device["last_heartbeat"]["feed"].is_object();
      },
      seconds(10)));

  // Withdrawals only, 8 per second, measured by the agent over the part of
  // its one-minute window it has watched.
  Process traffic(
      Binary("tools/atmhealth-feed"),
      {"--socket", socket().string(), "--rate", "8", "--duration", "30", "--types", "withdrawal=1",
       "--error-ratio", "0", "--decline-ratio", "0", "--garbage-ratio", "0"},
      scratch_ / "traffic.log");
  nlohmann::json device;
  ASSERT_TRUE(WaitFor(
      [&] {
        device = GetJson(port, "/api/v1/device?id=atm-it-01");
        return device.is_object() && device["last_heartbeat"]["feed"]["tps"].get<double>() > 1;
      },
      seconds(15)))
      << device.dump();
  const nlohmann::json& feed = device["last_heartbeat"]["feed"];
  EXPECT_LT(feed["tps"].get<double>(), 40);
  EXPECT_EQ(feed["error_ratio"].get<double>(), 0);
  EXPECT_GT(feed["p99_ms"].get<double>(), 0);
  ASSERT_EQ(feed["types"].size(), 1u) << feed.dump();
  EXPECT_EQ(feed["types"][0]["type"], "withdrawal");
  EXPECT_GT(feed["types"][0]["tps"].get<double>(), 1);
  EXPECT_EQ(feed["bad_lines_total"], 0);

  // The fleet's load is the device's: one device reporting, its tps the sum.
  nlohmann::json fleet;
  ASSERT_TRUE(WaitFor(
      [&] {
        fleet = GetJson(port, "/api/v1/fleet");
        return fleet.is_object() && fleet["load"]["tps"].get<double>() > 1;
      },
      seconds(10)))
      << fleet.dump();
  EXPECT_EQ(fleet["load"]["devices_reporting"], 1);
  ASSERT_EQ(fleet["load"]["busiest"].size(), 1u);
  EXPECT_EQ(fleet["load"]["busiest"][0]["device_id"], "atm-it-01");
  EXPECT_GT(fleet["load"]["busiest"][0]["tps"].get<double>(), 1);
  traffic.Stop();
  EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(ThroughputIntegrationTest, ASlowMixRaisesTheLatencyAlert) {
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector.db");
  auto agent = StartAgent(collector.agent_port());
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket()); }, seconds(10)));

  // Well within capacity and without failures, but every transaction takes
  // about 3 s: above the 2 s warning of p99 (the default), below its 5 s
  // critical.
  Feed({"--rate", "6", "--duration", "5", "--error-ratio", "0", "--decline-ratio", "0",
        "--garbage-ratio", "0", "--latency-ms", "3000", "--latency-sigma", "0.05", "--seed", "7"});
  const auto fired = AwaitEvent(collector.db(), "alert_key = 'latency:all' AND state = 'firing'");
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->at("severity"), "warning");
  EXPECT_GT(std::stod(fired->at("value")), 2000);
  EXPECT_LT(std::stod(fired->at("value")), 5000);
  EXPECT_EQ(std::stod(fired->at("threshold")), 2000);
  EXPECT_EQ(fired->at("unit"), "milliseconds");
  EXPECT_EQ(fired->at("category"), "daily_operation_volume");
  EXPECT_TRUE(CollectorEvents(collector.db(), "atm-it-01", "kind = 'throughput_capacity'").empty());
  EXPECT_TRUE(CollectorEvents(collector.db(), "atm-it-01", "kind = 'error_ratio'").empty());
  EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(ThroughputIntegrationTest, SilenceInsideBusinessHoursRaisesTheStallAlert) {
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector.db");
  // Open from an hour ago to an hour from now, every day: the test runs
  // inside business hours whenever it runs.
  auto agent = StartAgent(collector.agent_port(), BusinessHoursToml(-60min, 60min));
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket()); }, seconds(10)));

  // Nothing is sent: the feed is silent while the branch is open.
  const auto fired = AwaitEvent(collector.db(), "alert_key = 'stall:all' AND state = 'firing'");
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->at("severity"), "critical");
  EXPECT_EQ(std::stod(fired->at("threshold")), 2);
  EXPECT_EQ(fired->at("unit"), "seconds");
  EXPECT_EQ(fired->at("category"), "daily_operation_volume");
  EXPECT_NE(fired->at("impact_unavailable").find("withdrawal"), std::string::npos)
      << fired->at("impact_unavailable");

  // Transactions end it.
  Feed({"--rate", "8", "--duration", "1", "--error-ratio", "0", "--decline-ratio", "0",
        "--garbage-ratio", "0"});
  ASSERT_TRUE(AwaitEvent(collector.db(), "alert_key = 'stall:all' AND state = 'resolved'"));
  EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(ThroughputIntegrationTest, SilenceOutsideBusinessHoursIsNoStall) {
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector.db");
  // Open two to three hours from now: closed while the test runs.
  auto agent = StartAgent(collector.agent_port(), BusinessHoursToml(120min, 180min));
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket()); }, seconds(10)));
  // The agent watches the silent feed with its business hours...
  ASSERT_TRUE(WaitFor(
      [&] {
        return ReadFile(scratch_ / "agent" / "agent.log").find("throughput: stall after 2s") !=
               std::string::npos;
      },
      seconds(5)));
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(collector.db(),
                        "SELECT count(*) FROM heartbeats WHERE feed_json ->> '$.tps' = 0") == 1;
      },
      seconds(10)));
  // ...for five times stall_after, and raises nothing.
  std::this_thread::sleep_for(seconds(10));
  EXPECT_TRUE(agent->process().running());
  EXPECT_TRUE(CollectorEvents(collector.db(), "atm-it-01", "kind = 'stall'").empty());
  EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
