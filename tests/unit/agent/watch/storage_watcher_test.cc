#include "agent/watch/storage_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/rules/rule_set.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr std::uint64_t kMiB = 1024 * 1024;

// Answers from a table the test fills; a path not in it does not exist.
class FakeFilesystemProbe final : public platform::FilesystemProbe {
 public:
  Result<platform::FilesystemStats> Probe(const std::string& path) override {
    probed.push_back(path);
    auto answer = answers.find(path);
    if (answer == answers.end()) {
      return Error(ErrorCode::kNotFound, "statvfs \"" + path + "\": No such file or directory");
    }
    return answer->second;
  }

  std::map<std::string, Result<platform::FilesystemStats>> answers;
  std::vector<std::string> probed;
};

platform::FilesystemStats Stats(std::uint64_t total, std::uint64_t available,
                                std::uint64_t total_inodes, std::uint64_t free_inodes) {
  platform::FilesystemStats stats;
  stats.total_bytes = total;
  stats.free_bytes = available;
  stats.available_bytes = available;
  stats.total_inodes = total_inodes;
  stats.free_inodes = free_inodes;
  return stats;
}

FilesystemRule Rule(const std::string& path) {
  FilesystemRule rule;
  rule.path = path;
  return rule;
}

const Measurement* Find(const std::vector<Measurement>& measurements, v1::AlertKind kind,
                        const std::string& subject) {
  for (const Measurement& measurement : measurements) {
    if (measurement.kind == kind && measurement.subject == subject) return &measurement;
  }
  return nullptr;
}

// Declares the watcher's rules as the daemon does; none may be refused.
void Declare(const Watcher& watcher, RuleSet& rules) {
  FakeClock clock;
  std::vector<v1::Event> retired;
  const Status declared = rules.Declare(watcher.name(), watcher.Rules(), clock, retired);
  EXPECT_TRUE(declared.ok()) << declared.error().message();
  EXPECT_TRUE(retired.empty());
}

// Captures what the watcher logs, to check it logs transitions only.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100)),
        previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  // "<level> <message>" of each line logged, oldest first.
  std::vector<std::string> lines() const {
    std::vector<std::string> lines = sink_->last_formatted();
    for (std::string& line : lines) {
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    }
    return lines;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(StorageWatcher, MeasuresSpaceAndInodesWithTheirContext) {
  FakeFilesystemProbe probe;
  platform::FilesystemStats var = Stats(1000 * kMiB, 150 * kMiB, 1000, 100);
  var.read_only = true;
  probe.answers.emplace("/var", var);
  StorageConfig config;
  config.filesystems = {Rule("/var")};
  auto watcher = StorageWatcher::Create(config, probe, testing::Fixture("proc").string());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  EXPECT_EQ((*watcher)->name(), "storage");

  std::vector<Measurement> out;
  (*watcher)->Sample(out);
  // Space, inodes, probe health, and whether it is still mounted and still
  // writable: the mount table has it read-write, statvfs says read-only.
  ASSERT_EQ(out.size(), 5u);
  const Measurement* mounted = Find(out, v1::ALERT_KIND_STORAGE, "unmounted:/var");
  ASSERT_NE(mounted, nullptr);
  EXPECT_EQ(mounted->value, 0) << "/var is in the mount table";
  const Measurement* writable = Find(out, v1::ALERT_KIND_STORAGE, "read-only:/var");
  ASSERT_NE(writable, nullptr);
  EXPECT_EQ(writable->value, 1) << "mounted read-write in the mount table, read-only now";

  const Measurement* space = Find(out, v1::ALERT_KIND_STORAGE, "/var");
  ASSERT_NE(space, nullptr);
  EXPECT_DOUBLE_EQ(space->value, 85.0);
  EXPECT_EQ(space->unit, v1::UNIT_PERCENT);
  EXPECT_THAT(space->context,
              ElementsAre(Pair("mount_point", "/var"), Pair("mount_device", "/dev/mapper/vg1-var"),
                          Pair("fs_type", "ext4"), Pair("total_bytes", "1048576000"),
                          Pair("used_bytes", "891289600"), Pair("available_bytes", "157286400"),
                          Pair("total_inodes", "1000"), Pair("free_inodes", "100"),
                          Pair("read_only", "true")));

  const Measurement* inodes = Find(out, v1::ALERT_KIND_INODES, "/var");
  ASSERT_NE(inodes, nullptr);
  EXPECT_DOUBLE_EQ(inodes->value, 90.0);
  EXPECT_EQ(inodes->unit, v1::UNIT_PERCENT);
  EXPECT_EQ(inodes->context, space->context);

  const Measurement* health = Find(out, v1::ALERT_KIND_AGENT_HEALTH, "probe:/var");
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(health->value, 0);
}

TEST(StorageWatcher, ADirectoryIsAttributedToTheMountHoldingIt) {
  FakeFilesystemProbe probe;
  probe.answers.emplace("/var/lib/atm journal/2024", Stats(100, 50, 10, 5));
  probe.answers.emplace("/srv/ej", Stats(100, 50, 10, 5));
  StorageConfig config;
  config.filesystems = {Rule("/var/lib/atm journal/2024"), Rule("/srv/ej")};
  auto watcher = StorageWatcher::Create(config, probe, testing::Fixture("proc").string());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  std::vector<Measurement> out;
  (*watcher)->Sample(out);

  const Measurement* journal = Find(out, v1::ALERT_KIND_STORAGE, "/var/lib/atm journal/2024");
  ASSERT_NE(journal, nullptr);
  EXPECT_THAT(journal->context[0], Pair("mount_point", "/var/lib/atm journal"));
  EXPECT_THAT(journal->context[1], Pair("mount_device", "/dev/mapper/vg0-journal"));
  const Measurement* ej = Find(out, v1::ALERT_KIND_STORAGE, "/srv/ej");
  ASSERT_NE(ej, nullptr);
  EXPECT_THAT(ej->context[0], Pair("mount_point", "/"));
}

TEST(StorageWatcher, NoInodeMeasurementWhenTheFilesystemHasNoInodeLimit) {
  FakeFilesystemProbe probe;
  probe.answers.emplace("/boot/efi", Stats(512 * kMiB, 500 * kMiB, 0, 0));  // vfat
  StorageConfig config;
  config.filesystems = {Rule("/boot/efi")};
  auto watcher = StorageWatcher::Create(config, probe, testing::Fixture("proc").string());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  std::vector<Measurement> out;
  (*watcher)->Sample(out);
  EXPECT_NE(Find(out, v1::ALERT_KIND_STORAGE, "/boot/efi"), nullptr);
  EXPECT_EQ(Find(out, v1::ALERT_KIND_INODES, "/boot/efi"), nullptr);
}

TEST(StorageWatcher, AFailingProbeIsAMeasurementLoggedOncePerTransition) {
  LogCapture log;
  FakeFilesystemProbe probe;
  probe.answers.emplace("/var", Stats(100, 50, 10, 5));
  probe.answers.emplace(
      "/mnt/ej", Error(ErrorCode::kTimeout, "statvfs \"/mnt/ej\": no answer within 2000 ms"));
  StorageConfig config;
  config.filesystems = {Rule("/mnt/ej"), Rule("/var")};
  auto watcher = StorageWatcher::Create(config, probe, testing::Fixture("proc").string());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();

  for (int sample = 0; sample < 3; ++sample) {
    std::vector<Measurement> out;
    (*watcher)->Sample(out);
    // The hung mount does not keep the other filesystem from being measured.
    EXPECT_NE(Find(out, v1::ALERT_KIND_STORAGE, "/var"), nullptr);
    EXPECT_EQ(Find(out, v1::ALERT_KIND_STORAGE, "/mnt/ej"), nullptr);
    const Measurement* failure = Find(out, v1::ALERT_KIND_AGENT_HEALTH, "probe:/mnt/ej");
    ASSERT_NE(failure, nullptr);
    EXPECT_EQ(failure->value, 1);
    EXPECT_THAT(failure->context,
                ElementsAre(Pair("error", "statvfs \"/mnt/ej\": no answer within 2000 ms"),
                            Pair("error_code", "timeout")));
  }
  EXPECT_EQ(probe.probed.size(), 6u);

  probe.answers.insert_or_assign("/mnt/ej", Stats(100, 10, 10, 5));
  for (int sample = 0; sample < 2; ++sample) {
    std::vector<Measurement> out;
    (*watcher)->Sample(out);
    const Measurement* health = Find(out, v1::ALERT_KIND_AGENT_HEALTH, "probe:/mnt/ej");
    ASSERT_NE(health, nullptr);
    EXPECT_EQ(health->value, 0);
    EXPECT_NE(Find(out, v1::ALERT_KIND_STORAGE, "/mnt/ej"), nullptr);
  }
  EXPECT_THAT(log.lines(),
              ElementsAre("warning storage: cannot probe /mnt/ej: statvfs \"/mnt/ej\": no answer "
                          "within 2000 ms",
                          "info storage: probing /mnt/ej works again"));
}

TEST(StorageWatcher, AllMountsAddsEveryDataMountWithTheDefaults) {
  FakeFilesystemProbe probe;
  StorageConfig config;
  config.all_mounts = true;
  config.defaults.warning_percent = 70;
  FilesystemRule var = Rule("/var");
  var.warning_percent = 60;
  config.filesystems = {var, Rule("/srv/ej")};
  auto watcher = StorageWatcher::Create(config, probe, testing::Fixture("proc").string());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  // Listed paths first, then each mount not listed, in mount table order.
  EXPECT_THAT((*watcher)->WatchedPaths(),
              ElementsAre("/var", "/srv/ej", "/", "/boot", "/boot/efi", "/var/lib/atm journal",
                          "/mnt/ej", "/var/spool/atm"));

  RuleSet rules;
  Declare(**watcher, rules);
  EXPECT_EQ(rules.FindThreshold("storage:/var")->warning, 60);
  EXPECT_EQ(rules.FindThreshold("storage:/boot")->warning, 70);
  // Space, inodes, read-only, forecast and probe for each filesystem, and
  // "unmounted" for the two listed ones.
  EXPECT_EQ(rules.rules().size(), 8u * 5 + 2);

  std::vector<Measurement> out;
  (*watcher)->Sample(out);
  EXPECT_EQ(probe.probed, (*watcher)->WatchedPaths());
}

TEST(StorageWatcher, AllMountsNeedsTheMountTable) {
  FakeFilesystemProbe probe;
  testing::ScratchDir scratch;
  StorageConfig config;
  config.all_mounts = true;
  auto watcher = StorageWatcher::Create(config, probe, (scratch / "proc").string());
  ASSERT_FALSE(watcher.ok());
  EXPECT_EQ(watcher.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(watcher.error().message(), HasSubstr("storage: all_mounts needs the mount table"));
  EXPECT_THAT(watcher.error().message(), HasSubstr("proc/self/mounts"));

  // Listed filesystems are watched without it, only without mount context.
  config.all_mounts = false;
  config.filesystems = {Rule("/var")};
  probe.answers.emplace("/var", Stats(100, 50, 10, 5));
  auto listed = StorageWatcher::Create(config, probe, (scratch / "proc").string());
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  std::vector<Measurement> out;
  (*listed)->Sample(out);
  const Measurement* space = Find(out, v1::ALERT_KIND_STORAGE, "/var");
  ASSERT_NE(space, nullptr);
  EXPECT_THAT(space->context.front(), Pair("total_bytes", "100"));
}

TEST(StorageWatcher, RegistersStorageInodeAndProbeRules) {
  FakeFilesystemProbe probe;
  StorageConfig config;
  FilesystemRule var = Rule("/var");
  var.warning_percent = 75;
  var.critical_percent = 88;
  var.hysteresis_percent = 3;
  var.for_duration = std::chrono::minutes(1);
  var.inodes_warning_percent = 70;
  var.inodes_critical_percent = 85;
  var.impact_unavailable = {v1::CUSTOMER_SERVICE_WITHDRAWAL};
  var.impact_degraded = {v1::CUSTOMER_SERVICE_INQUIRY};
  config.filesystems = {var};
  auto watcher = StorageWatcher::Create(config, probe, testing::Fixture("proc").string());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  RuleSet rules;
  Declare(**watcher, rules);
  // Space, inodes, read-only, forecast, probe and unmounted.
  ASSERT_EQ(rules.rules().size(), 6u);

  const ThresholdSpec& space = *rules.FindThreshold("storage:/var");
  EXPECT_EQ(space.warning, 75);
  EXPECT_EQ(space.critical, 88);
  EXPECT_EQ(space.hysteresis, 3);
  EXPECT_EQ(space.for_duration, std::chrono::minutes(1));
  EXPECT_TRUE(space.higher_is_worse);
  EXPECT_EQ(space.category, v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  EXPECT_EQ(space.impact_unavailable, var.impact_unavailable);
  EXPECT_EQ(space.impact_degraded, var.impact_degraded);

  const ThresholdSpec& inodes = *rules.FindThreshold("inodes:/var");
  EXPECT_EQ(inodes.warning, 70);
  EXPECT_EQ(inodes.critical, 85);
  EXPECT_EQ(inodes.category, v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  EXPECT_EQ(inodes.impact_unavailable, var.impact_unavailable);

  const ThresholdSpec& probe_failure = *rules.FindThreshold("agent_health:probe:/var");
  EXPECT_EQ(probe_failure.warning, 1);
  EXPECT_EQ(probe_failure.critical, 1);
  EXPECT_EQ(probe_failure.category, v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY);
}

TEST(StorageWatcher, WithRulesAFullDiskBecomesACriticalAlertWithItsImpact) {
  FakeFilesystemProbe probe;
  probe.answers.emplace("/var", Stats(1000, 40, 1000, 900));
  StorageConfig config;
  FilesystemRule var = Rule("/var");
  var.impact_unavailable = {v1::CUSTOMER_SERVICE_WITHDRAWAL};
  config.filesystems = {var};
  auto watcher = StorageWatcher::Create(config, probe, testing::Fixture("proc").string());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  RuleSet rules;
  Declare(**watcher, rules);
  FakeClock clock;

  std::vector<Measurement> measurements;
  (*watcher)->Sample(measurements);
  std::vector<v1::Event> events;
  rules.Evaluate(measurements, clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].alert_key(), "storage:/var");
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(events[0].summary(), "/var is 96.0% full (critical at 90%)");
  EXPECT_THAT(events[0].impact().unavailable(), ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL));
  EXPECT_EQ(events[0].context(1).key(), "mount_device");
  EXPECT_EQ(events[0].context(1).value(), "/dev/mapper/vg1-var");

  // The mount hangs: the probe alert fires, the space alert stays as it was.
  probe.answers.insert_or_assign("/var", Error(ErrorCode::kTimeout, "statvfs \"/var\": hung"));
  measurements.clear();
  events.clear();
  (*watcher)->Sample(measurements);
  rules.Evaluate(measurements, clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].alert_key(), "agent_health:probe:/var");
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(events[0].category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_RECOVERY);
  EXPECT_EQ(rules.Find("storage:/var")->firing_severity(), v1::SEVERITY_CRITICAL);
}

// A real tmpfs, filled with a real file, probed by the real statvfs probe.
// Mounting needs root: without it the test fails with a message saying so.
class StorageWatcherOnTmpfs : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(disk_.mounted()); }
  std::string mount_dir() const { return scratch_.path().string(); }

  testing::ScratchDir scratch_;
  testing::TmpfsMount disk_{scratch_.path(), "size=8m,nr_inodes=128"};
};

TEST_F(StorageWatcherOnTmpfs, FillingTheDiskFiresAndEmptyingItResolves) {
  auto probe = platform::FilesystemProbe::Create(std::chrono::seconds(2));
  StorageConfig config;
  FilesystemRule journal = Rule(mount_dir());
  journal.warning_percent = 50;
  journal.critical_percent = 70;
  journal.impact_unavailable = {v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT};
  config.filesystems = {journal};
  // The real mount table, so the context names the tmpfs.
  auto watcher = StorageWatcher::Create(config, *probe);
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  RuleSet rules;
  Declare(**watcher, rules);
  FakeClock clock;
  const auto sample = [&] {
    std::vector<Measurement> measurements;
    (*watcher)->Sample(measurements);
    std::vector<v1::Event> events;
    rules.Evaluate(measurements, clock, events);
    return std::make_pair(measurements, events);
  };

  auto [empty, no_events] = sample();
  const Measurement* space = Find(empty, v1::ALERT_KIND_STORAGE, mount_dir());
  ASSERT_NE(space, nullptr);
  EXPECT_DOUBLE_EQ(space->value, 0);
  EXPECT_TRUE(no_events.empty());

  {
    std::ofstream file(scratch_ / "journal.dat", std::ios::binary);
    const std::string chunk(64 * 1024, 'j');
    for (int i = 0; i < 96; ++i) file << chunk;  // 6 MiB of 8
    ASSERT_TRUE(file.good());
  }
  auto [full, fired] = sample();
  space = Find(full, v1::ALERT_KIND_STORAGE, mount_dir());
  ASSERT_NE(space, nullptr);
  EXPECT_DOUBLE_EQ(space->value, 75.0);
  const Measurement* inodes = Find(full, v1::ALERT_KIND_INODES, mount_dir());
  ASSERT_NE(inodes, nullptr);
  EXPECT_DOUBLE_EQ(inodes->value, 100.0 * 2 / 128);  // the root directory and the file
  ASSERT_EQ(fired.size(), 1u);
  const v1::Event& alert = fired[0];
  EXPECT_EQ(alert.state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(alert.severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(alert.subject(), mount_dir());
  EXPECT_EQ(alert.value(), 75.0);
  EXPECT_EQ(alert.threshold(), 70);
  EXPECT_THAT(alert.impact().unavailable(),
              ElementsAre(v1::CUSTOMER_SERVICE_WITHDRAWAL, v1::CUSTOMER_SERVICE_DEPOSIT));
  EXPECT_EQ(alert.summary(), mount_dir() + " is 75.0% full (critical at 70%)");
  std::map<std::string, std::string> context;
  for (const v1::ContextEntry& entry : alert.context()) context[entry.key()] = entry.value();
  EXPECT_EQ(context["mount_point"], mount_dir());
  EXPECT_EQ(context["fs_type"], "tmpfs");
  EXPECT_EQ(context["total_bytes"], std::to_string(8 * kMiB));
  EXPECT_EQ(context["used_bytes"], std::to_string(6 * kMiB));
  EXPECT_EQ(context["available_bytes"], std::to_string(2 * kMiB));
  EXPECT_EQ(context["total_inodes"], "128");
  EXPECT_EQ(context["read_only"], "false");

  std::filesystem::remove(scratch_ / "journal.dat");
  auto [emptied, resolved] = sample();
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(resolved[0].severity(), v1::SEVERITY_CRITICAL);
}

// A /proc tree whose mount table the test rewrites between samples.
class MountTableFixture {
 public:
  MountTableFixture() { std::filesystem::create_directories(scratch_ / "proc" / "self"); }
  void Write(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    testing::WriteFile(scratch_ / "proc" / "self" / "mounts", text);
  }
  std::string root() const { return (scratch_ / "proc").string(); }

 private:
  testing::ScratchDir scratch_;
};

const std::string kRootMount = "/dev/mapper/vg0-root / ext4 rw,relatime 0 0";
const std::string kVarMount = "/dev/mapper/vg0-var /var xfs rw,relatime 0 0";
const std::string kUsbMount = "/dev/sdc1 /mnt/usb vfat rw,relatime 0 0";
const std::string kEjMount = "/dev/sdb1 /srv/ej ext4 rw,relatime 0 0";

std::string ContextOf(const Measurement& measurement, const std::string& key) {
  for (const auto& [name, value] : measurement.context) {
    if (name == key) return value;
  }
  return "";
}

TEST(StorageWatcher, WithAllMountsAFilesystemMountedLaterIsWatchedAndOneUnmountedIsDropped) {
  MountTableFixture proc;
  proc.Write({kRootMount, kVarMount});
  FakeFilesystemProbe probe;
  for (const char* path : {"/", "/var", "/mnt/usb"})
    probe.answers.emplace(path, Stats(100, 50, 10, 5));
  StorageConfig config;
  config.all_mounts = true;
  auto watcher = StorageWatcher::Create(config, probe, proc.root());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  EXPECT_THAT((*watcher)->WatchedPaths(), ElementsAre("/", "/var"));

  proc.Write({kRootMount, kVarMount, kUsbMount});
  std::vector<Measurement> out;
  (*watcher)->Sample(out);
  EXPECT_THAT((*watcher)->WatchedPaths(), ElementsAre("/", "/var", "/mnt/usb"));
  const Measurement* usb = Find(out, v1::ALERT_KIND_STORAGE, "/mnt/usb");
  ASSERT_NE(usb, nullptr);
  EXPECT_EQ(ContextOf(*usb, "mount_device"), "/dev/sdc1");
  RuleSet rules;
  FakeClock clock;
  std::vector<v1::Event> events;
  ASSERT_TRUE(rules.Declare("storage", (*watcher)->Rules(), clock, events).ok());
  EXPECT_NE(rules.Find("storage:/mnt/usb"), nullptr);

  proc.Write({kRootMount, kVarMount});
  out.clear();
  (*watcher)->Sample(out);
  EXPECT_THAT((*watcher)->WatchedPaths(), ElementsAre("/", "/var"));
  EXPECT_EQ(Find(out, v1::ALERT_KIND_STORAGE, "/mnt/usb"), nullptr);
  ASSERT_TRUE(rules.Declare("storage", (*watcher)->Rules(), clock, events).ok());
  EXPECT_EQ(rules.Find("storage:/mnt/usb"), nullptr);
}

TEST(StorageWatcher, AListedPathWhoseMountGoesAwayIsUnmountedAndNotMeasuredUntilItIsBack) {
  MountTableFixture proc;
  proc.Write({kRootMount, kEjMount});
  FakeFilesystemProbe probe;
  probe.answers.emplace("/srv/ej", Stats(100, 50, 10, 5));
  StorageConfig config;
  config.filesystems = {Rule("/srv/ej")};
  auto watcher = StorageWatcher::Create(config, probe, proc.root());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();

  std::vector<Measurement> out;
  (*watcher)->Sample(out);
  const Measurement* unmounted = Find(out, v1::ALERT_KIND_STORAGE, "unmounted:/srv/ej");
  ASSERT_NE(unmounted, nullptr);
  EXPECT_EQ(unmounted->value, 0);
  EXPECT_NE(Find(out, v1::ALERT_KIND_STORAGE, "/srv/ej"), nullptr);

  proc.Write({kRootMount});
  probe.probed.clear();
  out.clear();
  (*watcher)->Sample(out);
  unmounted = Find(out, v1::ALERT_KIND_STORAGE, "unmounted:/srv/ej");
  ASSERT_NE(unmounted, nullptr);
  EXPECT_EQ(unmounted->value, 1);
  EXPECT_EQ(ContextOf(*unmounted, "mount_point"), "/srv/ej");
  EXPECT_EQ(ContextOf(*unmounted, "mount_device"), "/dev/sdb1");
  // statvfs would measure the root filesystem underneath: not asked.
  EXPECT_TRUE(probe.probed.empty());
  EXPECT_EQ(Find(out, v1::ALERT_KIND_STORAGE, "/srv/ej"), nullptr);
  EXPECT_EQ(Find(out, v1::ALERT_KIND_AGENT_HEALTH, "probe:/srv/ej"), nullptr);

  RuleSet rules;
  FakeClock clock;
  std::vector<v1::Event> events;
  ASSERT_TRUE(rules.Declare("storage", (*watcher)->Rules(), clock, events).ok());
  rules.Evaluate(out, clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].alert_key(), "storage:unmounted:/srv/ej");
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(events[0].category(), v1::FAILURE_CATEGORY_DAILY_OPERATION_STORAGE);
  EXPECT_EQ(events[0].summary(), "/srv/ej is no longer mounted (critical)");

  proc.Write({kRootMount, kEjMount});
  out.clear();
  events.clear();
  (*watcher)->Sample(out);
  EXPECT_EQ(Find(out, v1::ALERT_KIND_STORAGE, "unmounted:/srv/ej")->value, 0);
  EXPECT_NE(Find(out, v1::ALERT_KIND_STORAGE, "/srv/ej"), nullptr);
  rules.Evaluate(out, clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(events[0].summary(), "/srv/ej is mounted, resolved (was critical)");
}

TEST(StorageWatcher, AFilesystemMountedOverAListedPathIsFollowed) {
  MountTableFixture proc;
  proc.Write({kRootMount});
  FakeFilesystemProbe probe;
  probe.answers.emplace("/srv/ej", Stats(100, 50, 10, 5));
  StorageConfig config;
  config.filesystems = {Rule("/srv/ej")};
  auto watcher = StorageWatcher::Create(config, probe, proc.root());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  std::vector<Measurement> out;
  (*watcher)->Sample(out);
  EXPECT_EQ(ContextOf(*Find(out, v1::ALERT_KIND_STORAGE, "/srv/ej"), "mount_point"), "/");

  proc.Write({kRootMount, kEjMount});
  out.clear();
  (*watcher)->Sample(out);
  const Measurement* space = Find(out, v1::ALERT_KIND_STORAGE, "/srv/ej");
  ASSERT_NE(space, nullptr);
  EXPECT_EQ(ContextOf(*space, "mount_point"), "/srv/ej");
  EXPECT_EQ(ContextOf(*space, "mount_device"), "/dev/sdb1");
  EXPECT_EQ(Find(out, v1::ALERT_KIND_STORAGE, "unmounted:/srv/ej")->value, 0);
}

TEST(StorageWatcher, ReadOnlyIsAnAlertOnlyForAFilesystemExpectedWritable) {
  MountTableFixture proc;
  proc.Write({kRootMount, kVarMount, kUsbMount});
  FakeFilesystemProbe probe;
  platform::FilesystemStats read_only = Stats(100, 50, 10, 5);
  read_only.read_only = true;
  probe.answers.emplace("/", Stats(100, 50, 10, 5));
  probe.answers.emplace("/var", read_only);      // listed: must be writable
  probe.answers.emplace("/mnt/usb", read_only);  // found read-only: on purpose
  StorageConfig config;
  config.all_mounts = true;
  config.filesystems = {Rule("/var")};
  auto watcher = StorageWatcher::Create(config, probe, proc.root());
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  const auto flag = [&](const std::string& path) {
    std::vector<Measurement> out;
    (*watcher)->Sample(out);
    return Find(out, v1::ALERT_KIND_STORAGE, "read-only:" + path)->value;
  };
  EXPECT_EQ(flag("/var"), 1);
  EXPECT_EQ(flag("/mnt/usb"), 0);
  probe.answers.insert_or_assign("/mnt/usb", Stats(100, 50, 10, 5));
  EXPECT_EQ(flag("/mnt/usb"), 0);
  probe.answers.insert_or_assign("/mnt/usb", read_only);  // writable once, read-only now
  EXPECT_EQ(flag("/mnt/usb"), 1);
}

TEST(StorageWatcher, ForecastsHoursUntilFullFromTheFitOnceItHasItsSamples) {
  MountTableFixture proc;
  proc.Write({kRootMount, kVarMount});
  FakeFilesystemProbe probe;
  StorageConfig config;
  config.forecast_window = std::chrono::minutes(10);
  config.forecast_min_samples = 3;
  config.filesystems = {Rule("/var")};
  FakeClock clock;
  auto watcher = StorageWatcher::Create(config, probe, proc.root(), clock);
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  // 360 MiB free, 1 MiB less every 10 s: full in an hour.
  const auto sample = [&](int i) {
    probe.answers.insert_or_assign("/var", Stats(1000 * kMiB, (360 - i) * kMiB, 0, 0));
    std::vector<Measurement> out;
    (*watcher)->Sample(out);
    clock.Advance(std::chrono::seconds(10));
    return out;
  };
  EXPECT_EQ(Find(sample(0), v1::ALERT_KIND_STORAGE_FORECAST, "/var"), nullptr);
  EXPECT_EQ(Find(sample(1), v1::ALERT_KIND_STORAGE_FORECAST, "/var"), nullptr);
  const auto out = sample(2);
  const Measurement* forecast = Find(out, v1::ALERT_KIND_STORAGE_FORECAST, "/var");
  ASSERT_NE(forecast, nullptr);
  EXPECT_NEAR(forecast->value, 358.0 * 10 / 3600, 1e-9);
  EXPECT_EQ(forecast->unit, v1::UNIT_HOURS);
  EXPECT_EQ(ContextOf(*forecast, "growth"), "360.0 MiB/h");
  EXPECT_EQ(ContextOf(*forecast, "filling"), "yes");
  EXPECT_EQ(ContextOf(*forecast, "samples"), "3");

  RuleSet rules;
  std::vector<v1::Event> events;
  ASSERT_TRUE(rules.Declare("storage", (*watcher)->Rules(), clock, events).ok());
  const ThresholdSpec* spec = rules.FindThreshold("storage_forecast:/var");
  ASSERT_NE(spec, nullptr);
  EXPECT_FALSE(spec->higher_is_worse);
  EXPECT_EQ(spec->warning, 24);
  EXPECT_EQ(spec->critical, 2);
  rules.Evaluate(out, clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(events[0].summary(),
            "/var will be full in 1.0 h at 360.0 MiB/h (critical at or below 2.0 h)");

  // Growth stops: once the window holds only flat samples, it resolves.
  std::vector<Measurement> flat;
  for (int i = 0; i < 70; ++i) flat = sample(2);
  const Measurement* still = Find(flat, v1::ALERT_KIND_STORAGE_FORECAST, "/var");
  ASSERT_NE(still, nullptr);
  EXPECT_EQ(still->value, StorageWatcher::kNotFillingHours);
  EXPECT_EQ(ContextOf(*still, "filling"), "no");
  events.clear();
  rules.Evaluate(flat, clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(events[0].summary(),
            "/var is not filling up, resolved (was critical; warning at or below 24.0 h)");
}

TEST_F(StorageWatcherOnTmpfs, RemountedReadOnlyIsCritical) {
  auto probe = platform::FilesystemProbe::Create(std::chrono::seconds(2));
  StorageConfig config;
  FilesystemRule journal = Rule(mount_dir());
  journal.impact_unavailable = {v1::CUSTOMER_SERVICE_DEPOSIT};
  config.filesystems = {journal};
  auto watcher = StorageWatcher::Create(config, *probe);
  ASSERT_TRUE(watcher.ok()) << watcher.error().message();
  RuleSet rules;
  Declare(**watcher, rules);
  FakeClock clock;
  std::vector<Measurement> measurements;
  std::vector<v1::Event> events;
  (*watcher)->Sample(measurements);
  rules.Evaluate(measurements, clock, events);
  EXPECT_TRUE(events.empty());

  ASSERT_TRUE(disk_.RemountReadOnly());
  measurements.clear();
  (*watcher)->Sample(measurements);
  rules.Evaluate(measurements, clock, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].alert_key(), "storage:read-only:" + mount_dir());
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(events[0].summary(), mount_dir() + " is read-only (critical)");
  EXPECT_THAT(events[0].impact().unavailable(), ElementsAre(v1::CUSTOMER_SERVICE_DEPOSIT));
  ASSERT_TRUE(disk_.Remount("rw"));
}

}  // namespace
}  // namespace atmhealth::agent
