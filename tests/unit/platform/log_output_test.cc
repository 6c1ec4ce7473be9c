// The log's destinations: the rotated file with real files, the journal
// entry as built, and the journal sink through libsystemd into a socket
// speaking journald's native protocol (journald itself does not run where
// the suite runs, so the test receives at journald's address in a private
// mount namespace).
#include "platform/log_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_paths.h"

namespace atmhealth::platform {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

namespace fs = std::filesystem;

// Puts the process's default logger back after a test replaced it.
class LogOutputTest : public ::testing::Test {
 protected:
  void TearDown() override {
    spdlog::default_logger()->flush();
    spdlog::set_default_logger(saved_);
  }
  std::shared_ptr<spdlog::logger> saved_ = spdlog::default_logger();
};

std::vector<std::string> Lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(LogOutputTest, RotatedFileNeverPassesMaxFilesTimesMaxFileBytes) {
  atmhealth::testing::ScratchDir dir;
  const fs::path file = dir.path() / "atmhealthd.log";
  constexpr std::uint64_t kMaxBytes = 4096;
  constexpr std::size_t kMaxFiles = 3;
  ASSERT_TRUE(ConfigureLogging(LogOutput{"atmhealthd", file.string(), kMaxBytes, kMaxFiles},
                               LogDestination::kFile)
                  .ok());
  // About 100 bytes a line: 2000 lines are 50 times what may be kept.
  for (int i = 0; i < 2000; ++i) spdlog::warn("line {:04} {}", i, std::string(60, 'x'));
  spdlog::default_logger()->flush();

  std::vector<std::string> names;
  std::uintmax_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
    EXPECT_LE(entry.file_size(), kMaxBytes) << entry.path();
    total += entry.file_size();
  }
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre("atmhealthd.1.log", "atmhealthd.2.log", "atmhealthd.3.log",
                                 "atmhealthd.log"));
  EXPECT_LE(total, (kMaxFiles + 1) * kMaxBytes);
  // Whole lines only, the newest in the current file, the older ones in
  // order in the rotated files.
  const std::vector<std::string> current = Lines(file);
  ASSERT_FALSE(current.empty());
  EXPECT_THAT(current.back(), ::testing::HasSubstr("line 1999 "));
  const std::vector<std::string> older = Lines(dir.path() / "atmhealthd.1.log");
  ASSERT_FALSE(older.empty());
  EXPECT_LT(older.back().substr(older.back().find("line ")),
            current.front().substr(current.front().find("line ")));
  for (const std::string& line : current) EXPECT_TRUE(line.starts_with("[20")) << line;
}

TEST_F(LogOutputTest, FileLineKeepsPeerTextOnOneLine) {
  atmhealth::testing::ScratchDir dir;
  const fs::path file = dir.path() / "agent.log";
  ASSERT_TRUE(
      ConfigureLogging(LogOutput{"atmhealthd", file.string(), 1 << 20, 2}, LogDestination::kFile)
          .ok());
  spdlog::warn("collector said: {}", "bye\n[2026-11-30 00:00:00.000] [info] forged\x1b[2J");
  spdlog::default_logger()->flush();
  const std::vector<std::string> lines = Lines(file);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(
      lines[0],
      ::testing::EndsWith("collector said: bye\\n[2026-11-30 00:00:00.000] [info] forged\\x1b[2J"));
}

TEST_F(LogOutputTest, UnopenableLogFileIsAnErrorNamingIt) {
  Status configured =
      ConfigureLogging(LogOutput{"atmhealthd", "/proc/no-such-dir/atmhealthd.log", 1 << 20, 2},
                       LogDestination::kFile);
  ASSERT_FALSE(configured.ok());
  EXPECT_THAT(configured.error().message(),
              ::testing::HasSubstr("log file \"/proc/no-such-dir/atmhealthd.log\""));
}

TEST(ChooseLogDestinationTest, JournalOnlyWhenJournalStreamIsThisProcessesStderr) {
  struct stat st {};
  ASSERT_EQ(::fstat(2, &st), 0);
  const std::string stderr_stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  const LogOutput to_file{"atmhealthd", "/var/log/atmhealth/atmhealthd.log", 1 << 20, 2};
  EXPECT_EQ(ChooseLogDestination(to_file, stderr_stream.c_str()), LogDestination::kJournal);
  // Inherited from a parent whose stderr was the journal; ours is not.
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_EQ(ChooseLogDestination(to_file, other.c_str()), LogDestination::kFile);
  EXPECT_EQ(ChooseLogDestination(to_file, "garbage"), LogDestination::kFile);
  EXPECT_EQ(ChooseLogDestination(to_file, nullptr), LogDestination::kFile);
  EXPECT_EQ(ChooseLogDestination(LogOutput{"atmhealthd", "", 1 << 20, 2}, nullptr),
            LogDestination::kStderr);
}

TEST(JournalEntryTest, CarriesTheProcessesAndTheCallsFieldsEscaped) {
  SetProcessLogField("ATMHEALTH_TEST_DEVICE", "atm-0412");
  std::vector<std::string> entry;
  {
    ScopedLogFields alert({{"ATMHEALTH_ALERT_KEY", "storage:/srv/ej\nPRIORITY=0"},
                           {"ATMHEALTH_SEVERITY", "critical"}});
    ScopedLogFields inner({{"ATMHEALTH_ALERT_STATE", "firing"}});
    entry = JournalEntry("atmhealthd", spdlog::level::err, "/srv/ej is 95% full\nPRIORITY=0");
  }
  EXPECT_THAT(entry, ElementsAre("MESSAGE=/srv/ej is 95% full\\nPRIORITY=0", "PRIORITY=3",
                                 "SYSLOG_IDENTIFIER=atmhealthd", "ATMHEALTH_TEST_DEVICE=atm-0412",
                                 "ATMHEALTH_ALERT_KEY=storage:/srv/ej\\nPRIORITY=0",
                                 "ATMHEALTH_SEVERITY=critical", "ATMHEALTH_ALERT_STATE=firing"));
  // Out of the scopes, the thread's fields are gone.
  entry = JournalEntry("atmhealthd", spdlog::level::info, "next");
  EXPECT_THAT(entry, Contains("PRIORITY=6"));
  EXPECT_THAT(entry, Not(Contains(::testing::StartsWith("ATMHEALTH_ALERT_KEY="))));
}

// In a child process with a private mount namespace: journald's socket
// address on a tmpfs, bound here; the journal sink logs one alert line; the
// datagram libsystemd sent is what journald would have stored. The child
// writes the datagram to `out` and exits 0, or exits with the failed step.
int ReceiveOneJournalEntry(int out) {
  if (::unshare(CLONE_NEWNS) != 0) return 10;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 11;
  if (::mount("tmpfs", "/run/systemd", "tmpfs", 0, "size=1m") != 0) return 12;
  if (::mkdir("/run/systemd/journal", 0755) != 0) return 13;
  const int journal = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, "/run/systemd/journal/socket");
  if (::bind(journal, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return 14;

  SetProcessLogField("ATMHEALTH_DEVICE", "atm-0412");
  if (!ConfigureLogging(LogOutput{"atmhealthd", "", 1 << 20, 2}, LogDestination::kJournal).ok()) {
    return 15;
  }
  {
    ScopedLogFields fields(
        {{"ATMHEALTH_ALERT_KEY", "storage:/srv/ej"}, {"ATMHEALTH_SEVERITY", "critical"}});
    spdlog::error("{} is 95% full\n(critical at 90%)", "/srv/ej");
  }
  char datagram[65536];
  const ssize_t got = ::recv(journal, datagram, sizeof datagram, MSG_DONTWAIT);
  if (got <= 0) return 16;
  if (::write(out, datagram, static_cast<std::size_t>(got)) != got) return 17;
  return 0;
}

TEST(JournalSinkTest, AlertLineReachesTheJournalSocketWithItsFields) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::_exit(ReceiveOneJournalEntry(pipe_fds[1]));
  }
  ::close(pipe_fds[1]);
  std::string datagram;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) datagram.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "failed step in the child";

  // The native protocol: one NAME=value line per field (a value with a raw
  // newline would need the binary form; escaped ones never do).
  std::vector<std::string> fields;
  std::size_t from = 0;
  for (std::size_t end; (end = datagram.find('\n', from)) != std::string::npos; from = end + 1) {
    fields.push_back(datagram.substr(from, end - from));
  }
  EXPECT_EQ(from, datagram.size());
  EXPECT_THAT(fields, Contains("MESSAGE=/srv/ej is 95% full\\n(critical at 90%)"));
  EXPECT_THAT(fields, Contains("PRIORITY=3"));
  EXPECT_THAT(fields, Contains("SYSLOG_IDENTIFIER=atmhealthd"));
  EXPECT_THAT(fields, Contains("ATMHEALTH_DEVICE=atm-0412"));
  EXPECT_THAT(fields, Contains("ATMHEALTH_ALERT_KEY=storage:/srv/ej"));
  EXPECT_THAT(fields, Contains("ATMHEALTH_SEVERITY=critical"));
  for (const std::string& field : fields) EXPECT_NE(field.find('='), std::string::npos) << field;
}

}  // namespace
}  // namespace atmhealth::platform
