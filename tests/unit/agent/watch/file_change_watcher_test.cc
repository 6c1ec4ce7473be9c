// The file-change watcher with real files and the real rules: a change is a
// notice with the old and new SHA-256, across a restart too.
#include "agent/watch/file_change_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "agent/rules/rule_set.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/rules/fake_clock.h"

namespace atmhealth::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// sha256("abc") and sha256("abd").
constexpr char kAbc[] = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kAbd[] = "sha256:a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9";

void Write(const fs::path& file, const std::string& content) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
}

std::map<std::string, std::string> ContextOf(const v1::Event& event) {
  std::map<std::string, std::string> context;
  for (const auto& entry : event.context()) context[entry.key()] = entry.value();
  return context;
}

// A watcher and its rules, sampled as the daemon does.
class Watched {
 public:
  explicit Watched(FileChangeConfig config) : watcher_(config) {
    std::vector<v1::Event> none;
    EXPECT_TRUE(rules_.Declare("file_changes", watcher_.Rules(), clock_, none).ok());
  }
  // The events of one sample.
  std::vector<v1::Event> Sample() {
    clock_.Advance(std::chrono::seconds(60));
    std::vector<Measurement> measurements;
    watcher_.Sample(measurements);
    std::vector<v1::Event> events;
    rules_.Evaluate(measurements, clock_, events);
    return events;
  }
  RuleSet& rules() { return rules_; }

 private:
  FakeClock clock_;
  FileChangeWatcher watcher_;
  RuleSet rules_;
};

FileChangeConfig ConfigFor(std::vector<std::string> paths) {
  FileChangeConfig config;
  config.paths = std::move(paths);
  return config;
}

TEST(FileChangeWatcher, AChangeIsAProgramUpdateNoticeWithTheOldAndNewSha256) {
  testing::ScratchDir scratch;
  const fs::path file = scratch / "app.conf";
  Write(file, "abc");
  Watched watched(ConfigFor({file.string()}));

  auto events = watched.Sample();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state(), v1::ALERT_STATE_NOTICE);
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_INFO);  // the first sight: a record
  EXPECT_EQ(events[0].kind(), v1::ALERT_KIND_CONFIG_CHANGE);
  EXPECT_EQ(events[0].alert_key(), "config_change:" + file.string());
  EXPECT_EQ(ContextOf(events[0])["fingerprint"], kAbc);
  EXPECT_THAT(events[0].summary(), HasSubstr("watching"));
  EXPECT_TRUE(watched.Sample().empty());  // unchanged: nothing to say

  Write(file, "abd");
  events = watched.Sample();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(events[0].category(), v1::FAILURE_CATEGORY_PROGRAM_UPDATE);
  EXPECT_EQ(ContextOf(events[0])["previous_fingerprint"], kAbc);
  EXPECT_EQ(ContextOf(events[0])["fingerprint"], kAbd);
  EXPECT_EQ(ContextOf(events[0])["size_bytes"], "3");
  EXPECT_THAT(events[0].summary(), HasSubstr(std::string(kAbc) + " -> " + kAbd));
}

TEST(FileChangeWatcher, ATouchWithoutAChangeOfContentIsNoNotice) {
  testing::ScratchDir scratch;
  const fs::path file = scratch / "app.conf";
  Write(file, "abc");
  Watched watched(ConfigFor({file.string()}));
  ASSERT_EQ(watched.Sample().size(), 1u);
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::hours(1));
  Write(file, "abc");  // rewritten, same bytes
  EXPECT_TRUE(watched.Sample().empty());
}

TEST(FileChangeWatcher, ARemovedFileIsANoticeAndSoIsItsReturn) {
  testing::ScratchDir scratch;
  const fs::path file = scratch / "app.conf";
  Write(file, "abc");
  Watched watched(ConfigFor({file.string()}));
  ASSERT_EQ(watched.Sample().size(), 1u);
  fs::remove(file);
  auto events = watched.Sample();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(ContextOf(events[0])["fingerprint"], "missing");
  EXPECT_EQ(ContextOf(events[0])["previous_fingerprint"], kAbc);
  Write(file, "abd");
  events = watched.Sample();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(ContextOf(events[0])["previous_fingerprint"], "missing");
  EXPECT_EQ(ContextOf(events[0])["fingerprint"], kAbd);
}

TEST(FileChangeWatcher, AFileThatCannotBeHashedIsTheAgentsHealthNotAChange) {
  testing::ScratchDir scratch;
  const fs::path file = scratch / "big.bin";
  Write(file, std::string(2048, 'b'));
  fs::create_directories(scratch / "dir");
  FileChangeConfig config = ConfigFor({file.string(), (scratch / "dir").string()});
  config.max_file_bytes = 1024;
  Watched watched(config);
  auto events = watched.Sample();
  ASSERT_EQ(events.size(), 2u);
  for (const v1::Event& event : events) {
    EXPECT_EQ(event.kind(), v1::ALERT_KIND_AGENT_HEALTH);
    EXPECT_EQ(event.state(), v1::ALERT_STATE_FIRING);
  }
  EXPECT_THAT(ContextOf(events[0])["error"], HasSubstr("larger than 1024 bytes"));
  EXPECT_THAT(ContextOf(events[1])["error"], HasSubstr("not a regular file"));
}

// The latest notice is what a restarted agent compares with (the store keeps
// it with the firing alerts): a change made while it was stopped is a change.
TEST(FileChangeWatcher, AChangeMadeWhileTheAgentWasStoppedIsReportedAfterTheRestart) {
  testing::ScratchDir scratch;
  const fs::path file = scratch / "app.conf";
  Write(file, "abc");
  v1::Event latest;
  {
    Watched before(ConfigFor({file.string()}));
    auto events = before.Sample();
    ASSERT_EQ(events.size(), 1u);
    latest = events[0];
  }
  Write(file, "abd");
  Watched after(ConfigFor({file.string()}));
  EXPECT_TRUE(after.rules().Restore({latest}, FakeClock()).empty());
  auto events = after.Sample();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].severity(), v1::SEVERITY_WARNING);
  EXPECT_EQ(ContextOf(events[0])["previous_fingerprint"], kAbc);

  // A file no longer watched leaves nothing to close behind.
  RuleSet unwatched;
  EXPECT_TRUE(unwatched.Restore({latest}, FakeClock()).empty());
}

}  // namespace
}  // namespace atmhealth::agent
