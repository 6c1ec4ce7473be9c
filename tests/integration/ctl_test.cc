// atmhealthctl against the real daemon: the event history read from the
// buffer while atmhealthd writes it, and after it was SIGKILLed — events
// still readable, the file untouched; `status` through the daemon's control
// socket while the agent runs (alerts, the collector link, the buffer), when
// the collector is down (degraded) and when the daemon is gone; bad requests
// on the socket; the socket's permissions from the config; `export` bundles
// of a running and of a stopped daemon (events, redaction, the size bound).
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/support/fake_command.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"
#include "tests/support/test_pki.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
constexpr std::size_t kMiB = 1024 * 1024;

struct CtlRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// A raw client of the control socket: connects, writes `bytes` as they are
// (then, with `hang_up`, closes its side), and returns everything the daemon
// answers until it closes ("" when the connection failed).
std::string RawExchange(const std::filesystem::path& socket_path, const std::string& bytes,
                        bool hang_up = false) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return "";
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the daemon may stop reading an over-long request
    sent += static_cast<std::size_t>(n);
  }
  if (hang_up) ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) answer.append(buffer, n);
  ::close(fd);
  return answer;
}

class CtlIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Local times in a zone that is not UTC, without zone files.
    setenv("TZ", "JST-9", 1);
  }
  void TearDown() override {
    unsetenv("TZ");
    if (HasFailure()) PrintLogs(scratch_.path());
  }

  CtlRun Ctl(const std::vector<std::string>& args) {
    const std::filesystem::path log = scratch_ / ("ctl-" + std::to_string(++runs_) + ".log");
    Process process(Binary("tools/ctl/atmhealthctl"), args, log);
    CtlRun run;
    run.exit_code = process.Wait(seconds(20)).value_or(-1);
    run.output = process.Log();
    return run;
  }

  // The JSON lines of `events --json` with `args`, parsed.
  std::vector<nlohmann::json> JsonEvents(std::vector<std::string> args) {
    args.insert(args.begin(), {"events", "--json"});
    const CtlRun run = Ctl(args);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    std::vector<nlohmann::json> events;
    std::istringstream in(run.output);
    for (std::string line; std::getline(in, line);) {
      events.push_back(nlohmann::json::parse(line, nullptr, false));
      EXPECT_FALSE(events.back().is_discarded()) << line;
    }
    return events;
  }

  // `status --json`, parsed; a discarded value when the daemon did not answer.
  nlohmann::json Status(const std::string& config, int* exit_code = nullptr) {
    const CtlRun run = Ctl({"status", "--json", "-c", config});
    if (exit_code != nullptr) *exit_code = run.exit_code;
    const auto status =
        nlohmann::json::parse(run.output.substr(0, run.output.find('\n')), nullptr, false);
    if (status.is_discarded() || !status.value("ok", false)) return nlohmann::json();
    return status;
  }

  AgentOptions Agent(std::uint16_t port, const std::filesystem::path& watched) {
    AgentOptions options;
    options.collector_port = port;
    options.watched = watched;
    options.store = scratch_ / "agent" / "events.db";
    return options;
  }

  std::filesystem::path SocketOf() const { return scratch_ / "agent" / "control.sock"; }

  // Once the daemon made its buffer, fills `fs` past its critical level
  // (90 %) and waits until the critical alert is in the buffer.
  ::testing::AssertionResult FillUntilCritical(const std::string& config, const TmpfsMount& fs);

  ScratchDir scratch_;
  int runs_ = 0;
};

bool HasEvent(const std::vector<nlohmann::json>& events, const std::string& key,
              const std::string& state, const std::string& severity) {
  for (const auto& e : events) {
    if (!e.is_object()) continue;
    if (e.value("alert_key", "") == key && e.value("state", "") == state &&
        e.value("severity", "") == severity) {
      return true;
    }
  }
  return false;
}

::testing::AssertionResult CtlIntegrationTest::FillUntilCritical(const std::string& config,
                                                                 const TmpfsMount& fs) {
  const std::string key = "storage:" + fs.path().string();
  if (!WaitFor([&] { return Ctl({"events", "-c", config}).exit_code == 0; }, seconds(20))) {
    return ::testing::AssertionFailure() << "the daemon made no buffer";
  }
  if (FillFile(fs / "journal.dat", 4 * kMiB * 95 / 100) < 4 * kMiB * 85 / 100) {
    return ::testing::AssertionFailure() << "the filesystem did not fill";
  }
  if (!WaitFor(
          [&] {
            return HasEvent(JsonEvents({"-c", config, "--key", key}), key, "firing", "critical");
          },
          seconds(20))) {
    return ::testing::AssertionFailure() << "no critical alert for " << key;
  }
  return ::testing::AssertionSuccess();
}

TEST_F(CtlIntegrationTest, EventsAndTailReadTheBufferOfARunningDaemon) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  ASSERT_NE(collector.agent_port(), 0);
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  const std::string config = agent.config().string();
  const std::string key = "storage:" + fs.path().string();
  // The buffer exists once the daemon started.
  ASSERT_TRUE(WaitFor([&] { return Ctl({"events", "-c", config}).exit_code == 0; }, seconds(20)));

  // tail names its columns once it follows the buffer; from then on it
  // shows every new event of the alert.
  Process tail(Binary("tools/ctl/atmhealthctl"),
               {"tail", "-c", config, "--key", key, "--poll", "100ms"}, scratch_ / "tail.log");
  ASSERT_TRUE(
      WaitFor([&] { return ReadFile(scratch_ / "tail.log").find("SUMMARY") != std::string::npos; },
              seconds(10)));
  ASSERT_GE(FillFile(fs / "journal.dat", 4 * kMiB * 95 / 100), 4 * kMiB * 85 / 100);

  // Delivered once the collector acknowledged it; read while the daemon writes.
  std::vector<nlohmann::json> critical;
  ASSERT_TRUE(WaitFor(
      [&] {
        critical = JsonEvents({"-c", config, "--severity", "critical", "--kind", "storage"});
        for (const auto& e : critical) {
          if (e["alert_key"] == key && e["state"] == "firing" && e["delivered"] == true) {
            return true;
          }
        }
        return false;
      },
      seconds(20)));
  for (const auto& e : critical) EXPECT_EQ(e["severity"], "critical");

  // tail printed the alert as it was stored, and nothing of other alerts.
  ASSERT_TRUE(WaitFor(
      [&] { return ReadFile(scratch_ / "tail.log").find(key) != std::string::npos; }, seconds(10)));
  tail.Signal(SIGTERM);
  EXPECT_EQ(tail.Wait(seconds(5)), 0);
  std::istringstream tailed(ReadFile(scratch_ / "tail.log"));
  std::string line;
  ASSERT_TRUE(std::getline(tailed, line));
  EXPECT_THAT(line, HasSubstr("SEVERITY"));
  while (std::getline(tailed, line)) EXPECT_THAT(line, HasSubstr(key));

  // The table: header, local time with its zone, no colour into a pipe.
  const CtlRun table = Ctl({"events", "-c", config, "--key", key});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.output, HasSubstr("TIME"));
  EXPECT_THAT(table.output, HasSubstr(" JST "));
  EXPECT_THAT(table.output, HasSubstr(key));
  EXPECT_THAT(table.output, Not(HasSubstr("\x1b[")));
  EXPECT_THAT(Ctl({"events", "-c", config, "--key", key, "--color", "always"}).output,
              HasSubstr("\x1b[1;31mcritical"));
  // CSV for spreadsheets.
  const CtlRun csv = Ctl({"events", "-c", config, "--csv", "--key", key});
  EXPECT_THAT(csv.output, HasSubstr("seq,detected_at,alert_key"));
  EXPECT_THAT(csv.output, HasSubstr("," + key + ",storage,"));

  // Time and state filters.
  EXPECT_TRUE(HasEvent(JsonEvents({"-c", config, "--since", "10m"}), key, "firing", "critical"));
  EXPECT_TRUE(JsonEvents({"-c", config, "--until", "2001-01-01"}).empty());
  EXPECT_TRUE(JsonEvents({"-c", config, "--since", "2099-01-01T00:00Z"}).empty());
  EXPECT_TRUE(JsonEvents({"-c", config, "--key", key, "--state", "resolved"}).empty());
  EXPECT_EQ(JsonEvents({"-c", config, "--last", "1"}).size(), 1u);

  EXPECT_EQ(agent.process().Stop(), 0);
  EXPECT_EQ(collector.process().Stop(), 0);
}

// The file's bytes, and which files sit beside it.
struct BufferSnapshot {
  std::string database;
  std::string wal;
  std::set<std::string> names;
  bool operator==(const BufferSnapshot&) const = default;
};

BufferSnapshot Snapshot(const std::filesystem::path& buffer) {
  BufferSnapshot snapshot{ReadFile(buffer), ReadFile(buffer.string() + "-wal"), {}};
  for (const auto& entry : std::filesystem::directory_iterator(buffer.parent_path())) {
    snapshot.names.insert(entry.path().filename().string());
  }
  return snapshot;
}

TEST_F(CtlIntegrationTest, EventsOfASigkilledDaemonAreReadableAndTheBufferIsUntouched) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  // No collector: every event stays undelivered in the buffer.
  AgentOptions options = Agent(1, fs.path());
  AgentProcess agent(scratch_ / "agent", options);
  const std::string config = agent.config().string();
  const std::string key = "storage:" + fs.path().string();
  ASSERT_TRUE(FillUntilCritical(config, fs));

  agent.process().Signal(SIGKILL);
  ASSERT_EQ(agent.process().Wait(seconds(5)), 128 + SIGKILL);
  const BufferSnapshot before = Snapshot(options.store);
  ASSERT_FALSE(before.database.empty());

  // By the config and by the file; several times, as an engineer would.
  const std::vector<nlohmann::json> events = JsonEvents({"-c", config});
  EXPECT_TRUE(HasEvent(events, key, "firing", "critical"));
  for (const auto& e : events) EXPECT_EQ(e["delivered"], false) << e.dump();
  EXPECT_EQ(JsonEvents({"--store", options.store.string(), "--key", key}).size(),
            JsonEvents({"-c", config, "--key", key}).size());
  const CtlRun table = Ctl({"events", "--store", options.store.string()});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.output, HasSubstr(key));

  const BufferSnapshot after = Snapshot(options.store);
  EXPECT_EQ(after.names, before.names);
  EXPECT_TRUE(after.database == before.database) << "the buffer file changed";
  EXPECT_TRUE(after.wal == before.wal) << "the buffer's WAL changed";
}

// A daemon that stopped cleanly checkpointed and removed its WAL: SQLite's
// read-only connection then makes an empty WAL and its index beside the
// file, as any reader of a WAL database must; the file itself is untouched.
TEST_F(CtlIntegrationTest, EventsOfACleanlyStoppedDaemonAreReadableAndTheBufferFileIsUntouched) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  AgentOptions options = Agent(1, fs.path());
  AgentProcess agent(scratch_ / "agent", options);
  const std::string config = agent.config().string();
  const std::string key = "storage:" + fs.path().string();
  ASSERT_TRUE(FillUntilCritical(config, fs));
  ASSERT_EQ(agent.process().Stop(), 0);
  const std::string before = ReadFile(options.store);
  ASSERT_FALSE(before.empty());

  EXPECT_TRUE(HasEvent(JsonEvents({"-c", config}), key, "firing", "critical"));
  EXPECT_TRUE(ReadFile(options.store) == before) << "the buffer file changed";
}

TEST_F(CtlIntegrationTest, AMissingBufferIsAClearErrorAndIsNeverCreated) {
  const std::filesystem::path absent = scratch_ / "absent.db";
  const CtlRun run = Ctl({"events", "--store", absent.string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr(absent.string() + ": no event buffer there"));
  EXPECT_FALSE(std::filesystem::exists(absent));
  EXPECT_FALSE(std::filesystem::exists(absent.string() + "-wal"));
  EXPECT_EQ(Ctl({"tail", "--store", absent.string()}).exit_code, 1);
}

TEST_F(CtlIntegrationTest, WrongArgumentsAreRefusedWithExitCodeTwoNamingTheChoices) {
  const std::string store = (scratch_ / "events.db").string();
  const CtlRun kind = Ctl({"events", "--store", store, "--kind", "disk"});
  EXPECT_EQ(kind.exit_code, 2);
  EXPECT_THAT(kind.output, HasSubstr("--kind"));
  EXPECT_THAT(kind.output, HasSubstr("disk not in {storage,inodes,storage_forecast"));
  const CtlRun since = Ctl({"events", "--store", store, "--since", "yesterday"});
  EXPECT_EQ(since.exit_code, 2);
  EXPECT_THAT(since.output, HasSubstr("--since: \"yesterday\""));
  EXPECT_EQ(Ctl({"events", "--store", store, "--json", "--csv"}).exit_code, 2);
  EXPECT_EQ(Ctl({"events", "--store", store, "--color", "sometimes"}).exit_code, 2);
}

CtlRun RunDaemonCheck(const std::filesystem::path& log, const std::string& config) {
  Process process(Binary("agent/atmhealthd"), {"--check-config", "--config", config}, log);
  CtlRun run;
  run.exit_code = process.Wait(seconds(20)).value_or(-1);
  run.output = process.Log();
  return run;
}

TEST_F(CtlIntegrationTest, CheckConfigNamesEveryProblemWithFileAndLineAsTheDaemonDoes) {
  const std::filesystem::path config = scratch_ / "atmhealthd.toml";
  WriteFile(config,
            "[device]\n"
            "id = \"atm 0412\"\n"
            "\n"
            "[store]\n"
            "max_bytes = \"64MB\"\n"
            "\n"
            "[uplink]\n"
            "collectors = [\"127.0.0.1:7411\"]\n"
            "plaintext = true\n"
            "\n"
            "[[storage.filesystem]]\n"
            "path = \"/var\"\n"
            "warning = 95\n"
            "critical = 90\n");
  const CtlRun ctl = Ctl({"check-config", "-c", config.string()});
  EXPECT_EQ(ctl.exit_code, 2);
  EXPECT_THAT(ctl.output, HasSubstr("atmhealthd.toml:2: device.id"));
  EXPECT_THAT(ctl.output, HasSubstr("atmhealthd.toml:5: store.max_bytes"));
  EXPECT_THAT(ctl.output, HasSubstr("atmhealthd.toml:14: storage.filesystem[0].critical"));
  EXPECT_THAT(ctl.output, HasSubstr("3 problems"));
  // The daemon's own check finds the same three.
  const CtlRun daemon = RunDaemonCheck(scratch_ / "daemon-check.log", config.string());
  EXPECT_EQ(daemon.exit_code, 2);
  for (const char* where : {"atmhealthd.toml:2: device.id", "atmhealthd.toml:5: store.max_bytes",
                            "atmhealthd.toml:14: storage.filesystem[0].critical"}) {
    EXPECT_THAT(daemon.output, HasSubstr(where));
  }
}

TEST_F(CtlIntegrationTest, CheckConfigOfAValidConfigSaysWhatTheDaemonWouldDo) {
  AgentOptions options = Agent(7411, scratch_.path());
  const std::filesystem::path config = scratch_ / "atmhealthd.toml";
  WriteFile(config, AgentConfigToml(options));
  const CtlRun ctl = Ctl({"check-config", "-c", config.string()});
  EXPECT_EQ(ctl.exit_code, 0) << ctl.output;
  EXPECT_THAT(ctl.output, HasSubstr(config.string() + ": valid"));
  EXPECT_THAT(ctl.output, HasSubstr("device atm-it-01 at site test-site (atm)"));
  const CtlRun daemon = RunDaemonCheck(scratch_ / "daemon-check.log", config.string());
  EXPECT_EQ(daemon.exit_code, 0);
  EXPECT_EQ(ctl.output, daemon.output);
  // A missing file, and a missing -c, are exit code 2 too.
  const CtlRun missing = Ctl({"check-config", "-c", (scratch_ / "none.toml").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.output, HasSubstr("none.toml: config file not found"));
  EXPECT_EQ(Ctl({"check-config"}).exit_code, 2);
}

TEST_F(CtlIntegrationTest, BashCompletionCompletesCommandsOptionsAndValues) {
  const CtlRun script = Ctl({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0);
  WriteFile(scratch_ / "completion.bash", script.output);
  // What bash offers for a half-typed line, as the shell itself would ask.
  auto offers = [&](const std::string& words, int cword) {
    Process bash("/bin/bash",
                 {"-c", "source " + (scratch_ / "completion.bash").string() + "; COMP_WORDS=(" +
                            words + "); COMP_CWORD=" + std::to_string(cword) +
                            "; _atmhealthctl_complete; echo \"${COMPREPLY[*]}\""},
                 scratch_ / ("bash-" + std::to_string(++runs_) + ".log"));
    EXPECT_EQ(bash.Wait(seconds(10)), 0);
    return bash.Log();
  };
  EXPECT_EQ(offers("atmhealthctl ev", 1), "events\n");
  EXPECT_EQ(offers("atmhealthctl sta", 1), "status\n");
  EXPECT_EQ(offers("atmhealthctl status --so", 2), "--socket\n");
  EXPECT_EQ(offers("atmhealthctl events --ki", 2), "--kind\n");
  EXPECT_EQ(offers("atmhealthctl events --kind storage_f", 3), "storage_forecast\n");
  EXPECT_EQ(offers("atmhealthctl events --severity cr", 3), "critical\n");
  // A path: nothing offered, so bash completes file names.
  EXPECT_EQ(offers("atmhealthctl events --store ", 3), "\n");
}

TEST_F(CtlIntegrationTest, EveryCommandHasHelpNamingItsOptionsAndTheExitCodes) {
  const CtlRun top = Ctl({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* command : {"events", "tail", "check-config"})
    EXPECT_THAT(top.output, HasSubstr(command));
  const CtlRun events = Ctl({"events", "--help"});
  EXPECT_EQ(events.exit_code, 0);
  for (const char* flag : {"--config", "--store", "--since", "--until", "--severity", "--kind",
                           "--state", "--key", "--last", "--json", "--csv", "--color"}) {
    EXPECT_THAT(events.output, HasSubstr(flag));
  }
  EXPECT_THAT(events.output, HasSubstr("Exit codes"));
  const CtlRun tail = Ctl({"tail", "--help"});
  EXPECT_EQ(tail.exit_code, 0);
  EXPECT_THAT(tail.output, HasSubstr("--poll"));
  const CtlRun check = Ctl({"check-config", "--help"});
  EXPECT_EQ(check.exit_code, 0);
  EXPECT_THAT(check.output, HasSubstr("--config"));
  const CtlRun status = Ctl({"status", "--help"});
  EXPECT_EQ(status.exit_code, 0);
  for (const char* text : {"--config", "--socket", "--json", "--color", "--timeout",
                           "3 alerts are firing", "4 the agent is degraded"}) {
    EXPECT_THAT(status.output, HasSubstr(text));
  }
}

const nlohmann::json* FindAlert(const nlohmann::json& status, const std::string& key) {
  for (const auto& alert : status["alerts"]) {
    if (alert["alert_key"] == key) return &alert;
  }
  return nullptr;
}

TEST_F(CtlIntegrationTest, StatusShowsWatchersAlertsTheCollectorLinkAndTheBuffer) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  const std::string config = agent.config().string();
  const std::string key = "storage:" + fs.path().string();

  // Healthy: connected, sampled, nothing firing; exit code 0.
  nlohmann::json status;
  int code = -1;
  ASSERT_TRUE(WaitFor(
      [&] {
        status = Status(config, &code);
        return code == 0 && status["uplink"]["connected"] == true &&
               status["uplink"]["last_ack_seq"].get<std::uint64_t>() >= 1 &&
               status["watchers"][0]["samples"].get<std::uint64_t>() >= 1;
      },
      seconds(20)))
      << status.dump();
  EXPECT_EQ(status["agent"]["device"], "atm-it-01");
  EXPECT_EQ(status["uplink"]["endpoint"], "127.0.0.1:" + std::to_string(collector.agent_port()));
  EXPECT_EQ(status["watchers"][0]["name"], "storage");
  EXPECT_EQ(status["buffer"]["path"], (scratch_ / "agent" / "events.db").string());
  EXPECT_TRUE(status["degraded"].empty());
  EXPECT_TRUE(status["alerts"].empty());

  // The disk fills: the alert is listed with its start, exit code 3.
  ASSERT_GE(FillFile(fs / "journal.dat", 4 * kMiB * 95 / 100), 4 * kMiB * 85 / 100);
  ASSERT_TRUE(WaitFor(
      [&] {
        status = Status(config, &code);
        const nlohmann::json* alert = FindAlert(status, key);
        return alert != nullptr && (*alert)["severity"] == "critical" && code == 3;
      },
      seconds(20)))
      << status.dump();
  const nlohmann::json& alert = *FindAlert(status, key);
  EXPECT_GT(alert["since_unix_ns"].get<std::int64_t>(), status["agent"]["started_unix_ns"]);
  EXPECT_LE(alert["since_unix_ns"].get<std::int64_t>(), status["agent"]["now_unix_ns"]);
  bool subject_critical = false;
  for (const auto& subject : status["watchers"][0]["subjects"]) {
    if (subject["alert_key"] == key) subject_critical = subject["state"] == "critical";
  }
  EXPECT_TRUE(subject_critical) << status["watchers"].dump();
  bool withdrawal_out = false;
  for (const auto& service : status["services"]) {
    if (service["service"] == "withdrawal") {
      withdrawal_out = service["state"] == "out_of_service" && service["reason"] == key;
    }
  }
  EXPECT_TRUE(withdrawal_out) << status["services"].dump();

  // For people: sections, local time with its zone, no colour into a pipe.
  const CtlRun text = Ctl({"status", "-c", config});
  EXPECT_EQ(text.exit_code, 3) << text.output;
  for (const char* part : {"WATCHERS", "ALERTS", "SERVICES", "COLLECTOR", "BUFFER", "JST",
                           "critical", "connected", "last ack"}) {
    EXPECT_THAT(text.output, HasSubstr(part));
  }
  EXPECT_THAT(text.output, HasSubstr(key));
  EXPECT_THAT(text.output, Not(HasSubstr("\x1b[")));
  const CtlRun coloured = Ctl({"status", "-c", config, "--color", "always"});
  EXPECT_THAT(coloured.output, HasSubstr("\x1b[1;31m"));
}

TEST_F(CtlIntegrationTest, StatusSaysTheAgentIsDegradedWhileTheCollectorIsUnreachable) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  AgentProcess agent(scratch_ / "agent", Agent(FreePort(), fs.path()));
  const std::string config = agent.config().string();
  nlohmann::json status;
  int code = -1;
  ASSERT_TRUE(WaitFor(
      [&] {
        status = Status(config, &code);
        return code == 4 && status["uplink"]["connect_failures"].get<std::uint64_t>() >= 1;
      },
      seconds(20)))
      << status.dump();
  EXPECT_EQ(status["uplink"]["connected"], false);
  EXPECT_THAT(status["uplink"]["last_error"].get<std::string>(), HasSubstr("refused"));
  EXPECT_GE(status["uplink"]["backlog_events"].get<std::uint64_t>(), 1u);
  EXPECT_GT(status["uplink"]["oldest_undelivered_unix_ns"].get<std::int64_t>(), 0);
  ASSERT_FALSE(status["degraded"].empty());
  EXPECT_THAT(status["degraded"][0].get<std::string>(), HasSubstr("collector not connected"));
  const CtlRun text = Ctl({"status", "-c", config});
  EXPECT_EQ(text.exit_code, 4);
  EXPECT_THAT(text.output, HasSubstr("DEGRADED: collector not connected"));
}

TEST_F(CtlIntegrationTest, StatusOfAStoppedDaemonSaysSoAndPointsToTheEventHistory) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  auto agent =
      std::make_unique<AgentProcess>(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  const std::string config = agent->config().string();
  ASSERT_TRUE(WaitFor([&] { return Status(config).is_object(); }, seconds(20)));

  // Killed: its socket file stays behind and nobody listens on it.
  agent->process().Signal(SIGKILL);
  agent->process().Wait(seconds(5));
  ASSERT_TRUE(std::filesystem::exists(SocketOf()));
  CtlRun run = Ctl({"status", "-c", config});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("atmhealthd is not running"));
  EXPECT_THAT(run.output, HasSubstr("atmhealthctl events -c " + config));
  CtlRun json = Ctl({"status", "-c", config, "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_THAT(json.output, HasSubstr("\"reachable\":false"));
  // The history is still there without the daemon.
  EXPECT_EQ(Ctl({"events", "-c", config}).exit_code, 0);

  // Restarted, it takes over the stale socket; stopped cleanly, it removes it.
  agent =
      std::make_unique<AgentProcess>(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  ASSERT_TRUE(WaitFor([&] { return Status(config).is_object(); }, seconds(20)));
  EXPECT_EQ(agent->process().Stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(SocketOf()));
  run = Ctl({"status", "-c", config});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("no control socket at " + SocketOf().string()));
}

TEST_F(CtlIntegrationTest, BadRequestsOnTheSocketAreAnsweredCountedAndHarmless) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  const std::string config = agent.config().string();
  ASSERT_TRUE(WaitFor([&] { return Status(config).is_object(); }, seconds(20)));

  struct Case {
    std::string bytes;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"hello\n", "not a JSON object"},
      {"[1,2,3]\n", "not a JSON object"},
      {"{\"cmd\":\"status\"}\n", "no \"command\" string"},
      {"{\"command\":5}\n", "no \"command\" string"},
      {"{\"command\":\"reboot\"}\n", "unknown command \"reboot\""},
      {std::string(64 * 1024, 'x') + "\n", "longer than 4096 bytes"},
      {std::string("{\"command\":\"\x01\xff\"}\n"), "not a JSON object"},
      {"{\"command\":\"status\"", "no complete request line within 5000 ms"},
  };
  for (const Case& c : cases) {
    const std::string answer = RawExchange(SocketOf(), c.bytes);
    const auto parsed = nlohmann::json::parse(answer.substr(0, answer.find('\n')), nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << c.error << ": " << answer;
    EXPECT_EQ(parsed["ok"], false);
    EXPECT_THAT(parsed.value("error", ""), HasSubstr(c.error));
  }
  // A client that leaves without asking gets no answer and is counted too.
  EXPECT_EQ(RawExchange(SocketOf(), "", true), "");

  const nlohmann::json status = Status(config);
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["control"]["bad_requests"].get<std::uint64_t>(), cases.size() + 1);
  EXPECT_TRUE(agent.process().running());
}

TEST_F(CtlIntegrationTest, TheSocketHasTheModeAndGroupOfTheConfig) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  const group* daemon_group = getgrnam("daemon");
  ASSERT_NE(daemon_group, nullptr);
  const gid_t gid = daemon_group->gr_gid;
  const std::filesystem::path socket = scratch_ / "run" / "ctl.sock";
  AgentOptions options = Agent(FreePort(), fs.path());
  options.extra = "[control]\nsocket = \"" + socket.string() +
                  "\"\nsocket_mode = \"0660\"\nsocket_group = \"daemon\"\n";
  AgentProcess agent(scratch_ / "agent", options);
  const std::string config = agent.config().string();
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket); }, seconds(20)));
  struct stat st {};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, gid);
  // atmhealthctl finds the socket through the config.
  EXPECT_EQ(Ctl({"status", "-c", config}).exit_code, 4);

  // An account outside the group is kept out by the mode; a member gets in.
  std::filesystem::permissions(scratch_.path(), std::filesystem::perms::all);
  std::filesystem::permissions(scratch_ / "run", std::filesystem::perms::all);
  auto connect_as = [&](gid_t as_group) {
    const pid_t child = fork();
    if (child == 0) {
      if (setgroups(0, nullptr) != 0 || setgid(as_group) != 0 || setuid(65534) != 0) _exit(3);
      const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, socket.c_str(), sizeof(address.sun_path) - 1);
      const int result = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
      _exit(result == 0 ? 0 : (errno == EACCES ? 1 : 2));
    }
    int wait_status = 0;
    waitpid(child, &wait_status, 0);
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  };
  EXPECT_EQ(connect_as(65534), 1);  // nogroup: permission denied
  EXPECT_EQ(connect_as(gid), 0);
}

TEST_F(CtlIntegrationTest, ADrillGoesThroughTheCollectorMarkedAndIsMeasured) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  CollectorProcess collector(scratch_ / "collector", scratch_ / "collector" / "collector.db");
  AgentProcess agent(scratch_ / "agent", Agent(collector.agent_port(), fs.path()));
  const std::string config = agent.config().string();
  ASSERT_TRUE(WaitFor([&] { return Status(config)["uplink"]["connected"] == true; }, seconds(20)));

  for (const char* kind : {"storage", "redundancy", "throughput"}) {
    SCOPED_TRACE(kind);
    const CtlRun run = Ctl({"drill", kind, "--json", "-c", config});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto answer = nlohmann::json::parse(run.output.substr(0, run.output.find('\n')));
    const std::string key = answer["alert_key"];
    EXPECT_THAT(key, HasSubstr(":drill-"));
    EXPECT_EQ(answer["fired"]["acknowledged"], true);
    EXPECT_GE(answer["fired"]["ack_ms"].get<std::int64_t>(), 0);
    EXPECT_LT(answer["fired"]["ack_ms"].get<std::int64_t>(), 10000);
    EXPECT_EQ(answer["resolved"]["acknowledged"], true);
    EXPECT_GT(answer["resolved"]["seq"].get<std::uint64_t>(),
              answer["fired"]["seq"].get<std::uint64_t>());

    // At the collector: stored under the seqs the drill reported, both
    // marked, the firing one before the resolution.
    const auto stored = CollectorEvents(collector.db(), "atm-it-01", "alert_key = '" + key + "'");
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[0].at("seq"), std::to_string(answer["fired"]["seq"].get<std::uint64_t>()));
    EXPECT_EQ(stored[0].at("state"), "firing");
    EXPECT_EQ(stored[1].at("state"), "resolved");
    for (const Row& row : stored) {
      EXPECT_THAT(row.at("summary"), ::testing::StartsWith("[DRILL] "));
      EXPECT_EQ(nlohmann::json::parse(row.at("context_json")).value("drill", ""), "true");
    }
  }
  // Nothing of the drills stays firing, and no customer service was touched.
  const nlohmann::json status = Status(config);
  EXPECT_TRUE(status["alerts"].empty()) << status.dump();
  for (const auto& service : status["services"]) EXPECT_EQ(service["state"], "in_service");

  // For people.
  const CtlRun text = Ctl({"drill", "storage", "-c", config});
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_THAT(text.output, HasSubstr("acknowledged by the collector after"));
}

TEST_F(CtlIntegrationTest, ADrillWithoutACollectorSaysItWasNotAcknowledged) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  AgentProcess agent(scratch_ / "agent", Agent(FreePort(), fs.path()));
  const std::string config = agent.config().string();
  ASSERT_TRUE(WaitFor([&] { return Status(config).is_object(); }, seconds(20)));
  const CtlRun run = Ctl({"drill", "redundancy", "--timeout", "300ms", "-c", config});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_THAT(run.output, HasSubstr("NOT acknowledged within 300 ms"));
  // The drill's events wait in the buffer, marked, for the collector.
  EXPECT_EQ(Ctl({"events", "-c", config, "--kind", "raid", "--state", "resolved"}).exit_code, 0);
  const CtlRun events = Ctl({"events", "-c", config, "--kind", "raid"});
  EXPECT_THAT(events.output, HasSubstr("[DRILL]"));
  // A wrong kind is refused by the command line and by the daemon.
  EXPECT_EQ(Ctl({"drill", "fire", "-c", config}).exit_code, 2);
  const std::string answer = RawExchange(SocketOf(), "{\"command\":\"drill\",\"kind\":\"fire\"}\n");
  EXPECT_THAT(answer, HasSubstr("must be storage, redundancy or throughput"));
}

TEST_F(CtlIntegrationTest, AWorldWritableSocketIsRefusedByTheConfigCheck) {
  const std::filesystem::path file = scratch_ / "atmhealthd.toml";
  AgentOptions options = Agent(7411, scratch_.path());
  options.extra = "[control]\nsocket_mode = \"0666\"\n";
  WriteFile(file, AgentConfigToml(options));
  const CtlRun run = Ctl({"check-config", "-c", file.string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("control.socket_mode: \"0666\" lets every account"));
}

// An export bundle unpacked with tar(1), as the second-line team opens it.
struct Unpacked {
  std::filesystem::path dir;  // the bundle's one top directory
  std::string Read(const std::string& name) const { return ReadFile(dir / name); }
  nlohmann::json Json(const std::string& name) const {
    return nlohmann::json::parse(Read(name), nullptr, false);
  }
  // Every file's text, for "this never appears anywhere" checks.
  std::string Everything() const {
    std::string all;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (entry.is_regular_file()) all += ReadFile(entry.path());
    }
    return all;
  }
};

class CtlExportTest : public CtlIntegrationTest {
 protected:
  // `export` with `args`, into scratch/<name>.tar.gz, unpacked.
  Unpacked Export(const std::string& name, std::vector<std::string> args, CtlRun* run = nullptr) {
    const std::filesystem::path bundle = scratch_ / (name + ".tar.gz");
    args.insert(args.begin(), {"export", "-o", bundle.string()});
    const CtlRun done = Ctl(args);
    if (run != nullptr) *run = done;
    EXPECT_EQ(done.exit_code, 0) << done.output;
    return Unpack(name);
  }

  // scratch/<name>.tar.gz, unpacked.
  Unpacked Unpack(const std::string& name) {
    const std::filesystem::path into = scratch_ / (name + "-unpacked");
    std::filesystem::create_directories(into);
    Process tar("/bin/tar", {"xzf", (scratch_ / (name + ".tar.gz")).string(), "-C", into.string()},
                scratch_ / (name + "-tar.log"));
    EXPECT_EQ(tar.Wait(seconds(20)), 0) << tar.Log();
    return Unpacked{into / name};
  }

  // An agent with TLS files (so its config holds a private key's path) and
  // a log file, writing to a collector that is not there.
  AgentOptions TlsAgentWithLogFile(const std::filesystem::path& watched) {
    pki_ = std::make_unique<TestPki>(scratch_ / "pki");
    device_ = pki_->Device("atm-it-01");
    AgentOptions options = Agent(FreePort(), watched);
    options.transport = "ca = \"" + pki_->ca().string() + "\"\ncertificate = \"" +
                        device_.certificate.string() + "\"\nprivate_key = \"" +
                        device_.key.string() + "\"\n";
    options.extra = "[log]\nfile = \"" + LogFile().string() + "\"\n";
    return options;
  }
  std::filesystem::path LogFile() const { return scratch_ / "agent" / "atmhealthd.log"; }

  std::unique_ptr<TestPki> pki_;
  TestPki::Issued device_;
};

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return lines;
}

TEST_F(CtlExportTest, ABundleOfARunningDaemonHoldsEventsLogsStatusAndNoSecret) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  const AgentOptions options = TlsAgentWithLogFile(fs.path());
  AgentProcess agent(scratch_ / "agent", options);
  const std::string config = agent.config().string();
  const std::string key = "storage:" + fs.path().string();
  ASSERT_TRUE(FillUntilCritical(config, fs));
  ASSERT_TRUE(WaitFor([&] { return Status(config).is_object(); }, seconds(20)));

  CtlRun run;
  const Unpacked bundle = Export("running", {"-c", config}, &run);
  EXPECT_THAT(run.output, HasSubstr("running.tar.gz: "));

  // The events, as `events --json` shows them.
  const std::vector<nlohmann::json> events = JsonLines(bundle.Read("events.jsonl"));
  EXPECT_TRUE(HasEvent(events, key, "firing", "critical"));
  EXPECT_EQ(events.size(), JsonEvents({"-c", config}).size());

  // The configuration, its private key's path redacted, the key itself
  // nowhere.
  const std::string toml = bundle.Read("config/atmhealthd.toml");
  EXPECT_THAT(toml, HasSubstr("private_key = '<redacted>'"));
  EXPECT_THAT(toml, HasSubstr(device_.certificate.string()));
  EXPECT_THAT(toml, HasSubstr("atm-it-01"));
  const std::string everything = bundle.Everything();
  EXPECT_THAT(everything, Not(HasSubstr(device_.key.string())));
  EXPECT_THAT(everything, Not(HasSubstr("PRIVATE KEY")));
  const nlohmann::json manifest = bundle.Json("manifest.json");
  ASSERT_TRUE(manifest.is_object());
  EXPECT_EQ(manifest["redacted"], nlohmann::json::array({"uplink.private_key"}));
  EXPECT_EQ(manifest["device"], "atm-it-01");
  const std::string readme = bundle.Read("README.txt");
  EXPECT_THAT(readme, HasSubstr("uplink.private_key"));
  EXPECT_THAT(readme, HasSubstr("events.jsonl"));

  // Diagnostics: versions, the buffer, the daemon's own status.
  const nlohmann::json facts = bundle.Json("diagnostics.json");
  ASSERT_TRUE(facts.is_object());
  EXPECT_EQ(facts["atmhealthctl"]["protocol_version"], 1);
  EXPECT_GE(facts["atmhealthctl"]["buffer_schema_version"].get<int>(), 1);
  EXPECT_EQ(facts["buffer"]["path"], options.store.string());
  EXPECT_EQ(facts["buffer"]["events"].get<std::size_t>(), events.size());
  EXPECT_EQ(facts["daemon"]["running"], true);
  EXPECT_EQ(facts["daemon"]["status"]["agent"]["device"], "atm-it-01");
  EXPECT_THAT(facts["daemon"]["status"]["degraded"].dump(), HasSubstr("collector not connected"));

  // The log file; no journal on a machine without systemd, and it says so.
  EXPECT_THAT(bundle.Read("logs/atmhealthd.log"), HasSubstr("atmhealthd"));
  EXPECT_THAT(manifest["missing"].dump(), HasSubstr("no journal on this system"));
}

TEST_F(CtlExportTest, ABundleOfAStoppedDaemonSaysSoAndStaysWithinItsBound) {
  TmpfsMount fs(scratch_ / "fs", "size=" + std::to_string(4 * kMiB));
  ASSERT_TRUE(fs.mounted());
  const AgentOptions options = TlsAgentWithLogFile(fs.path());
  auto agent = std::make_unique<AgentProcess>(scratch_ / "agent", options);
  const std::string config = agent->config().string();
  const std::string key = "storage:" + fs.path().string();
  ASSERT_TRUE(FillUntilCritical(config, fs));
  agent->process().Signal(SIGKILL);
  agent->process().Wait(seconds(5));
  agent.reset();
  const BufferSnapshot before = Snapshot(options.store);
  // An older log, rotated away, much larger than the bound allows.
  std::string old_log;
  while (old_log.size() < 2 * kMiB) old_log += "[2026-11-29 10:00:00.000] [info] an older line\n";
  WriteFile(scratch_ / "agent" / "atmhealthd.1.log", old_log);

  const Unpacked whole = Export("stopped", {"-c", config});
  const nlohmann::json facts = whole.Json("diagnostics.json");
  EXPECT_EQ(facts["daemon"]["running"], false);
  EXPECT_THAT(facts["daemon"]["note"].get<std::string>(), HasSubstr("no status from the daemon"));
  EXPECT_TRUE(HasEvent(JsonLines(whole.Read("events.jsonl")), key, "firing", "critical"));
  EXPECT_EQ(whole.Read("logs/atmhealthd.1.log"), old_log);
  EXPECT_THAT(whole.Read("README.txt"), HasSubstr("daemon status: "));

  // At most 256 KiB: the file, and what was cut is said inside.
  CtlRun run;
  const Unpacked small = Export("small", {"-c", config, "--max-bytes", "256KiB"}, &run);
  EXPECT_LE(std::filesystem::file_size(scratch_ / "small.tar.gz"), 256u * 1024);
  EXPECT_THAT(run.output, HasSubstr("cut: logs/atmhealthd.1.log: the last "));
  const std::string kept = small.Read("logs/atmhealthd.1.log");
  EXPECT_LT(kept.size(), old_log.size());
  EXPECT_TRUE(old_log.ends_with(kept)) << "the newest lines are kept, whole";
  EXPECT_THAT(small.Json("manifest.json")["cut"].dump(), HasSubstr("logs/atmhealthd.1.log"));
  EXPECT_TRUE(HasEvent(JsonLines(small.Read("events.jsonl")), key, "firing", "critical"));

  // --max-events keeps the newest and says so; the buffer was not touched.
  const Unpacked one = Export("one", {"-c", config, "--max-events", "1"});
  const std::vector<nlohmann::json> newest = JsonLines(one.Read("events.jsonl"));
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0]["seq"], JsonEvents({"-c", config, "--last", "1"})[0]["seq"]);
  EXPECT_THAT(one.Read("README.txt"), HasSubstr("the newest 1 of the matching events"));
  const BufferSnapshot after = Snapshot(options.store);
  EXPECT_TRUE(after.database == before.database) << "the buffer file changed";

  const CtlRun help = Ctl({"export", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* text : {"--max-bytes", "--max-events", "--since", "--output", "--journal-lines",
                           "Redacted:", "Exit codes"}) {
    EXPECT_THAT(help.output, HasSubstr(text));
  }

  // Never over an existing file.
  const CtlRun again = Ctl({"export", "-c", config, "-o", (scratch_ / "one.tar.gz").string()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.output, HasSubstr("exists already"));
}

// Under systemd the bundle carries the unit's journal. The system is made to
// look booted with systemd only for atmhealthctl: it runs in a mount
// namespace of its own with /run/systemd/system on a private tmpfs, and with
// a journalctl of the test's first on its PATH.
TEST_F(CtlExportTest, UnderSystemdTheBundleHoldsTheUnitsJournalOldestFirstOrSaysWhyNot) {
  const AgentOptions options = Agent(FreePort(), scratch_.path());
  AgentProcess agent(scratch_ / "agent", options);
  const std::string config = agent.config().string();
  ASSERT_TRUE(WaitFor([&] { return Status(config).is_object(); }, seconds(20)));
  const FakeCommand journalctl(scratch_ / "bin", "journalctl");
  auto export_under_systemd = [&](const std::string& name, std::vector<std::string> args) {
    const std::filesystem::path bundle = scratch_ / (name + ".tar.gz");
    std::vector<std::string> command = {
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        "mount -t tmpfs atmhealth-test /run && mkdir -p /run/systemd/system && "
        "PATH=\"$1:$PATH\" && shift && exec \"$@\"",
        "sh",
        (scratch_ / "bin").string(),
        Binary("tools/ctl/atmhealthctl").string(),
        "export",
        "-c",
        config,
        "-o",
        bundle.string()};
    command.insert(command.end(), args.begin(), args.end());
    Process ctl("/usr/bin/unshare", command, scratch_ / (name + ".log"));
    EXPECT_EQ(ctl.Wait(seconds(20)), 0) << ctl.Log();
    return Unpack(name);
  };

  // journalctl -r gives the newest line first; the bundle holds them oldest
  // first, and says where they came from.
  journalctl.Answer(0,
                    "2026-11-30T10:00:03+0900 atm atmhealthd[7]: third\n"
                    "2026-11-30T10:00:02+0900 atm atmhealthd[7]: second\n"
                    "2026-11-30T10:00:01+0900 atm atmhealthd[7]: first\n");
  const Unpacked journal = export_under_systemd("journal", {"--journal-lines", "3"});
  EXPECT_EQ(journal.Read("logs/journal.txt"),
            "2026-11-30T10:00:01+0900 atm atmhealthd[7]: first\n"
            "2026-11-30T10:00:02+0900 atm atmhealthd[7]: second\n"
            "2026-11-30T10:00:03+0900 atm atmhealthd[7]: third\n");
  ASSERT_EQ(journalctl.arguments().size(), 1u);
  EXPECT_EQ(journalctl.arguments()[0], "-u atmhealthd -n 3 --no-pager -o short-iso -r");
  const nlohmann::json manifest = journal.Json("manifest.json");
  EXPECT_THAT(manifest["missing"].dump(), Not(HasSubstr("journal")));
  EXPECT_EQ(journal.Json("diagnostics.json")["host"]["booted_with_systemd"], true);
  EXPECT_THAT(journal.Json("diagnostics.json")["logs"].dump(),
              HasSubstr("journal: unit atmhealthd"));

  // More journal than the bundle has room for: the newest whole lines are
  // kept, and the cut is said. Line 40000 is the newest, printed first.
  std::string long_journal;
  for (int line = 40'000; line > 0; --line) {
    long_journal += "2026-11-30T10:00:00+0900 atm atmhealthd[7]: line " + std::to_string(line) +
                    " of the unit's journal\n";
  }
  journalctl.Answer(0, long_journal);
  const Unpacked cut =
      export_under_systemd("cut", {"--unit", "atm-agent", "--max-bytes", "256KiB"});
  const std::string kept = cut.Read("logs/journal.txt");
  EXPECT_GT(kept.size(), 0u);
  EXPECT_LT(kept.size(), long_journal.size());
  EXPECT_TRUE(kept.ends_with("line 40000 of the unit's journal\n")) << "the newest line is last";
  EXPECT_TRUE(kept.starts_with("2026-11-30T10:00:00+0900 ")) << "only whole lines";
  EXPECT_THAT(journalctl.arguments().back(), HasSubstr("-u atm-agent -n "));
  EXPECT_THAT(cut.Json("manifest.json")["cut"].dump(), HasSubstr("logs/journal.txt: the newest"));

  // A journal that cannot be read is named as missing; the rest is there.
  journalctl.Answer(1, "");
  const Unpacked failed = export_under_systemd("failed", {});
  EXPECT_THAT(failed.Json("manifest.json")["missing"].dump(),
              HasSubstr("logs: journalctl -u atmhealthd: "));
  EXPECT_FALSE(std::filesystem::exists(failed.dir / "logs/journal.txt"));
  EXPECT_TRUE(failed.Json("diagnostics.json").is_object());
}

}  // namespace
}  // namespace atmhealth::testing
