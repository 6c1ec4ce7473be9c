// An Ack is sent once StoreEvents returns: every seq it returned must be in
// the database after the collector process is killed at any moment.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "collector/store/collector_store.h"
#include "tests/support/sample_events.h"
#include "tests/support/test_paths.h"
#include "tests/unit/collector/store/plain_sql.h"

namespace atmhealth::collector {
namespace {

using ::atmhealth::testing::kReceivedAt1;
using ::atmhealth::testing::PlainSql;
using ::atmhealth::testing::SampleEvents;
using ::atmhealth::testing::SampleHello;
using ::atmhealth::testing::SqlValue;

constexpr const char* kDevice = "atm-tokyo-0412";
constexpr std::uint64_t kBatchEvents = 10;
constexpr int kAcksBeforeKill = 25;

// The child: a collector storing batches as fast as it can, writing every
// acknowledged seq to `ack_fd`. Exit codes name the step that failed.
[[noreturn]] void StoreUntilKilled(const std::string& path, int ack_fd) {
  Result<std::unique_ptr<CollectorStore>> store = CollectorStore::OpenSqlite(path);
  if (!store.ok()) _exit(2);
  Result<std::uint64_t> stored =
      (*store)->RecordHello(SampleHello(kDevice, "site-shinjuku"), "10.0.0.1:1", kReceivedAt1);
  if (!stored.ok()) _exit(3);
  for (std::uint64_t next = *stored + 1;; next += kBatchEvents) {
    Result<StoredBatch> acked = (*store)->StoreEvents(
        kDevice, "", SampleEvents(next, next + kBatchEvents - 1), kReceivedAt1);
    if (!acked.ok()) _exit(4);
    const std::uint64_t seq = acked->last_stored_seq;
    if (write(ack_fd, &seq, sizeof seq) != static_cast<ssize_t>(sizeof seq)) _exit(5);
  }
}

// Runs one child until it has acknowledged kAcksBeforeKill batches, kills it
// with SIGKILL, and returns the highest seq it acknowledged (0 on failure).
std::uint64_t AcknowledgedBeforeSigkill(const std::string& path) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return 0;
  }
  const pid_t child = fork();
  if (child < 0) {
    ADD_FAILURE() << "fork failed";
    return 0;
  }
  if (child == 0) {
    close(pipe_fds[0]);
    StoreUntilKilled(path, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  std::uint64_t highest = 0;
  std::uint64_t seq = 0;
  int acks = 0;
  while (acks < kAcksBeforeKill && read(pipe_fds[0], &seq, sizeof seq) == sizeof seq) {
    highest = seq;
    ++acks;
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  // Acks written between the last read and the kill count too.
  while (read(pipe_fds[0], &seq, sizeof seq) == sizeof seq) highest = seq;
  close(pipe_fds[0]);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the storing child ended by itself, exit code "
      << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << " (2 open, 3 hello, 4 store, 5 pipe)";
  EXPECT_EQ(acks, kAcksBeforeKill);
  return highest;
}

TEST(SqliteCollectorStoreCrash, AcknowledgedEventsSurviveSigkill) {
  atmhealth::testing::ScratchDir scratch;
  const std::string path = (scratch / "collector.db").string();
  std::uint64_t acknowledged = 0;
  for (int round = 0; round < 3; ++round) {
    const std::uint64_t highest = AcknowledgedBeforeSigkill(path);
    ASSERT_GT(highest, acknowledged) << "round " << round;
    acknowledged = highest;

    PlainSql sql(path);
    EXPECT_EQ(sql.Value("PRAGMA integrity_check"), SqlValue(std::string("ok")));
    EXPECT_EQ(sql.Value("SELECT count(*) FROM events WHERE seq <= " + std::to_string(acknowledged)),
              SqlValue(static_cast<std::int64_t>(acknowledged)))
        << "round " << round;
    // Batches are atomic and devices.last_seq moves with them.
    const SqlValue stored = sql.Value("SELECT count(*) FROM events");
    EXPECT_EQ(std::get<std::int64_t>(stored) % static_cast<std::int64_t>(kBatchEvents), 0);
    EXPECT_EQ(sql.Value("SELECT max(seq) FROM events"), sql.Value("SELECT last_seq FROM devices"));
    EXPECT_EQ(sql.Value("SELECT max(seq) FROM events"), stored);
  }
}

}  // namespace
}  // namespace atmhealth::collector
