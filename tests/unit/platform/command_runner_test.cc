#include "platform/command_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::platform {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

CommandOutcome Execute(std::vector<std::string> argv, std::chrono::milliseconds limit = 10s,
                       std::size_t output_limit = 64 * 1024,
                       CommandSpec::Stderr stderr_handling = CommandSpec::Stderr::kMerged) {
  CommandSpec spec;
  spec.argv = std::move(argv);
  spec.time_limit = limit;
  spec.output_limit = output_limit;
  spec.stderr_handling = stderr_handling;
  auto outcome = RunCommand(spec);
  EXPECT_TRUE(outcome.ok()) << outcome.error().message();
  return outcome.ok() ? *outcome : CommandOutcome{};
}

TEST(RunCommand, ExitStatusAndFirstLineOfOutput) {
  const auto outcome = Execute({"/bin/sh", "-c", "printf 'raid ok\\r\\nsecond\\n'; exit 3"});
  EXPECT_TRUE(outcome.exited);
  EXPECT_EQ(outcome.exit_code, 3);
  EXPECT_FALSE(outcome.Succeeded());
  EXPECT_FALSE(outcome.killed_at_time_limit);
  EXPECT_EQ(outcome.FirstLine(), "raid ok");
  EXPECT_EQ(outcome.output, "raid ok\r\nsecond\n");
  EXPECT_EQ(outcome.Describe(CommandSpec{}), "exit status 3");
}

TEST(RunCommand, ArgumentsReachTheProgramUntouchedByAnyShell) {
  const auto outcome = Execute({"/bin/echo", "$HOME", ";", "rm", "-rf", "*", "`id`"});
  EXPECT_TRUE(outcome.Succeeded());
  EXPECT_EQ(outcome.output, "$HOME ; rm -rf * `id`\n");
}

TEST(RunCommand, BareNameIsLookedUpInPath) {
  const auto outcome = Execute({"echo", "found"});
  EXPECT_TRUE(outcome.Succeeded());
  EXPECT_EQ(outcome.FirstLine(), "found");
}

TEST(RunCommand, StandardInputIsEmpty) {
  const auto outcome = Execute({"/bin/cat"}, 5s);
  EXPECT_TRUE(outcome.Succeeded());
  EXPECT_EQ(outcome.output, "");
}

TEST(RunCommand, StderrMergedOrDiscarded) {
  const std::vector<std::string> argv = {"/bin/sh", "-c", "echo out; echo err >&2"};
  EXPECT_EQ(Execute(argv).output, "out\nerr\n");
  EXPECT_EQ(Execute(argv, 10s, 1024, CommandSpec::Stderr::kDiscarded).output, "out\n");
}

TEST(RunCommand, HangingCommandAndWhatItStartedAreKilledAtTheLimit) {
  const auto outcome = Execute({"/bin/sh", "-c", "sleep 60 & echo $!; wait"}, 300ms);
  EXPECT_TRUE(outcome.killed_at_time_limit);
  EXPECT_FALSE(outcome.exited);
  EXPECT_EQ(outcome.signal, SIGKILL);
  EXPECT_LT(outcome.elapsed, 3s);
  EXPECT_GE(outcome.elapsed, 300ms);
  EXPECT_THAT(outcome.Describe(CommandSpec{.argv = {}, .time_limit = 300ms}),
              HasSubstr("killed (SIGKILL) at its time limit of 300 ms"));
  // The background sleep was in the command's process group: killed too
  // (gone, or a zombie waiting for init).
  const std::string child(outcome.FirstLine());
  ASSERT_FALSE(child.empty());
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        const auto stat = testing::ReadFile("/proc/" + child + "/stat");
        return stat.empty() || stat.find(") Z ") != std::string::npos;
      },
      5s))
      << "sleep " << child << " survived";
}

TEST(RunCommand, OutputHeldOpenByALeftoverProcessEndsAtTheLimit) {
  const auto outcome = Execute({"/bin/sh", "-c", "echo done; (sleep 60 &); exit 0"}, 300ms);
  EXPECT_TRUE(outcome.exited);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_TRUE(outcome.killed_at_time_limit);
  EXPECT_FALSE(outcome.Succeeded());
  EXPECT_EQ(outcome.FirstLine(), "done");
  EXPECT_LT(outcome.elapsed, 3s);
}

TEST(RunCommand, OutputBeyondTheCapIsCountedAndThrownAway) {
  const auto outcome =
      Execute({"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"}, 10s, 1000);
  EXPECT_TRUE(outcome.Succeeded()) << "a command writing past the cap must not block on the pipe";
  EXPECT_EQ(outcome.output, std::string(1000, 'x'));
  EXPECT_TRUE(outcome.output_truncated);
  EXPECT_EQ(outcome.output_bytes, 300000u);
  EXPECT_THAT(outcome.Describe(CommandSpec{.argv = {}, .time_limit = 1s, .output_limit = 1000}),
              HasSubstr("output cut at 1000 of 300000 bytes"));
}

TEST(RunCommand, EndedBySignal) {
  const auto outcome = Execute({"/bin/sh", "-c", "kill -SEGV $$"});
  EXPECT_FALSE(outcome.exited);
  EXPECT_FALSE(outcome.killed_at_time_limit);
  EXPECT_EQ(outcome.signal, SIGSEGV);
  EXPECT_EQ(outcome.Describe(CommandSpec{}), "killed by signal 11");
}

TEST(RunCommand, MissingProgramIsNotFound) {
  CommandSpec spec;
  spec.argv = {"/nonexistent/crm_mon", "--output-as=xml"};
  auto absolute = RunCommand(spec);
  ASSERT_FALSE(absolute.ok());
  EXPECT_EQ(absolute.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(absolute.error().message(), HasSubstr("run \"/nonexistent/crm_mon\""));
  spec.argv = {"atmhealth-no-such-program"};
  auto bare = RunCommand(spec);
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().code(), ErrorCode::kNotFound);
}

TEST(RunCommand, NotExecutableIsPermissionDenied) {
  testing::ScratchDir dir;
  const auto script = (dir / "check.sh").string();
  testing::WriteFile(script, "#!/bin/sh\necho hi\n");
  ::chmod(script.c_str(), 0644);
  CommandSpec spec;
  spec.argv = {script};
  auto outcome = RunCommand(spec);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code(), ErrorCode::kPermissionDenied);
}

TEST(RunCommand, NoProgramIsInvalid) {
  auto outcome = RunCommand(CommandSpec{});
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code(), ErrorCode::kInvalidArgument);
}

TEST(RunCommand, ManyThreadsAtOnceEachGetTheirOwnOutput) {
  constexpr int kThreads = 6;
  std::vector<std::string> outputs(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([i, &outputs] {
      for (int round = 0; round < 5; ++round) {
        const auto outcome = Execute({"/bin/echo", "thread", std::to_string(i)});
        outputs[i] += outcome.output;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kThreads; ++i) {
    std::string expected;
    for (int round = 0; round < 5; ++round) expected += "thread " + std::to_string(i) + "\n";
    EXPECT_EQ(outputs[i], expected);
  }
}

TEST(RunCommand, SignalsBlockedInTheCallingThreadAreUnblockedInTheCommand) {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &block, &old);
  const auto outcome = Execute({"/bin/sh", "-c", "kill -TERM $$; sleep 5; echo survived"}, 4s);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(outcome.signal, SIGTERM);
  EXPECT_FALSE(outcome.killed_at_time_limit);
}

}  // namespace
}  // namespace atmhealth::platform
