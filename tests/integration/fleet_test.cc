// The operations centre's and the customers' view of the fleet, end to end:
// a real collector process, real agents or simulated ones (AgentClient)
// speaking the real protocol, and the HTTP API, event stream and
// availability feed read over real HTTP.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "atmhealth/v1/session.pb.h"
#include "collector/http/access_control.h"
#include "tests/integration/fleet_support.h"
#include "tests/integration/harness.h"
#include "tests/support/agent_client.h"
#include "tests/support/http_client.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class FleetTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  std::unique_ptr<CollectorProcess> StartCollector(const std::string& config = "") {
    auto collector = std::make_unique<CollectorProcess>(
        scratch_ / "collector", scratch_ / "collector" / "collector.db", 0,
        "[listen]\nplaintext = true\n\n" + FleetConfigToml() + config);
    return collector;
  }

  ScratchDir scratch_;
};

TEST_F(FleetTest, DeviceTurnsUnreachableAfterMissedHeartbeatsAndBack) {
  TmpfsMount fs(scratch_ / "fs", "size=4m");
  ASSERT_TRUE(fs.mounted());
  auto collector =
      StartCollector("[fleet]\nmissed_heartbeats = 3\nevaluate_interval = \"100ms\"\n");
  ASSERT_NE(collector->http_port(), 0);
  StreamReader stream(collector->http_port(), "/api/v1/stream", ReadAuth());

  AgentOptions options;
  options.device_id = "atm-hung-01";
  options.collector_port = collector->agent_port();
  options.watched = fs.path();
  options.store = scratch_ / "agent.events.db";
  options.heartbeat_interval = "300ms";
  AgentProcess agent(scratch_ / "agent", options);

  const auto device_state = [&] {
    const json device = GetJson(collector->http_port(), "/api/v1/device?id=atm-hung-01");
    return device.is_object() ? device.value("state", "") : "";
  };
  ASSERT_TRUE(WaitFor([&] { return device_state() == "in_service"; }, seconds(20)));

  // The agent hangs: its connection stays open, its heartbeats stop.
  agent.process().Signal(SIGSTOP);
  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return device_state() == "unreachable"; }, seconds(10)));
  // Three missed intervals of 300 ms, not sooner.
  EXPECT_GE(std::chrono::steady_clock::now() - stopped_at, milliseconds(600));
  const json device = GetJson(collector->http_port(), "/api/v1/device?id=atm-hung-01");
  EXPECT_FALSE(device["reachable"].get<bool>());
  EXPECT_TRUE(device["unreachable_since"].is_string());
  for (const json& service : device["services"]) {
    EXPECT_EQ(service["state"], "unknown") << service.dump();
    EXPECT_FALSE(service["available"].get<bool>());
  }
  const json fleet = GetJson(collector->http_port(), "/api/v1/fleet");
  EXPECT_EQ(fleet["by_state"]["unreachable"], 1);
  EXPECT_EQ(fleet["by_state"]["in_service"], 0);

  agent.process().Signal(SIGCONT);
  ASSERT_TRUE(WaitFor([&] { return device_state() == "in_service"; }, seconds(10)));
  EXPECT_TRUE(WaitFor(
      [&] { return collector->Metric("atmhealth_fleet_devices{state=\"in_service\"}") == 1; },
      seconds(5)));
  EXPECT_EQ(collector->Metric("atmhealth_fleet_devices{state=\"unreachable\"}"), 0);

  // The dashboard saw it live: device events in this order.
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::vector<json> events = StreamEvents(stream.Text(), "device");
        std::vector<std::string> states;
        for (const json& event : events) states.push_back(event["state"]);
        const auto up = std::find(states.begin(), states.end(), "in_service");
        const auto down = std::find(up, states.end(), "unreachable");
        return down != states.end() && std::find(down, states.end(), "in_service") != states.end();
      },
      seconds(5)))
      << stream.Text();
  // The device's incident opened and closed with it.
  const json incidents = GetJson(collector->http_port(), "/api/v1/incidents?status=all");
  ASSERT_EQ(incidents["incidents"].size(), 1u) << incidents.dump();
  EXPECT_EQ(incidents["incidents"][0]["status"], "closed");
  EXPECT_EQ(incidents["incidents"][0]["categories"], json::array({"unreachable"}));
}

TEST_F(FleetTest, OutageCrossesHalfThenAllOfItsToleranceAndResolvesWhenServiceReturns) {
  auto collector = StartCollector(
      "[fleet]\nevaluate_interval = \"100ms\"\n\n[fleet.tolerance]\nwithdrawal = \"2s\"\n");
  ASSERT_NE(collector->http_port(), 0);
  SimulatedAgent agent(collector->agent_port(), "atm-outage-01", "site-outage");
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  ASSERT_TRUE(agent.FireCritical(1, "storage:/var/spool/ej", {"withdrawal"}));
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "out_of_service"}, {"deposit", "in_service"}},
                              "storage:/var/spool/ej"));

  std::optional<std::chrono::steady_clock::time_point> half_seen;
  std::optional<std::chrono::steady_clock::time_point> full_seen;
  json incident;
  ASSERT_TRUE(WaitFor(
      [&] {
        const json open = GetJson(collector->http_port(), "/api/v1/incidents?status=open");
        if (!open.is_object() || open["incidents"].empty()) return false;
        incident = open["incidents"][0];
        for (const json& alert : incident["tolerance_alerts"]) {
          if (alert["percent"] == 50 && !half_seen) half_seen = std::chrono::steady_clock::now();
          if (alert["percent"] == 100 && !full_seen) full_seen = std::chrono::steady_clock::now();
        }
        return full_seen.has_value();
      },
      seconds(10)));
  ASSERT_TRUE(half_seen.has_value());
  EXPECT_LT(*half_seen, *full_seen) << "50 % must be raised before 100 %";
  ASSERT_EQ(incident["tolerance_alerts"].size(), 2u) << incident.dump();
  EXPECT_EQ(incident["tolerance_alerts"][0]["service"], "withdrawal");
  EXPECT_EQ(incident["tolerance_alerts"][0]["state"], "firing");
  EXPECT_EQ(incident["tolerance_alerts"][0]["tolerance_ms"], 2000);
  EXPECT_EQ(incident["categories"], json::array({"daily_operation_storage"}));
  EXPECT_EQ(incident["alert_keys"], json::array({"storage:/var/spool/ej"}));
  EXPECT_TRUE(WaitFor(
      [&] {
        return collector->Metric(
                   "atmhealth_fleet_tolerance_alerts_firing{percent=\"100\","
                   "service=\"withdrawal\"}") == 1;
      },
      seconds(5)));
  const json fleet = GetJson(collector->http_port(), "/api/v1/fleet");
  EXPECT_EQ(fleet["tolerance_alerts_firing"], 2);

  // The disk has room again and withdrawal is back: both tolerance alerts
  // resolve, the incident closes.
  ASSERT_TRUE(agent.Resolve(2, "storage:/var/spool/ej"));
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  ASSERT_TRUE(WaitFor(
      [&] {
        const json all = GetJson(collector->http_port(), "/api/v1/incidents?status=all");
        return all.is_object() && all["incidents"].size() == 1 &&
               all["incidents"][0]["status"] == "closed";
      },
      seconds(5)));
  const json closed = GetJson(collector->http_port(), "/api/v1/incidents?status=recent");
  ASSERT_EQ(closed["incidents"].size(), 1u);
  for (const json& alert : closed["incidents"][0]["tolerance_alerts"]) {
    EXPECT_EQ(alert["state"], "resolved") << alert.dump();
  }
  EXPECT_EQ(closed["incidents"][0]["services"][0]["service"], "withdrawal");
  EXPECT_FALSE(closed["incidents"][0]["services"][0]["lost"].get<bool>());
  EXPECT_EQ(collector->Metric("atmhealth_fleet_tolerance_alerts_raised_total{percent=\"50\","
                              "service=\"withdrawal\"}"),
            1);
}

// The FSA-category report of a period, from the API and from the command
// line on the same database while the collector writes it: a storage outage
// that broke its tolerance and ended, another still open, and a device that
// stopped reporting.
TEST_F(FleetTest, FsaReportCountsAPeriodsIncidentsByCategoryInTheApiAndOnTheCommandLine) {
  auto collector = StartCollector(
      "[fleet]\nmissed_heartbeats = 3\nevaluate_interval = \"100ms\"\n\n"
      "[fleet.tolerance]\nwithdrawal = \"1s\"\n");
  ASSERT_NE(collector->http_port(), 0);
  const std::uint16_t http = collector->http_port();
  const auto incidents_with = [&](const std::string& query, std::size_t count) {
    return WaitFor(
        [&] {
          const json list = GetJson(http, "/api/v1/incidents?" + query);
          return list.is_object() && list["incidents"].size() == count;
        },
        seconds(10));
  };

  SimulatedAgent ended(collector->agent_port(), "atm-report-01", "site-a");
  ASSERT_TRUE(ended.ok());
  ASSERT_TRUE(ended.Heartbeat({{"withdrawal", "in_service"}}));
  ASSERT_TRUE(ended.FireCritical(1, "storage:/var/spool/ej", {"withdrawal"}));
  ASSERT_TRUE(ended.Heartbeat({{"withdrawal", "out_of_service"}}, "storage:/var/spool/ej"));
  ASSERT_TRUE(WaitFor(
      [&] {
        const json open = GetJson(http, "/api/v1/incidents?status=open");
        return open.is_object() && !open["incidents"].empty() &&
               open["incidents"][0]["tolerance_alerts"].size() == 2;
      },
      seconds(10)));
  ASSERT_TRUE(ended.Resolve(2, "storage:/var/spool/ej"));
  ASSERT_TRUE(ended.Heartbeat({{"withdrawal", "in_service"}}));
  ASSERT_TRUE(incidents_with("status=open", 0));

  SimulatedAgent still_open(collector->agent_port(), "atm-report-02", "site-b");
  ASSERT_TRUE(still_open.ok());
  // Deposit keeps its default tolerance of an hour: this outage's tolerance
  // alerts stay as they are while the report is read twice.
  ASSERT_TRUE(still_open.Heartbeat({{"deposit", "in_service"}}));
  ASSERT_TRUE(still_open.FireCritical(1, "storage:/var", {"deposit"}));
  ASSERT_TRUE(still_open.Heartbeat({{"deposit", "out_of_service"}}, "storage:/var"));
  {
    SimulatedAgent silent(collector->agent_port(), "atm-report-03", "site-c");
    ASSERT_TRUE(silent.ok());
    // Deposit too: withdrawal's 1 s tolerance would be breached by this
    // outage while the test reads the report.
    ASSERT_TRUE(silent.Heartbeat({{"deposit", "in_service"}}, "", 200));
  }  // and then nothing: unreachable after three missed 200 ms heartbeats
  ASSERT_TRUE(incidents_with("status=all", 3));

  // The API and the command line read the report a moment apart, while the
  // outages go on: both read the same period, ending at a second that has
  // passed, so what changes after it cannot make them differ.
  const auto period_end = std::chrono::ceil<seconds>(std::chrono::system_clock::now()) + seconds(1);
  std::this_thread::sleep_until(period_end + milliseconds(50));
  const std::time_t end_time = std::chrono::system_clock::to_time_t(period_end);
  std::tm end_utc{};
  gmtime_r(&end_time, &end_utc);
  char to[32];
  std::strftime(to, sizeof to, "%Y-%m-%dT%H:%M:%SZ", &end_utc);
  Result<HttpReply> csv = HttpExchange(
      http, "GET /api/v1/reports/fsa?format=csv&to=" + std::string(to) +
                " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + ReadAuth() + "Connection: close\r\n\r\n");
  ASSERT_TRUE(csv.ok()) << csv.error().message();
  ASSERT_EQ(csv->status, 200u) << csv->body;
  EXPECT_EQ(csv->headers["Content-Type"], "text/csv; charset=utf-8");
  const auto row = [](const std::string& text, const std::string& category) {
    const std::size_t at = text.find("\n" + category + ",");
    if (at == std::string::npos) return std::string();
    return text.substr(at + 1, text.find('\r', at) - at - 1);
  };
  // Incidents, open at the end, devices, services, breaches, ids: the
  // fields of the category's line without its description and times.
  const auto counts = [&](const std::string& text, const std::string& category) {
    const std::string line = row(text, category);
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (const char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.emplace_back();
      } else {
        fields.back() += c;
      }
    }
    if (fields.size() != 10) return std::vector<std::string>{"line: " + line};
    return std::vector<std::string>{fields[2], fields[3], fields[6],
                                    fields[7], fields[8], fields[9]};
  };
  EXPECT_EQ(counts(csv->body, "daily_operation_storage"),
            (std::vector<std::string>{"2", "1", "2", "deposit withdrawal", "1", "1 2"}))
      << csv->body;
  EXPECT_EQ(counts(csv->body, "unreachable"),
            (std::vector<std::string>{"1", "1", "1", "deposit", "0", "3"}))
      << csv->body;
  EXPECT_EQ(counts(csv->body, "all"),
            (std::vector<std::string>{"3", "2", "3", "deposit withdrawal", "1", "1 2 3"}))
      << csv->body;

  const json report = GetJson(http, "/api/v1/reports/fsa?from=1h");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["total"]["incidents"], 3);
  EXPECT_FALSE(report["truncated"].get<bool>());
  Result<HttpReply> reversed =
      HttpExchange(http,
                   "GET /api/v1/reports/fsa?from=2026-12-01&to=2026-11-01 HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\n" +
                       ReadAuth() + "Connection: close\r\n\r\n");
  ASSERT_TRUE(reversed.ok());
  EXPECT_EQ(reversed->status, 400u);
  EXPECT_EQ(json::parse(reversed->body)["parameter"], "from") << reversed->body;

  // The same report from the command line, read-only beside the running
  // collector; a period before any incident counts none.
  const std::filesystem::path database = scratch_ / "collector" / "collector.db";
  const auto run = [&](const std::vector<std::string>& args, const std::string& name) {
    Process process(Binary("collector/atmhealth-collector"), args, scratch_ / name);
    const int code = process.Wait(seconds(20)).value_or(-1);
    return std::pair(code, process.Log());
  };
  const auto [code, cli_csv] =
      run({"--db", database, "report", "--format", "csv", "--to", to}, "report.log");
  ASSERT_EQ(code, 0) << cli_csv;
  for (const char* category : {"daily_operation_storage", "unreachable", "all"}) {
    EXPECT_EQ(counts(cli_csv, category), counts(csv->body, category)) << cli_csv;
  }
  const auto [old_code, old_json] =
      run({"--db", database, "report", "--from", "2001-01-01", "--to", "2001-02-01"}, "old.log");
  ASSERT_EQ(old_code, 0) << old_json;
  EXPECT_EQ(json::parse(old_json)["total"]["incidents"], 0);
  EXPECT_EQ(json::parse(old_json)["from"].get<std::string>().substr(0, 7), "2001-01") << old_json;

  const auto [bad_code, bad_text] = run({"--db", database, "report", "--from", "soon"}, "bad.log");
  EXPECT_EQ(bad_code, 2);
  EXPECT_NE(bad_text.find("--from: \"soon\""), std::string::npos) << bad_text;
  const std::filesystem::path missing = scratch_ / "no-such.db";
  const auto [missing_code, missing_text] = run({"--db", missing, "report"}, "missing.log");
  EXPECT_EQ(missing_code, 1) << missing_text;
  EXPECT_FALSE(std::filesystem::exists(missing));
}

// Retention under ingest: events older than [retention] events are deleted in
// small batches while an agent keeps sending, every event sent is stored and
// acknowledged, and the device's current state (its firing alert, its
// services, the event behind the alert) survives the purge.
TEST_F(FleetTest, RetentionPurgesOldEventsUnderIngestAndKeepsEachDevicesLatestState) {
  auto collector = StartCollector(
      "[store]\nheartbeat_history = \"100ms\"\n\n"
      "[fleet]\nevaluate_interval = \"100ms\"\n\n"
      "[retention]\nevents = \"1s\"\ninterval = \"200ms\"\nbatch_rows = 50\n");
  ASSERT_NE(collector->http_port(), 0);
  const std::uint16_t http = collector->http_port();
  SimulatedAgent agent(collector->agent_port(), "atm-retain-01", "site-a");
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(agent.FireCritical(1, "storage:/var/spool/ej", {"withdrawal"}));
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "out_of_service"}, {"deposit", "in_service"}},
                              "storage:/var/spool/ej"));

  // 400 more events over about three seconds: a temp directory filling and
  // emptying, while passes of at most 50 deletes run every 200 ms.
  constexpr std::uint64_t kCycles = 200;
  std::uint64_t seq = 1;
  for (std::uint64_t i = 0; i < kCycles; ++i) {
    ASSERT_TRUE(agent.FireCritical(++seq, "storage:/tmp", {}));
    ASSERT_TRUE(agent.Resolve(++seq, "storage:/tmp"));
    std::this_thread::sleep_for(milliseconds(15));
  }
  EXPECT_EQ(collector->Metric("atmhealth_collector_events_stored_total"), 1 + 2 * kCycles);
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "out_of_service"}, {"deposit", "in_service"}},
                              "storage:/var/spool/ej"));

  // Everything but the latest event of each alert goes.
  const double purgeable = 2 * kCycles - 1;
  ASSERT_TRUE(WaitFor(
      [&] { return collector->Metric("atmhealth_collector_purged_events_total") == purgeable; },
      seconds(15)))
      << collector->Metric("atmhealth_collector_purged_events_total");
  EXPECT_EQ(collector->Metric("atmhealth_collector_purge_failures_total"), 0);
  // The heartbeat history of three seconds ago goes too; the latest stays.
  EXPECT_TRUE(
      WaitFor([&] { return collector->Metric("atmhealth_collector_purged_heartbeats_total") >= 1; },
              seconds(15)));
  std::this_thread::sleep_for(milliseconds(500));  // a few more passes find nothing
  EXPECT_EQ(collector->Metric("atmhealth_collector_purged_events_total"), purgeable);

  const json device = GetJson(http, "/api/v1/device?id=atm-retain-01");
  ASSERT_TRUE(device.is_object());
  EXPECT_EQ(device["state"], "out_of_service") << device.dump();
  ASSERT_EQ(device["firing_alerts"].size(), 1u) << device.dump();
  EXPECT_EQ(device["firing_alerts"][0]["alert_key"], "storage:/var/spool/ej");
  EXPECT_EQ(device["firing_alerts"][0]["summary"], "storage:/var/spool/ej is full");
  std::vector<std::int64_t> kept;
  for (const json& event : device["alert_history"]) kept.push_back(event["seq"]);
  EXPECT_EQ(kept, (std::vector<std::int64_t>{static_cast<std::int64_t>(seq), 1})) << device.dump();
  EXPECT_GT(collector->Metric("atmhealth_collector_database_bytes"), 0);
}

TEST_F(FleetTest, EightyOfHundredDevicesFailingWithinTwoMinutesOpenOneCorrelatedIncident) {
  auto collector = StartCollector(
      "[fleet]\nevaluate_interval = \"200ms\"\ncorrelation_window = \"2m\"\n"
      "correlation_min_devices = 10\n");
  ASSERT_NE(collector->http_port(), 0);
  std::vector<std::unique_ptr<SimulatedAgent>> agents;
  for (int i = 0; i < 100; ++i) {
    // Every device at a site of its own, so that site grouping cannot be
    // what puts them together.
    agents.push_back(std::make_unique<SimulatedAgent>(
        collector->agent_port(), fmt::format("atm-mass-{:03}", i), fmt::format("site-{:03}", i)));
    ASSERT_TRUE(agents.back()->ok()) << i;
    ASSERT_TRUE(
        agents.back()->Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        const json fleet = GetJson(collector->http_port(), "/api/v1/fleet");
        return fleet.is_object() && fleet["by_state"]["in_service"] == 100;
      },
      seconds(10)));

  // 80 fail one after another, spread over a few seconds (well within two
  // minutes), so that several evaluations see them arrive.
  for (int i = 0; i < 80; ++i) {
    ASSERT_TRUE(agents[i]->Heartbeat({{"withdrawal", "out_of_service"}, {"deposit", "in_service"}},
                                     "host:unreachable"));
    if (i % 10 == 9) std::this_thread::sleep_for(milliseconds(250));
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        const json fleet = GetJson(collector->http_port(), "/api/v1/fleet");
        return fleet.is_object() && fleet["by_state"]["out_of_service"] == 80;
      },
      seconds(10)));
  ASSERT_TRUE(WaitFor(
      [&] {
        const json open = GetJson(collector->http_port(), "/api/v1/incidents?status=open");
        return open.is_object() && open["incidents"].size() == 1 &&
               open["incidents"][0]["device_count"] == 80;
      },
      seconds(5)));
  const json open = GetJson(collector->http_port(), "/api/v1/incidents?status=all");
  ASSERT_EQ(open["incidents"].size(), 1u) << "not one incident per device";
  const json& incident = open["incidents"][0];
  EXPECT_EQ(incident["scope"], "fleet");
  EXPECT_TRUE(incident["site_id"].is_null());
  std::set<std::string> listed;
  for (const json& device : incident["devices"]) listed.insert(device["device_id"]);
  EXPECT_EQ(listed.size(), 80u);
  EXPECT_TRUE(listed.contains("atm-mass-000"));
  EXPECT_TRUE(listed.contains("atm-mass-079"));
  EXPECT_FALSE(listed.contains("atm-mass-080"));
  ASSERT_EQ(incident["services"].size(), 1u);
  EXPECT_EQ(incident["services"][0]["service"], "withdrawal");
  EXPECT_EQ(incident["services"][0]["devices_lost"], 80);
  EXPECT_TRUE(WaitFor([&] { return collector->Metric("atmhealth_fleet_incidents_open") == 1; },
                      seconds(5)));
  // The stored table agrees: one row.
  EXPECT_EQ(QueryInt(collector->db(), "SELECT count(*) FROM incidents"), 1);
}

TEST_F(FleetTest, AvailabilityFeedNamesNearestOpenInServiceAtmAndAnswersNotModified) {
  WriteFile(scratch_ / "sites.toml", NearbySitesToml());
  auto collector =
      StartCollector("[fleet]\nevaluate_interval = \"100ms\"\nsites_file = \"" +
                     (scratch_ / "sites.toml").string() + "\"\n\n[api]\nfeed_max_age = \"15s\"\n");
  ASSERT_NE(collector->http_port(), 0);
  std::map<std::string, std::unique_ptr<SimulatedAgent>> agents;
  for (const auto& [device, site] :
       std::map<std::string, std::string>{{"atm-central", "central"},
                                          {"atm-closed", "closed-mall"},
                                          {"atm-near", "near-1km"},
                                          {"atm-far", "far-5km"}}) {
    agents[device] = std::make_unique<SimulatedAgent>(collector->agent_port(), device, site);
    ASSERT_TRUE(agents[device]->ok());
    ASSERT_TRUE(
        agents[device]->Heartbeat({{"withdrawal", "in_service"}, {"deposit", "in_service"}}));
  }
  ASSERT_TRUE(agents["atm-central"]->Heartbeat(
      {{"withdrawal", "out_of_service"}, {"deposit", "in_service"}}, "storage:/var/spool/ej"));

  const auto central = [&](const json& feed) -> json {
    for (const json& site : feed["sites"]) {
      if (site["site_id"] == "central") return site;
    }
    return nullptr;
  };
  HttpReply first;
  ASSERT_TRUE(WaitFor(
      [&] {
        Result<HttpReply> reply = HttpGet(collector->http_port(), "/api/v1/availability");
        if (!reply || reply->status != 200) return false;
        first = *reply;
        const json site = central(json::parse(first.body));
        const json::json_pointer withdrawal_available("/services/1/available");
        return site.is_object() && site.contains(withdrawal_available) &&
               site[withdrawal_available] == false;
      },
      seconds(10)));
  // Not const: a missing element reads as null instead of undefined behaviour.
  json site = central(json::parse(first.body));
  ASSERT_TRUE(site.is_object());
  EXPECT_EQ(site["name"], "Central Station");
  EXPECT_EQ(site["services"][0]["service"], "deposit");
  EXPECT_EQ(site["services"][0]["available"], true);
  json& withdrawal = site["services"][1];
  EXPECT_EQ(withdrawal["service"], "withdrawal");
  EXPECT_TRUE(withdrawal["out_since"].is_string());
  // The closed mall 200 m away is passed over; the next is 1 km away.
  ASSERT_GE(withdrawal["nearest"].size(), 2u) << withdrawal.dump();
  EXPECT_EQ(withdrawal["nearest"][0]["device_id"], "atm-near");
  EXPECT_NEAR(withdrawal["nearest"][0]["distance_m"].get<double>(), 1000, 15);
  EXPECT_EQ(withdrawal["nearest"][1]["device_id"], "atm-far");
  json& device = site["devices"][0];
  EXPECT_EQ(device["device_id"], "atm-central");
  EXPECT_FALSE(device["in_service"].get<bool>());
  EXPECT_EQ(device["services"][1]["nearest"][0]["device_id"], "atm-near");

  // Public, cacheable, and conditional.
  ASSERT_TRUE(first.headers.contains("ETag"));
  EXPECT_EQ(first.headers["Cache-Control"], "public, max-age=15");
  const std::string etag = first.headers["ETag"];
  Result<HttpReply> again = HttpGetWith(collector->http_port(), "/api/v1/availability",
                                        "If-None-Match: " + etag + "\r\n");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 304u);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(again->headers["ETag"], etag);

  // The nearest one fails too: the feed changes, its tag with it, and the
  // customer is sent 5 km.
  ASSERT_TRUE(agents["atm-near"]->Heartbeat(
      {{"withdrawal", "out_of_service"}, {"deposit", "in_service"}}, "storage:/var/spool/ej"));
  json changed;
  ASSERT_TRUE(WaitFor(
      [&] {
        Result<HttpReply> reply = HttpGetWith(collector->http_port(), "/api/v1/availability",
                                              "If-None-Match: " + etag + "\r\n");
        if (!reply || reply->status != 200) return false;
        EXPECT_NE(reply->headers["ETag"], etag);
        changed = central(json::parse(reply->body));
        return true;
      },
      seconds(10)));
  EXPECT_EQ(changed["services"][1]["nearest"][0]["device_id"], "atm-far");
  EXPECT_NEAR(changed["services"][1]["nearest"][0]["distance_m"].get<double>(), 5000, 50);
}

TEST_F(FleetTest, ApiRefusesRequestsWithoutAValidTokenAndAcceptsOneWithIt) {
  auto collector = StartCollector();
  ASSERT_NE(collector->http_port(), 0);
  const std::uint16_t port = collector->http_port();

  Result<HttpReply> anonymous = HttpGet(port, "/api/v1/fleet");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->status, 401u);
  EXPECT_EQ(anonymous->headers["WWW-Authenticate"], "Bearer realm=\"atmhealth\"");
  EXPECT_EQ(json::parse(anonymous->body)["error"], "missing_token");

  Result<HttpReply> wrong = HttpGetWith(port, "/api/v1/fleet", "Authorization: Bearer guess\r\n");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 401u);

  Result<HttpReply> reader = HttpGetWith(port, "/api/v1/fleet", ReadAuth());
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->status, 200u);
  EXPECT_EQ(json::parse(reader->body)["device_count"], 0);

  // A read token may not change anything; an admin token may.
  const auto post = [&](const std::string& auth) {
    return HttpExchange(port, "POST /api/v1/sites/reload HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                                  "Content-Length: 0\r\nConnection: close\r\n\r\n");
  };
  Result<HttpReply> forbidden = post(ReadAuth());
  ASSERT_TRUE(forbidden.ok());
  EXPECT_EQ(forbidden->status, 403u);
  Result<HttpReply> admin = post(AdminAuth());
  ASSERT_TRUE(admin.ok());
  // Accepted; this collector has no sites file to reload.
  EXPECT_EQ(admin->status, 422u);
  EXPECT_EQ(json::parse(admin->body)["error"], "sites_file_invalid");

  // The stream needs a token too; EventSource sends it as a query parameter.
  StreamReader refused(port, "/api/v1/stream", "");
  ASSERT_TRUE(WaitFor([&] { return refused.ended(); }, seconds(5)));
  EXPECT_EQ(refused.Text().rfind("HTTP/1.1 401", 0), 0u) << refused.Text();
  StreamReader accepted(port, "/api/v1/stream?access_token=" + std::string(kReadToken), "");
  ASSERT_TRUE(
      WaitFor([&] { return !StreamEvents(accepted.Text(), "snapshot").empty(); }, seconds(5)))
      << accepted.Text();

  // The customer feed is public.
  Result<HttpReply> feed = HttpGet(port, "/api/v1/availability");
  ASSERT_TRUE(feed.ok());
  EXPECT_EQ(feed->status, 200u);

  // Every refusal is counted by reason.
  EXPECT_EQ(
      collector->Metric("atmhealth_collector_http_access_refused_total{reason=\"missing_token\"}"),
      2);
  EXPECT_EQ(
      collector->Metric("atmhealth_collector_http_access_refused_total{reason=\"unknown_token\"}"),
      1);
  EXPECT_EQ(collector->Metric(
                "atmhealth_collector_http_access_refused_total{reason=\"insufficient_role\"}"),
            1);
  EXPECT_NE(ReadFile(scratch_ / "collector" / "collector.log")
                .find("refused (403): token \"noc\" has role read; this needs admin"),
            std::string::npos);
}

}  // namespace
}  // namespace atmhealth::testing
