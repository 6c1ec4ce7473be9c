#include "agent/watch/throughput_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "agent/config.h"
#include "agent/rules/rule_set.h"
#include "agent/store/event_store.h"
#include "platform/asio.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr char kSource[] = "atmhealthd.toml";

std::string Config(const std::string& throughput) {
  return "[device]\nid = \"atm-0001\"\nservices = [\"withdrawal\", \"deposit\", \"transfer\"]\n"
         "[uplink]\ncollectors = [\"127.0.0.1:7411\"]\nplaintext = true\n"
         "[throughput]\n" +
         throughput;
}

Result<std::shared_ptr<const ThroughputConfig>> Parse(const std::string& throughput) {
  auto config = ParseAgentConfig(Config(throughput), kSource);
  if (!config.ok()) return config.error();
  const ThroughputConfig* found = config->Watcher<ThroughputConfig>("throughput");
  if (found == nullptr) return Error(ErrorCode::kNotFound, "no [throughput]");
  return std::make_shared<const ThroughputConfig>(*found);
}

std::string ErrorOf(const std::string& throughput) {
  auto config = Parse(throughput);
  return config.ok() ? "(accepted)" : config.error().message();
}

TEST(ThroughputConfigTest, ReadsEveryKey) {
  auto config = Parse(R"(socket = "/run/atmhealth/feed.sock"
socket_mode = "0620"
socket_group = "daemon"
udp = "127.0.0.1:8125"
capacity_tps = 40
max_types = 8
window = "5m"
utilisation_warning = 70
utilisation_critical = 95
latency_percentile = "p95"
latency_warning = "1500ms"
latency_critical = "4s"
error_warning = 2
error_critical = 10
min_transactions = 50
for = "2m"
degraded = ["withdrawal"]
[throughput.schema]
transaction_metric = "bank.txn"
type_tag = "kind"
success_results = ["approved"]
error_results = ["failed", "timeout"]
)");
  ASSERT_TRUE(config.ok()) << config.error().message();
  const ThroughputConfig& c = **config;
  EXPECT_EQ(c.listen.socket_path, "/run/atmhealth/feed.sock");
  EXPECT_EQ(c.listen.socket_mode, 0620u);
  EXPECT_EQ(c.listen.socket_group, "daemon");
  ASSERT_TRUE(c.listen.udp.has_value());
  EXPECT_EQ(c.listen.udp->port, 8125);
  EXPECT_EQ(c.meter.capacity_tps, 40);
  EXPECT_EQ(c.meter.max_types, 8u);
  EXPECT_EQ(c.window, feed::Window::kFiveMinutes);
  EXPECT_EQ(c.latency_percentile, 95);
  EXPECT_EQ(c.latency_warning, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.latency_critical, std::chrono::milliseconds(4000));
  EXPECT_EQ(c.error_critical, 10);
  EXPECT_EQ(c.min_transactions, 50u);
  EXPECT_EQ(c.for_duration, std::chrono::minutes(2));
  EXPECT_EQ(c.meter.schema.transaction_metric, "bank.txn");
  EXPECT_EQ(c.meter.schema.latency_metric, "atm.tx.latency");
  EXPECT_EQ(c.meter.schema.type_tag, "kind");
  EXPECT_EQ(c.meter.schema.error_results, (std::vector<std::string>{"failed", "timeout"}));
}

TEST(ThroughputConfigTest, EveryErrorNamesFileLineAndKey) {
  const std::string base = "socket = \"/run/feed.sock\"\ncapacity_tps = 40\n";
  // [throughput] is on line 7 of Config().
  EXPECT_EQ(ErrorOf(base + "udp = \"0.0.0.0:8125\"\n"),
            "atmhealthd.toml:10: throughput.udp: \"0.0.0.0\" is not a loopback address; the feed "
            "never listens beyond this machine");
  EXPECT_THAT(ErrorOf(base + "udp = \"192.168.1.20:8125\"\n"), HasSubstr("not a loopback"));
  EXPECT_THAT(ErrorOf(base + "udp = \"localhost:8125\"\n"), HasSubstr("not an IP address"));
  EXPECT_THAT(ErrorOf(base + "socket_mode = \"0666\"\n"),
              HasSubstr("atmhealthd.toml:10: throughput.socket_mode: \"0666\" lets every account"));
  EXPECT_THAT(ErrorOf(base + "socket_mode = \"rw\"\n"), HasSubstr("must be octal"));
  EXPECT_THAT(ErrorOf(base + "socket_group = \"no-such-group-atm\"\n"),
              HasSubstr("throughput.socket_group: no such group \"no-such-group-atm\""));
  EXPECT_THAT(ErrorOf("socket = \"/run/feed.sock\"\n"),
              HasSubstr("throughput.capacity_tps: required"));
  EXPECT_THAT(ErrorOf("capacity_tps = 4\n"), HasSubstr("throughput.socket: required"));
  EXPECT_THAT(ErrorOf("socket = \"feed.sock\"\ncapacity_tps = 4\n"),
              HasSubstr("must be an absolute path"));
  EXPECT_THAT(ErrorOf(base + "latency_warning = \"5s\"\nlatency_critical = \"2s\"\n"),
              HasSubstr("atmhealthd.toml:11: throughput.latency_critical: latency_critical"));
  EXPECT_THAT(ErrorOf(base + "window = \"10m\"\n"), HasSubstr("throughput.window: must be"));
  EXPECT_THAT(ErrorOf(base + "latency_percentile = \"p90\"\n"), HasSubstr("p50"));
  EXPECT_THAT(ErrorOf(base + "max_types = 0\n"), HasSubstr("throughput.max_types"));
  EXPECT_THAT(ErrorOf(base + "capacity = 40\n"), HasSubstr("throughput.capacity"));
  EXPECT_THAT(ErrorOf(base + "degraded = [\"inquiry\"]\n"),
              HasSubstr("\"inquiry\" is not among device.services"));
  EXPECT_THAT(ErrorOf(base + "[throughput.schema]\ntype_tag = \"ty pe\"\n"),
              HasSubstr("throughput.schema.type_tag"));
  EXPECT_THAT(ErrorOf(base + "[throughput.schema]\nerror_results = [\"ok\"]\n"),
              HasSubstr("listed both as success and as error"));
}

TEST(ThroughputConfigTest, CapacityPerTypeIsBoundedByMaxTypes) {
  const std::string base = "socket = \"/run/feed.sock\"\ncapacity_tps = 40\nmax_types = 2\n";
  auto config = Parse(base + "[throughput.type_capacity]\nwithdrawal = 12\ntransfer = 2.5\n");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_THAT((*config)->type_capacity,
              ::testing::UnorderedElementsAre(::testing::Pair("withdrawal", 12),
                                              ::testing::Pair("transfer", 2.5)));
  // Lines 8..10 are the base, [throughput.type_capacity] is line 11.
  EXPECT_EQ(ErrorOf(base + "[throughput.type_capacity]\nwithdrawal = 0\n"),
            "atmhealthd.toml:12: throughput.type_capacity.withdrawal: must be a number above 0");
  EXPECT_EQ(ErrorOf(base + "[throughput.type_capacity]\nwithdrawal = \"12\"\n"),
            "atmhealthd.toml:12: throughput.type_capacity.withdrawal: must be a number above 0");
  EXPECT_THAT(ErrorOf(base + "[throughput.type_capacity]\na = 1\nb = 1\nc = 1\n"),
              HasSubstr("throughput.type_capacity.c: more types than max_types (2)"));
  EXPECT_THAT(ErrorOf(base + "[throughput.type_capacity]\n\"with drawal\" = 1\n"),
              HasSubstr("atmhealthd.toml:12: throughput.type_capacity.with drawal: is not a "
                        "transaction type"));
  EXPECT_THAT(ErrorOf(base + "type_capacity = 3\n"),
              HasSubstr("atmhealthd.toml:11: throughput.type_capacity: must be a table"));
}

// The packaged example names TLS files that the parser checks can be read:
// they are given here, empty, as the config test does.
TEST(ThroughputConfigTest, PackagedExampleTurnsTheFeedOn) {
  testing::ScratchDir scratch;
  for (const char* file : {"ca.crt", "device.crt", "device.key"}) std::ofstream(scratch / file);
  std::ifstream in(testing::SourceFile("packaging/atmhealthd.toml"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string packaged_dir = "/etc/atmhealth/tls/";
  for (auto at = text.find(packaged_dir); at != std::string::npos; at = text.find(packaged_dir)) {
    text.replace(at, packaged_dir.size(), scratch.path().string() + "/");
  }
  auto config = ParseAgentConfig(text, "atmhealthd.toml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  const auto* throughput = config->Watcher<ThroughputConfig>("throughput");
  ASSERT_NE(throughput, nullptr);
  EXPECT_EQ(throughput->listen.socket_path, "/run/atmhealth/feed.sock");
  EXPECT_EQ(throughput->meter.capacity_tps, 20);
  EXPECT_EQ(throughput->type_capacity.size(), 2u);
  EXPECT_EQ(throughput->meter.schema.error_results, (std::vector<std::string>{"error"}));
}

TEST(ThroughputConfigTest, NoSectionNoFeed) {
  auto config = ParseAgentConfig(
      "[device]\nid = \"atm-0001\"\n[uplink]\ncollectors = [\"127.0.0.1:7411\"]\n"
      "plaintext = true\n",
      kSource);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->Watcher<ThroughputConfig>("throughput"), nullptr);
}

class ThroughputWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.listen.socket_path = (dir_ / "feed.sock").string();
    config_.meter.capacity_tps = 10;
    config_.for_duration = seconds(30);
    config_.min_transactions = 5;
    config_.impact_degraded = {v1::CUSTOMER_SERVICE_WITHDRAWAL};
  }

  std::unique_ptr<ThroughputWatcher> Create() {
    auto watcher = ThroughputWatcher::Create(config_, clock_);
    EXPECT_TRUE(watcher.ok()) << watcher.error().message();
    return watcher.ok() ? std::move(watcher).value() : nullptr;
  }

  // Sends `count` transactions of `type` with `result` and `latency_ms`, then
  // waits until the watcher's feed has them.
  void Send(ThroughputWatcher& watcher, int count, const std::string& type,
            const std::string& result, int latency_ms) {
    asio::io_context io;
    asio::local::datagram_protocol::socket socket(io);
    socket.open();
    const std::uint64_t before = watcher.intake().counters().lines;
    for (int i = 0; i < count; ++i) {
      const std::string datagram = "atm.tx:1|c|#type:" + type + ",result:" + result +
                                   "\natm.tx.latency:" + std::to_string(latency_ms) +
                                   "|ms|#type:" + type;
      socket.send_to(asio::buffer(datagram),
                     asio::local::datagram_protocol::endpoint(config_.listen.socket_path));
    }
    const auto deadline = std::chrono::steady_clock::now() + seconds(5);
    while (watcher.intake().counters().lines < before + 2 * count &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(watcher.intake().counters().lines, before + 2 * count);
  }

  // One round of the sampler: sample, declare, evaluate, tick.
  std::vector<v1::Event> Round(ThroughputWatcher& watcher) {
    std::vector<Measurement> measurements;
    watcher.Sample(measurements);
    std::vector<v1::Event> events;
    EXPECT_TRUE(rules_.Declare(watcher.name(), watcher.Rules(), clock_, events).ok());
    rules_.Evaluate(measurements, clock_, events);
    rules_.Tick(clock_, events);
    return events;
  }

  testing::ScratchDir dir_;
  FakeClock clock_;
  ThroughputConfig config_;
  RuleSet rules_;
};

TEST_F(ThroughputWatcherTest, TrafficAboveCapacityFiresAfterItsForDurationAndResolvesBelow) {
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  EXPECT_TRUE(Round(*watcher).empty());

  // 15 tps against a capacity of 10 for 40 s: 150 %, above critical (100 %).
  std::vector<v1::Event> fired;
  for (int s = 0; s < 40; s += 10) {
    Send(*watcher, 150, "withdrawal", "ok", 180);
    clock_.Advance(seconds(10));
    for (auto& event : Round(*watcher)) fired.push_back(event);
  }
  ASSERT_EQ(fired.size(), 1u);
  const v1::Event& alert = fired[0];
  EXPECT_EQ(alert.kind(), v1::ALERT_KIND_THROUGHPUT_CAPACITY);
  EXPECT_EQ(alert.subject(), "all");
  EXPECT_EQ(alert.state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(alert.severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(alert.category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
  EXPECT_NEAR(alert.value(), 150, 1);

  // Silence: a minute later utilisation is 0 and the alert resolves.
  std::vector<v1::Event> resolved;
  for (int s = 0; s < 70; s += 10) {
    clock_.Advance(seconds(10));
    for (auto& event : Round(*watcher)) resolved.push_back(event);
  }
  // Down through warning, then resolved.
  ASSERT_EQ(resolved.size(), 2u);
  EXPECT_EQ(resolved[0].severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(resolved[1].state(), v1::ALERT_STATE_RESOLVED);
}

TEST_F(ThroughputWatcherTest, ATypeBeyondItsOwnCapacityAlertsWhileTheTotalIsWithin) {
  config_.meter.capacity_tps = 100;
  config_.for_duration = seconds(0);
  config_.type_capacity = {{"transfer", 2}, {"withdrawal", 50}};
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  // 30 transfers in 10 s of a one-minute window: 0.5 tps, 25 % of 2 tps.
  // The window is a minute: 3 rounds of 40 make 120 in 30 s, 2 tps = 100 %.
  std::vector<v1::Event> fired;
  for (int round = 0; round < 3; ++round) {
    Send(*watcher, 40, "transfer", "ok", 100);
    Send(*watcher, 10, "withdrawal", "ok", 100);
    clock_.Advance(seconds(10));
    for (auto& event : Round(*watcher)) fired.push_back(event);
  }
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].alert_key(), "throughput_capacity:type:transfer");
  EXPECT_EQ(fired[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(fired[0].unit(), v1::UNIT_PERCENT);
  EXPECT_EQ(fired[0].threshold(), 100);
  EXPECT_EQ(fired[0].category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
  EXPECT_THAT(fired[0].impact().degraded(),
              ::testing::ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));

  // The transfers stop: a minute later the type is idle and its alert resolves.
  std::vector<v1::Event> resolved;
  for (int round = 0; round < 7; ++round) {
    clock_.Advance(seconds(10));
    for (auto& event : Round(*watcher)) resolved.push_back(event);
  }
  ASSERT_FALSE(resolved.empty());
  for (const auto& event : resolved) {
    EXPECT_EQ(event.alert_key(), "throughput_capacity:type:transfer");
  }
  EXPECT_EQ(resolved.back().state(), v1::ALERT_STATE_RESOLVED);
}

TEST_F(ThroughputWatcherTest, SlowAndFailingTypesAlertPerType) {
  config_.for_duration = seconds(0);
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  Send(*watcher, 20, "withdrawal", "ok", 150);
  Send(*watcher, 20, "transfer", "error", 6000);
  clock_.Advance(seconds(10));
  std::vector<std::string> keys;
  for (const auto& event : Round(*watcher)) {
    if (event.state() == v1::ALERT_STATE_FIRING) keys.push_back(event.alert_key());
  }
  EXPECT_THAT(keys,
              ::testing::UnorderedElementsAre("latency:all", "latency:type:transfer",
                                              "error_ratio:all", "error_ratio:type:transfer"));
}

// The fake clock starts on Monday 2024-04-01 at 09:00 UTC.
BusinessHours OfficeHours() {
  auto hours = BusinessHours::Create("UTC", {false, true, true, true, true, true, false},
                                     std::chrono::hours(8), std::chrono::hours(18), {});
  EXPECT_TRUE(hours.ok());
  return *hours;
}

TEST_F(ThroughputWatcherTest, SilenceInsideBusinessHoursStallsByItselfAndTrafficResolvesIt) {
  config_.business_hours = OfficeHours();
  config_.stall_after = std::chrono::minutes(10);
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  std::vector<v1::Event> events;
  // The watcher reports nothing about a silent feed: only the rules' time
  // evaluation can notice. Ten minutes and a second of silence.
  for (int s = 0; s <= 600; ++s) {
    if (s % 10 == 0) {
      for (auto& event : Round(*watcher)) events.push_back(event);
    } else {
      rules_.Tick(clock_, events);
    }
    clock_.Advance(seconds(1));
  }
  ASSERT_EQ(events.size(), 1u);
  const v1::Event& stall = events[0];
  EXPECT_EQ(stall.alert_key(), "stall:all");
  EXPECT_EQ(stall.state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(stall.severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(stall.category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
  EXPECT_EQ(stall.threshold(), 600);
  EXPECT_EQ(stall.unit(), v1::UNIT_SECONDS);
  EXPECT_THAT(stall.impact().degraded(), ::testing::ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));

  Send(*watcher, 1, "withdrawal", "ok", 120);
  clock_.Advance(seconds(10));
  const auto resolved = Round(*watcher);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].alert_key(), "stall:all");
  EXPECT_EQ(resolved[0].state(), v1::ALERT_STATE_RESOLVED);
}

TEST_F(ThroughputWatcherTest, SilenceOutsideBusinessHoursIsNoStall) {
  config_.business_hours = OfficeHours();
  config_.stall_after = std::chrono::minutes(10);
  clock_.Advance(std::chrono::hours(10));  // 19:00, closed
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  std::vector<v1::Event> events;
  for (int s = 0; s < 3600; s += 10) {
    for (auto& event : Round(*watcher)) events.push_back(event);
    clock_.Advance(seconds(10));
  }
  EXPECT_THAT(events, ::testing::IsEmpty());
}

TEST_F(ThroughputWatcherTest, AStallEndsWhenBusinessHoursClose) {
  config_.business_hours = OfficeHours();
  config_.stall_after = std::chrono::minutes(10);
  clock_.Advance(std::chrono::hours(8) + std::chrono::minutes(30));  // 17:30
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  std::vector<v1::Event> events;
  for (int s = 0; s < 3600; s += 10) {  // until 18:30
    for (auto& event : Round(*watcher)) events.push_back(event);
    clock_.Advance(seconds(10));
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(events[1].state(), v1::ALERT_STATE_RESOLVED);
  // Resolved at the first sample after 18:00.
  EXPECT_EQ(events[1].wall_time_unix_ns() - events[0].wall_time_unix_ns(),
            20 * 60 * 1'000'000'000LL);
}

// Night hours across the day boundary: the silence that starts before
// midnight stalls after it, inside the same night's hours.
TEST_F(ThroughputWatcherTest, SilenceAcrossMidnightInsideNightHoursStalls) {
  auto night = BusinessHours::Create("UTC", {true, true, true, true, true, true, true},
                                     std::chrono::hours(22), std::chrono::hours(2), {});
  ASSERT_TRUE(night.ok());
  config_.business_hours = *night;
  config_.stall_after = std::chrono::minutes(10);
  clock_.Advance(std::chrono::hours(14) + std::chrono::minutes(55));  // Monday 23:55
  const auto start = clock_.WallNow();
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  std::vector<v1::Event> events;
  for (int s = 0; s < 3 * 3600; s += 10) {  // until Tuesday 02:55
    for (auto& event : Round(*watcher)) events.push_back(event);
    clock_.Advance(seconds(10));
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].alert_key(), "stall:all");
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_FIRING);
  // Ten minutes of silence from 23:55, at Tuesday 00:05.
  EXPECT_NEAR(static_cast<double>(events[0].wall_time_unix_ns() - platform::UnixNanos(start)),
              600e9, 10e9);
  // The night's hours end at 02:00: the stall resolves with them.
  EXPECT_EQ(events[1].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_NEAR(static_cast<double>(events[1].wall_time_unix_ns() - platform::UnixNanos(start)),
              (2 * 3600 + 5 * 60) * 1e9, 10e9);
}

TEST(ThroughputConfigTest, BusinessHoursAreCheckedWithFileAndLine) {
  const std::string base =
      "socket = \"/run/feed.sock\"\ncapacity_tps = 40\n[throughput.business_hours]\n";
  auto config = Parse(base +
                      "time_zone = \"Asia/Tokyo\"\nopen = \"09:00\"\nclose = \"15:00\"\n"
                      "days = [\"mon\", \"sat\"]\nholidays = [\"2026-12-31\"]\n"
                      "stall_after = \"20m\"\nstall_severity = \"warning\"\n");
  ASSERT_TRUE(config.ok()) << config.error().message();
  ASSERT_TRUE((*config)->business_hours.has_value());
  EXPECT_EQ((*config)->stall_after, std::chrono::minutes(20));
  EXPECT_EQ((*config)->stall_severity, v1::SEVERITY_WARNING);
  EXPECT_EQ((*config)->business_hours->Describe(),
            "mon,sat 09:00-15:00 Asia/Tokyo, closed on 1 holidays");
  const std::string hours = "time_zone = \"UTC\"\nopen = \"09:00\"\nclose = \"15:00\"\n";
  // [throughput.business_hours] is line 10; its keys start on line 11.
  EXPECT_EQ(ErrorOf(base + "open = \"09:00\"\nclose = \"15:00\"\n"),
            "atmhealthd.toml:10: throughput.business_hours.time_zone: required: the IANA time "
            "zone of the branch, e.g. \"Asia/Tokyo\"");
  EXPECT_THAT(
      ErrorOf(base + "time_zone = \"Mars/Olympus\"\nopen = \"09:00\"\nclose = \"15:00\"\n"),
      HasSubstr("atmhealthd.toml:11: throughput.business_hours.time_zone: \"Mars/Olympus\""));
  EXPECT_THAT(ErrorOf(base + hours + "days = [\"funday\"]\n"),
              HasSubstr("atmhealthd.toml:14: throughput.business_hours.days: \"funday\""));
  EXPECT_THAT(ErrorOf(base + "time_zone = \"UTC\"\nopen = \"9am\"\nclose = \"15:00\"\n"),
              HasSubstr("atmhealthd.toml:12: throughput.business_hours.open: \"9am\" is not a "
                        "time of day"));
  EXPECT_THAT(ErrorOf(base + hours + "holidays = [\"31/12/2026\"]\n"),
              HasSubstr("atmhealthd.toml:14: throughput.business_hours.holidays:"));
  EXPECT_THAT(ErrorOf(base + hours + "stall_after = \"1s\"\n"),
              HasSubstr("throughput.business_hours.stall_after: must not be shorter"));
  EXPECT_THAT(ErrorOf(base + hours + "stall_severity = \"info\"\n"),
              HasSubstr("throughput.business_hours.stall_severity"));
  EXPECT_THAT(ErrorOf(base + hours + "weekend = true\n"),
              HasSubstr("throughput.business_hours.weekend: unknown key"));
}

TEST_F(ThroughputWatcherTest, HealthCarriesRefusedLinesByReasonAndTheLoad) {
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  Send(*watcher, 30, "withdrawal", "ok", 200);
  Send(*watcher, 10, "withdrawal", "error", 200);
  asio::io_context io;
  asio::local::datagram_protocol::socket socket(io);
  socket.open();
  const std::string garbage = "atm.tx:one|c\natm.tx:1|zz\nno-value-here";
  socket.send_to(asio::buffer(garbage),
                 asio::local::datagram_protocol::endpoint(config_.listen.socket_path));
  ASSERT_TRUE(
      testing::WaitFor([&] { return watcher->intake().counters().lines == 83; }, seconds(5)));
  clock_.Advance(seconds(10));

  v1::AgentHealth health;
  watcher->ReportHealth(health);
  ASSERT_TRUE(health.has_feed());
  const v1::FeedHealth& feed = health.feed();
  EXPECT_EQ(feed.lines_total(), 83u);
  EXPECT_EQ(feed.bad_lines_total(), 3u);
  std::map<std::string, std::uint64_t> reasons;
  for (const auto& bad : feed.bad_lines()) reasons[bad.reason()] = bad.count();
  EXPECT_THAT(reasons, ::testing::UnorderedElementsAre(::testing::Pair("bad_value", 1),
                                                       ::testing::Pair("bad_type", 1),
                                                       ::testing::Pair("no_value", 1)));
  EXPECT_DOUBLE_EQ(feed.tps(), 4);  // 40 transactions in 10 s
  EXPECT_DOUBLE_EQ(feed.error_ratio(), 0.25);
  EXPECT_NEAR(feed.p99_ms(), 200, 200 * feed::LatencyHistogram::kRelativeError);
  ASSERT_EQ(feed.types_size(), 1);
  EXPECT_EQ(feed.types(0).type(), "withdrawal");
  EXPECT_DOUBLE_EQ(feed.types(0).tps(), 4);
  EXPECT_DOUBLE_EQ(feed.types(0).error_ratio(), 0.25);
}

TEST_F(ThroughputWatcherTest, TooFewTransactionsAreNotJudged) {
  config_.for_duration = seconds(0);
  auto watcher = Create();
  ASSERT_NE(watcher, nullptr);
  Send(*watcher, 2, "transfer", "error", 9000);
  clock_.Advance(seconds(10));
  EXPECT_TRUE(Round(*watcher).empty());
}

TEST(ThroughputConfigTest, SurgeIsReadAndCheckedWithFileAndLine) {
  const std::string base = "socket = \"/run/feed.sock\"\ncapacity_tps = 40\n";
  auto none = Parse(base);
  ASSERT_TRUE(none.ok()) << none.error().message();
  EXPECT_FALSE((*none)->surge.has_value());

  auto config = Parse(base +
                      "[throughput.surge]\ntime_zone = \"Asia/Tokyo\"\nfactor = 2.5\n"
                      "min_weeks = 4\nmin_baseline_tps = 0.5\nhysteresis = 30\n"
                      "severity = \"critical\"\nfor = \"10m\"\nunavailable = [\"transfer\"]\n"
                      "degraded = [\"withdrawal\"]\n");
  ASSERT_TRUE(config.ok()) << config.error().message();
  ASSERT_TRUE((*config)->surge.has_value());
  const ThroughputConfig::Surge& surge = *(*config)->surge;
  EXPECT_EQ(surge.time_zone, "Asia/Tokyo");
  EXPECT_EQ(surge.factor, 2.5);
  EXPECT_EQ(surge.min_weeks, 4u);
  EXPECT_EQ(surge.min_baseline_tps, 0.5);
  EXPECT_EQ(surge.hysteresis, 30);
  EXPECT_EQ(surge.severity, v1::SEVERITY_CRITICAL);
  EXPECT_EQ(surge.for_duration, std::chrono::minutes(10));
  EXPECT_THAT(surge.impact_unavailable, ::testing::ElementsAre(v1::CUSTOMER_SERVICE_TRANSFER));
  EXPECT_THAT(surge.impact_degraded, ::testing::ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));

  // Defaults; the zone of the business hours when it names none.
  auto defaults = Parse(base +
                        "[throughput.business_hours]\ntime_zone = \"Europe/Berlin\"\n"
                        "open = \"08:00\"\nclose = \"18:00\"\n[throughput.surge]\n");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  ASSERT_TRUE((*defaults)->surge.has_value());
  EXPECT_EQ((*defaults)->surge->time_zone, "Europe/Berlin");
  EXPECT_EQ((*defaults)->surge->factor, 3);
  EXPECT_EQ((*defaults)->surge->min_weeks, 3u);
  EXPECT_EQ((*defaults)->surge->severity, v1::SEVERITY_WARNING);

  // [throughput.surge] is line 10 of the file.
  EXPECT_EQ(ErrorOf(base + "[throughput.surge]\nfactor = 1\n"),
            "atmhealthd.toml:11: throughput.surge.factor: must be above 1 (a multiple of the "
            "usual rate), not 1");
  EXPECT_THAT(ErrorOf(base + "[throughput.surge]\nmin_weeks = 0\n"),
              HasSubstr("atmhealthd.toml:11: throughput.surge.min_weeks"));
  EXPECT_THAT(ErrorOf(base + "[throughput.surge]\ntime_zone = \"Mars/Olympus\"\n"),
              HasSubstr("atmhealthd.toml:11: throughput.surge.time_zone: \"Mars/Olympus\" is "
                        "not a time zone"));
  EXPECT_THAT(ErrorOf(base + "[throughput.surge]\nseverity = \"loud\"\n"),
              HasSubstr("throughput.surge.severity"));
  EXPECT_THAT(ErrorOf(base + "[throughput.surge]\ndegraded = [\"inquiry\"]\n"),
              HasSubstr("throughput.surge.degraded: \"inquiry\" is not among device.services"));
  EXPECT_THAT(ErrorOf(base + "[throughput.surge]\nthreshold = 3\n"),
              HasSubstr("throughput.surge.threshold: unknown key"));
  EXPECT_THAT(ErrorOf(base + "[throughput.surge]\nhysteresis = 300\n"),
              HasSubstr("throughput.surge.hysteresis: must be below"));
}

class ThroughputSurgeTest : public ThroughputWatcherTest {
 protected:
  void SetUp() override {
    ThroughputWatcherTest::SetUp();
    config_.meter.capacity_tps = 1000;  // no capacity alert in the way
    config_.surge.emplace();
    config_.surge->time_zone = "UTC";
    config_.surge->factor = 3;
    config_.surge->min_weeks = 2;
    config_.surge->min_baseline_tps = 0.1;
    config_.surge->for_duration = seconds(0);
    config_.surge->impact_degraded = {v1::CUSTOMER_SERVICE_WITHDRAWAL};
  }

  // The agent's buffer file, as the daemon opens it.
  std::unique_ptr<EventStore> OpenBuffer() {
    EventStoreOptions options;
    options.path = (dir_ / "events.db").string();
    auto store = EventStore::Open(options, clock_);
    EXPECT_TRUE(store.ok()) << store.error().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::unique_ptr<ThroughputWatcher> CreateWith(ThroughputBaselineStore* store) {
    auto watcher = ThroughputWatcher::Create(config_, clock_, store);
    EXPECT_TRUE(watcher.ok()) << watcher.error().message();
    return watcher.ok() ? std::move(watcher).value() : nullptr;
  }

  // An hour of traffic, `per_round` transactions every 10 s, sampled every
  // 10 s, through the first sample of the next hour.
  std::vector<v1::Event> TrafficForAnHour(ThroughputWatcher& watcher, int per_round) {
    std::vector<v1::Event> events;
    for (int s = 0; s < 3600; s += 10) {
      Send(watcher, per_round, "withdrawal", "ok", 100);
      clock_.Advance(seconds(10));
      for (auto& event : Round(watcher)) events.push_back(event);
    }
    return events;
  }

  std::vector<v1::Event> Surges(const std::vector<v1::Event>& events) {
    std::vector<v1::Event> surges;
    for (const auto& event : events) {
      if (event.kind() == v1::ALERT_KIND_SURGE) surges.push_back(event);
    }
    return surges;
  }

  static constexpr auto kWeek = std::chrono::hours(7 * 24);
};

// Monday 09:00 at 1 tps for two weeks, the agent restarted between them
// (the buffer file closed and opened again); the third Monday at 5 tps is a
// surge. The first weeks, without the history, are not.
TEST_F(ThroughputSurgeTest, TheBaselineIsLearnedKeptAcrossARestartAndNeedsItsHistory) {
  {
    auto buffer = OpenBuffer();
    ASSERT_NE(buffer, nullptr);
    auto watcher = CreateWith(buffer.get());
    ASSERT_NE(watcher, nullptr);
    Round(*watcher);
    // Five times the rate in the very first hour: no history, no surge.
    EXPECT_THAT(Surges(TrafficForAnHour(*watcher, 50)), ::testing::IsEmpty());
    auto stored = buffer->LoadThroughputBaseline();
    ASSERT_TRUE(stored.ok()) << stored.error().message();
    ASSERT_EQ(stored->size(), 1u);
    EXPECT_EQ((*stored)[0].hour_of_week, 33);  // Monday 09:00
    EXPECT_EQ((*stored)[0].weeks, 1u);
    EXPECT_NEAR((*stored)[0].mean_tps, 5, 0.5);
  }
  // The agent stopped; a week later it starts again on the same file.
  clock_.Advance(kWeek - std::chrono::hours(1));
  {
    auto buffer = OpenBuffer();
    ASSERT_NE(buffer, nullptr);
    auto watcher = CreateWith(buffer.get());
    ASSERT_NE(watcher, nullptr);
    Round(*watcher);
    // One week of history, two needed: still no surge at five times the rate.
    EXPECT_THAT(Surges(TrafficForAnHour(*watcher, 10)), ::testing::IsEmpty());
    auto stored = buffer->LoadThroughputBaseline();
    ASSERT_TRUE(stored.ok());
    ASSERT_EQ(stored->size(), 1u);
    EXPECT_EQ((*stored)[0].weeks, 2u);
    EXPECT_NEAR((*stored)[0].mean_tps, 3, 0.3);  // (5 + 1) / 2
  }
  clock_.Advance(kWeek - std::chrono::hours(1));
  auto buffer = OpenBuffer();
  ASSERT_NE(buffer, nullptr);
  auto watcher = CreateWith(buffer.get());
  ASSERT_NE(watcher, nullptr);
  Round(*watcher);
  // 10 tps against a baseline of 3: above three times, after a minute.
  std::vector<v1::Event> events;
  for (int s = 0; s < 60; s += 10) {
    Send(*watcher, 100, "withdrawal", "ok", 100);
    clock_.Advance(seconds(10));
    for (auto& event : Round(*watcher)) events.push_back(event);
  }
  const auto surges = Surges(events);
  ASSERT_EQ(surges.size(), 1u);
  EXPECT_EQ(surges[0].alert_key(), "surge:all");
  EXPECT_EQ(surges[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(surges[0].severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(surges[0].threshold(), 300);
  EXPECT_GE(surges[0].value(), 300);
  EXPECT_EQ(surges[0].unit(), v1::UNIT_PERCENT);
  EXPECT_EQ(surges[0].category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_VOLUME);
  EXPECT_THAT(surges[0].impact().degraded(),
              ::testing::ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));
  std::map<std::string, std::string> context;
  for (const auto& entry : surges[0].context()) context[entry.key()] = entry.value();
  EXPECT_EQ(context["hour_of_week"], "mon 09:00 UTC");
  EXPECT_EQ(context["baseline_weeks"], "2");
  EXPECT_NEAR(std::stod(context["baseline_tps"]), 3, 0.3);
}

// A baseline read back from the file, severity and impact from the config;
// an hour with too little history is not judged, and a surge resolves when
// the hour it was judged against ends.
TEST_F(ThroughputSurgeTest, OnlyHoursWithEnoughHistoryAreJudged) {
  config_.surge->severity = v1::SEVERITY_CRITICAL;
  config_.surge->min_weeks = 3;
  config_.surge->impact_degraded.clear();
  config_.surge->impact_unavailable = {v1::CUSTOMER_SERVICE_WITHDRAWAL};
  auto buffer = OpenBuffer();
  ASSERT_NE(buffer, nullptr);
  EXPECT_EQ(buffer->SaveThroughputBaselineHour({168, 3, 2.0}).error().code(),
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(buffer->SaveThroughputBaselineHour({33, 3, 2.0}).ok());  // Monday 09:00
  ASSERT_TRUE(buffer->SaveThroughputBaselineHour({34, 2, 2.0}).ok());  // 10:00, two weeks only
  clock_.Advance(std::chrono::minutes(55));                            // 09:55
  auto watcher = CreateWith(buffer.get());
  ASSERT_NE(watcher, nullptr);
  std::vector<v1::Event> events;
  for (int s = 0; s < 600; s += 10) {  // 7 tps until 10:05
    Send(*watcher, 70, "withdrawal", "ok", 100);
    clock_.Advance(seconds(10));
    for (auto& event : Round(*watcher)) events.push_back(event);
  }
  const auto surges = Surges(events);
  ASSERT_EQ(surges.size(), 2u);
  EXPECT_EQ(surges[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(surges[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_NEAR(surges[0].value(), 350, 50);
  EXPECT_THAT(surges[0].impact().unavailable(),
              ::testing::ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));
  EXPECT_EQ(surges[1].state(), v1::ALERT_STATE_RESOLVED);
  // Resolved within three intervals of the 10:00 hour, which is not judged.
  const auto ten = std::chrono::sys_days{std::chrono::year{2024} / 4 / 1} + std::chrono::hours(10);
  EXPECT_GT(surges[1].wall_time_unix_ns(), platform::UnixNanos(ten));
  EXPECT_LE(surges[1].wall_time_unix_ns(), platform::UnixNanos(ten + 3 * config_.interval));
}

}  // namespace
}  // namespace atmhealth::agent
