#include "agent/diagnostics/snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "agent/diagnostics/snapshotter.h"
#include "proto/schema_limits.h"
#include "tests/support/sample_events.h"
#include "tests/support/test_paths.h"

namespace atmhealth::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::atmhealth::testing::SampleEvent;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A firing storage alert on the filesystem mounted at `mount_point`, with
// the context the storage watcher gives it.
v1::Event FiringStorageAlert(const fs::path& mount_point) {
  v1::Event firing = SampleEvent(0);
  firing.clear_context();
  v1::ContextEntry* entry = firing.add_context();
  entry->set_key("mount_point");
  entry->set_value(mount_point.string());
  return firing;
}

DiagnosticSource Command(std::string name, std::vector<std::string> argv,
                         std::chrono::milliseconds limit = 5s) {
  DiagnosticSource source;
  source.name = std::move(name);
  source.command.argv = std::move(argv);
  source.command.time_limit = limit;
  return source;
}

std::map<std::string, std::string> Context(const v1::Event& event) {
  std::map<std::string, std::string> context;
  for (const auto& entry : event.context()) context[entry.key()] = entry.value();
  return context;
}

TEST(TakeSnapshot, IsANoticeOfTheSameAlertTiedToItsFiringEvent) {
  testing::ScratchDir scratch;
  const v1::Event firing = FiringStorageAlert(scratch.path());
  const v1::Event snapshot = TakeSnapshot(DiagnosticsConfig{}, firing, platform::Clock::Real());
  EXPECT_EQ(snapshot.state(), v1::ALERT_STATE_NOTICE);
  EXPECT_EQ(snapshot.severity(), v1::SEVERITY_INFO);
  EXPECT_EQ(snapshot.kind(), firing.kind());
  EXPECT_EQ(snapshot.subject(), firing.subject());
  EXPECT_EQ(snapshot.alert_key(), firing.alert_key());
  EXPECT_EQ(snapshot.category(), firing.category());
  ASSERT_GT(snapshot.context_size(), 0);
  EXPECT_EQ(snapshot.context(0).key(), "fired_at_unix_ns");  // first: what ties it to its alert
  const auto context = Context(snapshot);
  EXPECT_EQ(context.at("fired_at_unix_ns"), std::to_string(firing.wall_time_unix_ns()));
  EXPECT_EQ(context.at("fired_severity"), "critical");
  EXPECT_THAT(snapshot.summary(), StartsWith("diagnostic snapshot of storage:/var/spool/ej"));
}

TEST(TakeSnapshot, AFillingFilesystemGetsItsLargestDirectories) {
  testing::ScratchDir scratch;
  fs::create_directories(scratch / "log/atm");
  std::ofstream(scratch / "log/atm/journal") << std::string(200000, 'j');
  fs::create_directories(scratch / "spool");
  std::ofstream(scratch / "spool/receipt") << std::string(5000, 'r');
  const v1::Event snapshot = TakeSnapshot(DiagnosticsConfig{}, FiringStorageAlert(scratch.path()),
                                          platform::Clock::Real());
  const std::string top = Context(snapshot).at("top_directories");
  EXPECT_THAT(top, HasSubstr((scratch / "log").string()));
  EXPECT_LT(top.find((scratch / "log/atm").string()), top.find((scratch / "spool").string()));
  EXPECT_THAT(snapshot.summary(), HasSubstr("top_directories"));
}

TEST(TakeSnapshot, CommandsAndFilesKeepTheEndOfWhatTheyShowWithinTheSchema) {
  testing::ScratchDir scratch;
  {
    std::ofstream log(scratch / "app.log");
    for (int i = 1; i <= 5000; ++i) log << "transaction " << i << " ok\n";
  }
  DiagnosticsConfig config;
  config.top_directories = 0;
  config.commands.push_back(Command("counter", {"/usr/bin/seq", "1", "3000"}));
  config.commands.push_back(Command("failing", {"/bin/sh", "-c", "echo no controller; exit 3"}));
  DiagnosticSource file;
  file.name = "app";
  file.path = (scratch / "app.log").string();
  config.files.push_back(file);
  DiagnosticSource missing;
  missing.name = "gone";
  missing.path = (scratch / "gone.log").string();
  config.files.push_back(missing);

  const v1::Event snapshot =
      TakeSnapshot(config, FiringStorageAlert(scratch.path()), platform::Clock::Real());
  const auto context = Context(snapshot);
  EXPECT_EQ(context.count("top_directories"), 0u);
  const std::string& counter = context.at("command.counter");
  EXPECT_THAT(counter, StartsWith(std::string(wire::kCutMarker)));
  EXPECT_THAT(counter, EndsWith("\n2999\n3000\n"));
  EXPECT_LE(counter.size(), wire::kMaxContextValueBytes);
  EXPECT_EQ(context.at("command.failing"), "exit status 3\nno controller\n");
  EXPECT_THAT(context.at("file.app"), EndsWith("transaction 5000 ok\n"));
  EXPECT_LE(context.at("file.app").size(), wire::kMaxContextValueBytes);
  EXPECT_THAT(context.at("file.gone"), StartsWith("cannot read: "));
  EXPECT_THAT(snapshot.summary(),
              HasSubstr("command.counter, command.failing, file.app, file.gone"));
}

TEST(TakeSnapshot, ACommandThatHangsIsKilledAtItsLimitAndSaysSo) {
  DiagnosticsConfig config;
  config.top_directories = 0;
  config.commands.push_back(
      Command("hang", {"/bin/sh", "-c", "echo started; exec sleep 30"}, 300ms));
  const v1::Event snapshot = TakeSnapshot(config, SampleEvent(0), platform::Clock::Real());
  const std::string hang = Context(snapshot).at("command.hang");
  EXPECT_THAT(hang, StartsWith("killed (SIGKILL) at its time limit of 300 ms"));
  EXPECT_THAT(hang, EndsWith("started\n"));
}

TEST(TakeSnapshot, ASourceIsTakenOnlyForTheAlertKindsItNames) {
  DiagnosticsConfig config;
  config.top_directories = 0;
  DiagnosticSource raid_only = Command("mdadm", {"/bin/echo", "detail"});
  raid_only.kinds = {v1::ALERT_KIND_RAID};
  config.commands.push_back(raid_only);
  const auto storage = Context(TakeSnapshot(config, SampleEvent(0), platform::Clock::Real()));
  EXPECT_EQ(storage.count("command.mdadm"), 0u);
  v1::Event raid = SampleEvent(0);
  raid.set_kind(v1::ALERT_KIND_RAID);
  EXPECT_EQ(Context(TakeSnapshot(config, raid, platform::Clock::Real())).at("command.mdadm"),
            "detail\n");
}

// The sampler hands over the firing event and goes on: Take returns while
// the command is still blocked, and the snapshot follows once it ends.
TEST(Snapshotter, TakeNeverWaitsForTheSnapshotAndAStormBeyondMaxPendingIsSkipped) {
  testing::ScratchDir scratch;
  const fs::path release = scratch / "release";
  DiagnosticsConfig config;
  config.top_directories = 0;
  config.max_pending = 2;
  config.commands.push_back(
      Command("blocked",
              {"/bin/sh", "-c", "while [ ! -e \"$0\" ]; do sleep 0.01; done; echo released",
               release.string()},
              30s));
  std::promise<std::vector<v1::Event>> two;
  std::vector<v1::Event> received;
  Snapshotter snapshotter(
      config,
      [&](v1::Event snapshot) {
        received.push_back(std::move(snapshot));
        if (received.size() == 2) two.set_value(received);
      },
      platform::Clock::Real());

  EXPECT_TRUE(snapshotter.Take(SampleEvent(1)));
  EXPECT_TRUE(snapshotter.Take(SampleEvent(2)));
  EXPECT_FALSE(snapshotter.Take(SampleEvent(3)));  // two already pending
  Snapshotter::Counters counters = snapshotter.counters();
  EXPECT_EQ(counters.pending, 2u);
  EXPECT_EQ(counters.skipped, 1u);
  EXPECT_EQ(counters.taken, 0u);  // the command still waits for the release

  std::ofstream(release).put('x');
  auto future = two.get_future();
  ASSERT_EQ(future.wait_for(30s), std::future_status::ready);
  const auto snapshots = future.get();
  EXPECT_EQ(Context(snapshots[0]).at("command.blocked"), "released\n");
  EXPECT_EQ(Context(snapshots[0]).at("fired_at_unix_ns"),
            std::to_string(SampleEvent(1).wall_time_unix_ns()));
  snapshotter.Stop();
  counters = snapshotter.counters();
  EXPECT_EQ(counters.taken, 2u);
  EXPECT_EQ(counters.pending, 0u);
  EXPECT_NE(counters.last_unix_ns, 0);
}

TEST(Snapshotter, OffTakesNothing) {
  DiagnosticsConfig config;
  config.enabled = false;
  Snapshotter snapshotter(
      config, [](v1::Event) { FAIL() << "no snapshot when off"; }, platform::Clock::Real());
  EXPECT_FALSE(snapshotter.Take(SampleEvent(1)));
  EXPECT_EQ(snapshotter.counters().skipped, 0u);
}

}  // namespace
}  // namespace atmhealth::agent
