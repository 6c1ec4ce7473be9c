// The event buffer survives kill -9: a child process appends and commits in
// a loop, reporting every committed seq through a pipe, and is killed with
// SIGKILL in the middle of it. Whatever it reported must be there afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "agent/store/event_store.h"
#include "tests/support/test_paths.h"
#include "tests/unit/agent/store/event_store_test_support.h"

namespace atmhealth::agent {
namespace {

using ::atmhealth::agent::testing::OpenOrFail;
using ::atmhealth::agent::testing::OptionsAt;
using ::atmhealth::agent::testing::RawDatabase;
using ::atmhealth::agent::testing::ReadAll;
using ::atmhealth::testing::SampleEvent;

// The child's whole life: never returns into the test framework.
[[noreturn]] void AppendAndCommitForever(const std::filesystem::path& path, int report_fd) {
  Result<std::unique_ptr<EventStore>> store =
      EventStore::Open(OptionsAt(path), platform::Clock::Real());
  if (!store.ok()) ::_exit(3);
  const v1::Severity severities[] = {v1::SEVERITY_INFO, v1::SEVERITY_WARNING,
                                     v1::SEVERITY_CRITICAL};
  for (std::uint64_t round = 0;; ++round) {
    std::uint64_t last = 0;
    for (std::uint64_t i = 0; i <= round % 4; ++i) {
      last = (*store)->Append(SampleEvent(severities[(round + i) % 3], "/var", 200 + 50 * i));
    }
    if (!(*store)->Commit().ok()) ::_exit(4);
    if (::write(report_fd, &last, sizeof last) != sizeof last) ::_exit(5);
  }
}

class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // SIGKILL, then reap; returns the wait status.
  int KillNine() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

// Reads 8-byte seqs from `fd` until `wanted` have arrived (or the writer is
// gone); at most `timeout_ms` per read.
std::vector<std::uint64_t> ReadSeqs(int fd, std::size_t wanted, int timeout_ms) {
  std::vector<std::uint64_t> seqs;
  while (seqs.size() < wanted) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, timeout_ms) <= 0) break;
    std::uint64_t seq = 0;
    // Writes of 8 bytes to a pipe are atomic: a report is whole or absent.
    const ssize_t n = ::read(fd, &seq, sizeof seq);
    if (n != static_cast<ssize_t>(sizeof seq)) break;
    seqs.push_back(seq);
  }
  return seqs;
}

TEST(EventStoreCrashTest, EveryReportedCommitSurvivesKillNine) {
  atmhealth::testing::ScratchDir scratch;
  const std::filesystem::path path = scratch / "events.db";
  std::uint64_t highest_reported = 0;
  for (std::size_t kill_after : {25u, 60u, 110u}) {
    int report[2];
    ASSERT_EQ(::pipe(report), 0) << std::strerror(errno);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
      ::close(report[0]);
      AppendAndCommitForever(path, report[1]);
    }
    ChildProcess child(pid);
    ::close(report[1]);
    std::vector<std::uint64_t> reported = ReadSeqs(report[0], kill_after, 20000);
    ASSERT_EQ(reported.size(), kill_after) << "the child stopped reporting early";
    const int status = child.KillNine();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended on its own, status " << status;
    // Reports written between the last read and the kill count too.
    for (std::uint64_t seq : ReadSeqs(report[0], SIZE_MAX, 0)) reported.push_back(seq);
    ::close(report[0]);
    for (std::size_t i = 1; i < reported.size(); ++i) ASSERT_GT(reported[i], reported[i - 1]);
    ASSERT_GT(reported.front(), highest_reported) << "a seq was reused after a restart";
    highest_reported = reported.back();

    {
      RawDatabase raw(path);
      EXPECT_EQ(raw.QueryText("PRAGMA integrity_check"), "ok");
    }
    auto store = OpenOrFail(OptionsAt(path), platform::Clock::Real());
    ASSERT_NE(store, nullptr);
    // Every event up to the last reported commit, from every round, is
    // there with no gap: each reported commit covers all seqs below it.
    std::set<std::uint64_t> present;
    for (const v1::Event& event : ReadAll(*store)) present.insert(event.seq());
    for (std::uint64_t seq = 1; seq <= highest_reported; ++seq) {
      ASSERT_EQ(present.count(seq), 1u) << "committed seq " << seq << " is lost";
    }
    EXPECT_GE(store->Stats().committed_seq, highest_reported);
    EXPECT_GT(store->Append(SampleEvent(v1::SEVERITY_INFO, "/var")), highest_reported);
  }
}

}  // namespace
}  // namespace atmhealth::agent
