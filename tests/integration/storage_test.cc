// Storage beyond thresholds, end to end with the real binaries: the forecast
// warns before the disk is full, mounts are followed while the agent runs,
// and a watched filesystem that goes away is an alert at the collector.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr std::size_t kMiB = 1024 * 1024;

class StorageIntegrationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  AgentOptions Agent(std::uint16_t port, const std::filesystem::path& watched) {
    AgentOptions options;
    options.collector_port = port;
    options.watched = watched;
    options.store = scratch_ / "atm-it-01.events.db";
    return options;
  }

  bool Connected(const std::filesystem::path& db) {
    return QueryInt(db, "SELECT count(*) FROM heartbeats WHERE device_id = 'atm-it-01'") == 1;
  }

  // The first event at the collector matching `where`, waiting for it.
  std::optional<Row> AwaitEvent(const std::filesystem::path& db, const std::string& where,
                                std::chrono::milliseconds timeout = seconds(15)) {
    return AwaitCollectorEvent(db, "atm-it-01", where, timeout);
  }

  ScratchDir scratch_;
};

// Writes `chunk` bytes every `period` into `file` until stopped: a journal
// that grows at a steady rate.
class SteadyWriter {
 public:
  SteadyWriter(std::filesystem::path file, std::size_t chunk, milliseconds period)
      : thread_([this, file = std::move(file), chunk, period] {
          std::ofstream out(file, std::ios::binary | std::ios::app);
          const std::string data(chunk, 'j');
          while (!stop_) {
            out.write(data.data(), static_cast<std::streamsize>(data.size()));
            out.flush();
            std::this_thread::sleep_for(period);
          }
        }) {}
  ~SteadyWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(StorageIntegrationTest, ASteadilyFillingDiskIsForecastFullBeforeTheThresholdAlertFires) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(8 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentOptions options = Agent(collector.agent_port(), fs.path());
  options.storage_keys =
      "forecast_window = \"3s\"\nforecast_min_samples = 5\n"
      "forecast_warning = \"1h\"\nforecast_critical = \"10m\"\n";
  AgentProcess agent(scratch_ / "agent", options);
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));

  // 1.25 MiB/s: the 70 % warning is about 4.5 s away, full about 6.5 s.
  SteadyWriter writer(fs / "journal.dat", 128 * 1024, milliseconds(100));
  const auto threshold =
      AwaitEvent(collector.db(),
                 "kind = 'storage' AND state = 'firing' AND subject = '" + fs.path().string() + "'",
                 seconds(20));
  writer.Stop();
  ASSERT_TRUE(threshold);
  const auto forecast = AwaitEvent(
      collector.db(), "kind = 'storage_forecast' AND state = 'firing' AND severity = 'critical'");
  ASSERT_TRUE(forecast);
  EXPECT_LT(std::stoll(forecast->at("seq")), std::stoll(threshold->at("seq")));
  EXPECT_EQ(forecast->at("subject"), fs.path().string());
  EXPECT_EQ(forecast->at("unit"), "hours");
  EXPECT_LT(std::stod(forecast->at("value")), 10.0 / 60);
  // Hours, printed with six significant digits.
  EXPECT_NEAR(std::stod(forecast->at("threshold")), 10.0 / 60, 1e-5);
  EXPECT_EQ(forecast->at("category"), "daily_operation_storage");
  EXPECT_NE(forecast->at("summary").find("will be full in"), std::string::npos)
      << forecast->at("summary");

  // Growth stopped: once the window has slid past it, the forecast resolves
  // while the disk stays above its warning level.
  const auto resolved =
      AwaitEvent(collector.db(), "kind = 'storage_forecast' AND state = 'resolved'");
  ASSERT_TRUE(resolved);
  EXPECT_GT(std::stod(resolved->at("value")), 1.0);
  EXPECT_TRUE(
      CollectorEvents(collector.db(), "atm-it-01", "kind = 'storage' AND state = 'resolved'")
          .empty());
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(StorageIntegrationTest, AFilesystemMountedAfterTheAgentStartedIsWatchedAndAlerts) {
  std::filesystem::create_directories(scratch_ / "listed");
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentOptions options = Agent(collector.agent_port(), scratch_ / "listed");
  options.all_mounts = true;
  AgentProcess agent(scratch_ / "agent", options);
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));

  TmpfsMount late(scratch_ / "late", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(late.mounted());
  ASSERT_GE(FillFile(late / "journal.dat", 4 * kMiB * 95 / 100), 4 * kMiB * 85 / 100);
  const std::string subject = late.path().string();
  const auto alert = AwaitEvent(collector.db(),
                                "kind = 'storage' AND state = 'firing' AND "
                                "severity = 'critical' AND subject = '" +
                                    subject + "'");
  ASSERT_TRUE(alert);
  EXPECT_GE(std::stod(alert->at("value")), 90.0);  // the [storage] defaults
  EXPECT_EQ(alert->at("category"), "daily_operation_storage");
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

TEST_F(StorageIntegrationTest, AWatchedFilesystemUnmountedIsAnAlertAndMountedAgainResolves) {
  auto fs = std::make_unique<TmpfsMount>(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs->mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs->path()));
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));

  const std::string subject = fs->path().string();
  ASSERT_TRUE(fs->Unmount());
  const auto alert =
      AwaitEvent(collector.db(), "subject = 'unmounted:" + subject + "' AND state = 'firing'");
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->at("kind"), "storage");
  EXPECT_EQ(alert->at("severity"), "critical");
  EXPECT_EQ(alert->at("category"), "daily_operation_storage");
  EXPECT_EQ(alert->at("impact_unavailable"), "withdrawal,deposit");
  EXPECT_EQ(alert->at("summary"), subject + " is no longer mounted (critical)");

  fs = std::make_unique<TmpfsMount>(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs->mounted());
  const auto resolved =
      AwaitEvent(collector.db(), "subject = 'unmounted:" + subject + "' AND state = 'resolved'");
  ASSERT_TRUE(resolved);
  EXPECT_GT(std::stoll(resolved->at("seq")), std::stoll(alert->at("seq")));
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

// The evidence follows the alert: the firing event is stored at once, and
// the snapshot (the largest directories, a configured command and file)
// reaches the collector as a notice of the same alert right behind it,
// while a command that hangs is killed at its limit and said so.
TEST_F(StorageIntegrationTest, AFiringAlertCarriesItsDiagnosticSnapshotToTheCollector) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  {
    std::ofstream log(scratch_ / "app.txt");
    for (int i = 1; i <= 200; ++i) log << "dispense " << i << " ok\n";
  }
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentOptions options = Agent(collector.agent_port(), fs.path());
  options.extra =
      "[diagnostics]\nwalk_time_limit = \"2s\"\n"
      "[[diagnostics.command]]\nname = \"uname\"\ncommand = [\"uname\", \"-s\"]\n"
      "[[diagnostics.command]]\nname = \"hung\"\n"
      "command = [\"/bin/sleep\", \"30\"]\ntime_limit = \"500ms\"\n"
      "[[diagnostics.file]]\nname = \"app\"\npath = \"" +
      (scratch_ / "app.txt").string() + "\"\n";
  AgentProcess agent(scratch_ / "agent", options);
  ASSERT_TRUE(WaitFor([&] { return Connected(collector.db()); }, seconds(20)));

  std::filesystem::create_directories(fs / "ej");
  ASSERT_GE(FillFile(fs / "ej/journal.dat", 4 * kMiB * 95 / 100), 4 * kMiB * 85 / 100);
  const std::string key = "storage:" + fs.path().string();
  const auto firing = AwaitEvent(collector.db(), "alert_key = '" + key + "' AND state = 'firing'");
  ASSERT_TRUE(firing);
  const auto snapshot =
      AwaitEvent(collector.db(),
                 "alert_key = '" + key + "' AND state = 'notice' AND seq > " + firing->at("seq"));
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->at("kind"), "storage");
  EXPECT_EQ(snapshot->at("category"), "daily_operation_storage");
  const auto context = nlohmann::json::parse(snapshot->at("context_json"));
  EXPECT_EQ(context.value("fired_at_unix_ns", ""), firing->at("wall_time_unix_ns"));
  EXPECT_NE(context.value("top_directories", "").find((fs / "ej").string()), std::string::npos)
      << context.dump();
  EXPECT_EQ(context.value("command.uname", ""), "Linux\n");
  EXPECT_EQ(
      context.value("command.hung", "").rfind("killed (SIGKILL) at its time limit of 500 ms", 0),
      0u)
      << context.dump();
  const std::string app = context.value("file.app", "");
  EXPECT_EQ(app.substr(app.size() - 17), "\ndispense 200 ok\n") << app;
  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

// A watched configuration file that changes is a program-update notice
// with the old and new SHA-256 at the collector, and so is a change made
// while the agent was stopped, once it runs again.
TEST_F(StorageIntegrationTest, AWatchedFileThatChangesIsAProgramUpdateNoticeAcrossARestart) {
  const std::filesystem::path app = scratch_ / "app.conf";
  std::ofstream(app) << "dispense_limit = 50\n";
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentOptions options = Agent(collector.agent_port(), scratch_.path());
  options.extra = "[file_changes]\ninterval = \"200ms\"\npaths = [\"" + app.string() + "\"]\n";
  const std::string key = "alert_key = 'config_change:" + app.string() + "'";
  auto fingerprint = [](const Row& row) {
    return nlohmann::json::parse(row.at("context_json")).value("fingerprint", "");
  };
  auto previous = [](const Row& row) {
    return nlohmann::json::parse(row.at("context_json")).value("previous_fingerprint", "");
  };
  std::string second;
  {
    AgentProcess agent(scratch_ / "agent", options);
    const auto watching = AwaitEvent(collector.db(), key + " AND severity = 'info'");
    ASSERT_TRUE(watching);
    EXPECT_EQ(watching->at("state"), "notice");
    EXPECT_EQ(watching->at("category"), "program_update");
    const std::string first = fingerprint(*watching);
    EXPECT_EQ(first.rfind("sha256:", 0), 0u) << first;

    std::ofstream(app) << "dispense_limit = 500\n";
    const auto changed = AwaitEvent(collector.db(), key + " AND severity = 'warning'");
    ASSERT_TRUE(changed);
    EXPECT_EQ(previous(*changed), first);
    second = fingerprint(*changed);
    EXPECT_NE(second, first);
    EXPECT_EQ(agent.process().Stop(), 0);
  }
  std::ofstream(app) << "dispense_limit = 5000\n";
  AgentProcess restarted(scratch_ / "agent", options);
  const auto after = AwaitEvent(collector.db(), key +
                                                    " AND severity = 'warning' AND context_json "
                                                    "LIKE '%previous_fingerprint\":\"" +
                                                    second + "%'");
  ASSERT_TRUE(after);
  EXPECT_TRUE(CollectorEvents(collector.db(), "atm-it-01", key + " AND severity = 'info'").size() ==
              1u);  // no second "watching": the restart compared with the last fingerprint
  EXPECT_EQ(restarted.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

}  // namespace
}  // namespace atmhealth::testing
