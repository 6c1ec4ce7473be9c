// Collectors on PostgreSQL with the real binaries: a real server started by
// the test (tests/support/postgres_server.h), real collectors sharing it,
// real agents failing over between them, the server restarted under load.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <pqxx/pqxx>
#include <thread>

#include "tests/integration/fleet_support.h"
#include "tests/integration/harness.h"
#include "tests/support/http_client.h"
#include "tests/support/postgres_server.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
constexpr std::size_t kFsBytes = 4 * 1024 * 1024;
constexpr std::size_t kFillBytes = kFsBytes * 95 / 100;  // well past critical (90 %)

// One device's events as the collectors stored them: (seq, kind, state) in
// sequence order.
struct StoredEvent {
  std::int64_t seq = 0;
  std::string kind;
  std::string state;
};

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = PostgresServer::Start();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (HasFailure()) {
      PrintLogs(scratch_.path());
      if (server_ != nullptr) std::fprintf(stderr, "PostgreSQL log:\n%s\n", server_->Log().c_str());
    }
  }

  std::string CollectorToml(const std::string& more = "") const {
    return "[listen]\nplaintext = true\n\n[store]\nbackend = \"postgresql\"\nurl = \"" +
           server_->Url() + "\"\nreconnect_interval = \"200ms\"\n\n" + more;
  }
  // A collector on the test's database; `port` 0: any free port.
  std::unique_ptr<CollectorProcess> StartCollector(const std::string& name, std::uint16_t port = 0,
                                                   const std::string& more = "") {
    return std::make_unique<CollectorProcess>(scratch_ / name, scratch_ / name / "unused.db", port,
                                              CollectorToml(more));
  }

  std::int64_t Count(const std::string& sql) {
    try {
      pqxx::connection connection(server_->Url());
      pqxx::nontransaction read(connection);
      return read.exec1(sql)[0].as<std::int64_t>();
    } catch (const std::exception&) {
      return -1;  // the server is away
    }
  }
  std::vector<StoredEvent> Events(const std::string& device) {
    std::vector<StoredEvent> events;
    pqxx::connection connection(server_->Url());
    pqxx::nontransaction read(connection);
    for (const pqxx::row& row : read.exec_params(
             "SELECT seq, kind, state FROM events WHERE device_id = $1 ORDER BY seq", device)) {
      events.push_back(
          {row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    return events;
  }
  bool Connected(const std::string& device) {
    return Count("SELECT count(*) FROM heartbeats WHERE device_id = '" + device + "'") == 1;
  }

  AgentOptions Agent(const std::string& device, const std::filesystem::path& watched,
                     std::vector<std::uint16_t> ports) {
    AgentOptions options;
    options.device_id = device;
    options.collector_port = ports.front();
    options.more_collector_ports.assign(ports.begin() + 1, ports.end());
    options.watched = watched;
    options.store = scratch_ / (device + ".events.db");
    options.heartbeat_interval = "300ms";
    return options;
  }

  // Every event the agent numbered is stored exactly once, with no gap, and
  // its storage alerts alternate firing / resolved in sequence order.
  void ExpectEveryEventOnceInOrder(const AgentOptions& agent, int cycles) {
    const std::int64_t last_seq = QueryInt(agent.store, "SELECT last_seq FROM meta");
    ASSERT_TRUE(WaitFor(
        [&] {
          return Count("SELECT count(*) FROM events WHERE device_id = '" + agent.device_id + "'") ==
                 last_seq;
        },
        seconds(30)))
        << agent.device_id << ": " << last_seq << " events numbered";
    const std::vector<StoredEvent> events = Events(agent.device_id);
    ASSERT_EQ(static_cast<std::int64_t>(events.size()), last_seq);
    int storage = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      ASSERT_EQ(events[i].seq, static_cast<std::int64_t>(i + 1)) << agent.device_id;
      // Alert transitions only: a diagnostic snapshot follows each firing as a notice.
      if (events[i].kind != "storage" || events[i].state == "notice") continue;
      EXPECT_EQ(events[i].state, storage % 2 == 0 ? "firing" : "resolved")
          << agent.device_id << " seq " << events[i].seq;
      ++storage;
    }
    EXPECT_EQ(storage, 2 * cycles) << agent.device_id;
    // And the agent learns that everything is delivered.
    EXPECT_TRUE(
        WaitFor([&] { return QueryInt(agent.store, "SELECT delivered_seq FROM meta") == last_seq; },
                seconds(15)))
        << agent.device_id;
  }

  ScratchDir scratch_;
  std::unique_ptr<PostgresServer> server_;
};

// Fills and frees each filesystem once, waiting each time until its agent
// has the alert firing, then resolved, in its buffer.
void AlertCycle(const std::vector<std::pair<const TmpfsMount*, const AgentOptions*>>& devices) {
  const auto firing = [](const AgentOptions& agent) {
    return QueryInt(agent.store,
                    "SELECT count(*) FROM firing_alerts WHERE alert_key LIKE 'storage:%'");
  };
  for (const auto& [fs, agent] : devices) FillFile(fs->path() / "ballast", kFillBytes);
  for (const auto& [fs, agent] : devices) {
    ASSERT_TRUE(WaitFor([&] { return firing(*agent) == 1; }, seconds(10))) << agent->device_id;
  }
  for (const auto& [fs, agent] : devices) std::filesystem::remove(fs->path() / "ballast");
  for (const auto& [fs, agent] : devices) {
    ASSERT_TRUE(WaitFor([&] { return firing(*agent) == 0; }, seconds(10))) << agent->device_id;
  }
}

TEST_F(PostgresTest, TwoCollectorsOnOneDatabaseStoreEveryEventOnceInOrderWhileAgentsFailOver) {
  TmpfsMount fs1(scratch_ / "fs1", "size=" + std::to_string(kFsBytes));
  TmpfsMount fs2(scratch_ / "fs2", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs1.mounted() && fs2.mounted());
  auto a = StartCollector("collector-a");
  auto b = StartCollector("collector-b");
  const std::uint16_t port_a = a->agent_port();
  const std::uint16_t port_b = b->agent_port();
  ASSERT_NE(port_a, 0);
  ASSERT_NE(port_b, 0);
  // One agent prefers each collector, so both store from the start.
  const AgentOptions first = Agent("atm-pg-01", fs1.path(), {port_a, port_b});
  const AgentOptions second = Agent("atm-pg-02", fs2.path(), {port_b, port_a});
  AgentProcess agent1(scratch_ / "agent1", first);
  AgentProcess agent2(scratch_ / "agent2", second);
  ASSERT_TRUE(
      WaitFor([&] { return Connected("atm-pg-01") && Connected("atm-pg-02"); }, seconds(20)));
  const std::vector<std::pair<const TmpfsMount*, const AgentOptions*>> devices = {{&fs1, &first},
                                                                                  {&fs2, &second}};

  AlertCycle(devices);
  // Collector A dies mid-stream: its agent fails over to B.
  a->process().Signal(SIGKILL);
  a->process().Wait(seconds(10));
  AlertCycle(devices);
  // A comes back on its address; now B dies: both agents are on A.
  a = StartCollector("collector-a2", port_a);
  ASSERT_EQ(a->agent_port(), port_a);
  b->process().Signal(SIGKILL);
  b->process().Wait(seconds(10));
  AlertCycle(devices);
  b = StartCollector("collector-b2", port_b);
  ASSERT_EQ(b->agent_port(), port_b);
  AlertCycle(devices);

  ExpectEveryEventOnceInOrder(first, 4);
  ExpectEveryEventOnceInOrder(second, 4);
  EXPECT_EQ(Count("SELECT count(*) FROM buffers"), 2) << "one buffer per device, whichever "
                                                         "collector its Hello reached";
  EXPECT_GT(a->Metric("atmhealth_collector_events_stored_total"), 0);
  EXPECT_EQ(agent1.process().Stop(), 0);
  EXPECT_EQ(agent2.process().Stop(), 0);
}

TEST_F(PostgresTest, DatabaseRestartedMidStreamLosesNothingAndStoresEveryEventOnce) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(kFsBytes));
  ASSERT_TRUE(fs.mounted());
  auto collector = StartCollector("collector");
  ASSERT_NE(collector->agent_port(), 0);
  const AgentOptions options = Agent("atm-pg-01", fs.path(), {collector->agent_port()});
  AgentProcess agent(scratch_ / "agent", options);
  ASSERT_TRUE(WaitFor([&] { return Connected("atm-pg-01"); }, seconds(20)));
  const std::vector<std::pair<const TmpfsMount*, const AgentOptions*>> device = {{&fs, &options}};
  AlertCycle(device);

  // The database goes away while the agent keeps producing: the collector
  // refuses it with a retry hint and stays up, reporting itself unhealthy.
  ASSERT_TRUE(server_->Stop());
  AlertCycle(device);
  ASSERT_TRUE(
      WaitFor([&] { return collector->Metric("atmhealth_collector_store_errors_total") > 0; },
              seconds(10)));
  EXPECT_TRUE(collector->process().running());

  ASSERT_TRUE(server_->Restart());
  AlertCycle(device);
  ExpectEveryEventOnceInOrder(options, 3);
  EXPECT_TRUE(collector->process().running());
  EXPECT_EQ(agent.process().Stop(), 0);
}

// The live stream of every collector shows what any of them stored: an SSE
// client of collector B sees the alert an agent sent through collector A,
// by NOTIFY: long before B's next evaluation (a minute apart) would.
TEST_F(PostgresTest, AlertStoredThroughOneCollectorReachesTheStreamOfTheOtherAtOnce) {
  const std::string fleet = FleetConfigToml() + "[fleet]\nevaluate_interval = \"60s\"\n";
  auto a = StartCollector("collector-a", 0, fleet);
  auto b = StartCollector("collector-b", 0, fleet);
  ASSERT_NE(a->http_port(), 0);
  ASSERT_NE(b->http_port(), 0);
  StreamReader stream(b->http_port(), "/api/v1/stream", ReadAuth());

  SimulatedAgent agent(a->agent_port(), "atm-pg-07", "site-shinjuku");
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "in_service"}}));
  ASSERT_TRUE(agent.FireCritical(1, "storage:/var", {"withdrawal"}));

  const auto alert_on_b = [&] {
    for (const nlohmann::json& alert : StreamEvents(stream.Text(), "alert")) {
      if (alert.value("device_id", "") == "atm-pg-07" &&
          alert.value("alert_key", "") == "storage:/var" && alert.value("state", "") == "firing") {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(WaitFor(alert_on_b, seconds(10))) << stream.Text();
}

// The incidents of collectors sharing a database: the collector that keeps
// them (the first one up) opens the incident of an outage reported through
// the other, which shows it with the same id in its API and stream; when
// the keeper is SIGKILLed the other takes the incidents over, closes that
// one when the device recovers and numbers the next after it.
TEST_F(PostgresTest, OneOutageIsOneIncidentOnBothCollectorsAndTheOtherKeepsThemWhenTheKeeperDies) {
  const std::string fleet = FleetConfigToml() + "[fleet]\nevaluate_interval = \"200ms\"\n";
  const std::string lead = "atmhealth_fleet_incident_lead";
  auto a = StartCollector("collector-a", 0, fleet);
  ASSERT_NE(a->http_port(), 0);
  ASSERT_TRUE(WaitFor([&] { return a->Metric(lead) == 1; }, seconds(10)));
  auto b = StartCollector("collector-b", 0, fleet);
  ASSERT_NE(b->http_port(), 0);
  ASSERT_TRUE(WaitFor([&] { return b->Metric(lead) == 0; }, seconds(10)));
  StreamReader stream_b(b->http_port(), "/api/v1/stream", ReadAuth());

  const auto open_ids = [](const CollectorProcess& collector) {
    std::vector<std::int64_t> ids;
    const nlohmann::json open = GetJson(collector.http_port(), "/api/v1/incidents?status=open");
    if (!open.is_object()) return ids;
    for (const nlohmann::json& incident : open["incidents"]) {
      ids.push_back(incident["incident_id"].get<std::int64_t>());
    }
    return ids;
  };
  // The outage is reported through b, which does not keep the incidents.
  SimulatedAgent agent(b->agent_port(), "atm-pg-09", "site-ginza");
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "in_service"}}));
  ASSERT_TRUE(agent.FireCritical(1, "storage:/var", {"withdrawal"}));
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "out_of_service"}}, "storage:/var"));
  ASSERT_TRUE(
      WaitFor([&] { return open_ids(*a).size() == 1 && open_ids(*b).size() == 1; }, seconds(10)))
      << "a: " << open_ids(*a).size() << ", b: " << open_ids(*b).size();
  const std::int64_t first = open_ids(*a).front();
  EXPECT_EQ(open_ids(*b).front(), first);
  // Stays one, whatever both collectors evaluate meanwhile.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(Count("SELECT count(*) FROM incidents"), 1);
  EXPECT_EQ(open_ids(*b), std::vector<std::int64_t>{first});
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const nlohmann::json& incident : StreamEvents(stream_b.Text(), "incident")) {
          if (incident.value("incident_id", std::int64_t{0}) == first) return true;
        }
        return false;
      },
      seconds(5)))
      << stream_b.Text();
  const nlohmann::json device = GetJson(b->http_port(), "/api/v1/device?id=atm-pg-09");
  ASSERT_TRUE(device.is_object());
  EXPECT_EQ(device["incident_id"], first) << device.dump();

  a->process().Signal(SIGKILL);
  ASSERT_TRUE(a->process().Wait(seconds(5)).has_value());
  ASSERT_TRUE(WaitFor([&] { return b->Metric(lead) == 1; }, seconds(10)))
      << "b takes the incidents over once the keeper's session is gone";
  EXPECT_EQ(open_ids(*b), std::vector<std::int64_t>{first});

  // The device recovers: b closes the incident a opened.
  ASSERT_TRUE(agent.Resolve(2, "storage:/var"));
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "in_service"}}));
  ASSERT_TRUE(WaitFor(
      [&] {
        const nlohmann::json all = GetJson(b->http_port(), "/api/v1/incidents?status=all");
        return all.is_object() && all["incidents"].size() == 1 &&
               all["incidents"][0]["status"] == "closed" &&
               all["incidents"][0]["incident_id"] == first;
      },
      seconds(10)));
  // And the next outage is the next incident.
  ASSERT_TRUE(agent.FireCritical(3, "storage:/var", {"withdrawal"}));
  ASSERT_TRUE(agent.Heartbeat({{"withdrawal", "out_of_service"}}, "storage:/var"));
  ASSERT_TRUE(
      WaitFor([&] { return open_ids(*b) == std::vector<std::int64_t>{first + 1}; }, seconds(10)));

  // A collector started again on the database follows b and shows the same.
  auto again = StartCollector("collector-a-again", 0, fleet);
  ASSERT_NE(again->http_port(), 0);
  ASSERT_TRUE(WaitFor([&] { return again->Metric(lead) == 0; }, seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return open_ids(*again) == std::vector<std::int64_t>{first + 1}; },
                      seconds(10)));
  EXPECT_EQ(Count("SELECT count(*) FROM incidents"), 2);
}

}  // namespace
}  // namespace atmhealth::testing
