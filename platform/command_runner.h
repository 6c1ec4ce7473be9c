// Runs a program without a shell, bounded in time and in output: the generic
// command redundancy source, pacemaker's crm_mon and the diagnostic snapshot
// all run their commands through RunCommand.
#ifndef ATMHEALTH_PLATFORM_COMMAND_RUNNER_H_
#define ATMHEALTH_PLATFORM_COMMAND_RUNNER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

struct CommandSpec {
  // argv[0] is the program: a path, or a bare name looked up in PATH. The
  // words are passed as they are; no shell ever sees them.
  std::vector<std::string> argv;
  // At the limit the command's whole process group is killed with SIGKILL.
  std::chrono::milliseconds time_limit{std::chrono::seconds(10)};
  // Output kept, in bytes; the rest is read (so the command never blocks on
  // a full pipe) and thrown away, and the outcome says so.
  std::size_t output_limit = 64 * 1024;
  // Standard error joined into the output (diagnostics, "2>&1"), or thrown
  // away (crm_mon, whose output must stay well-formed XML).
  enum class Stderr { kMerged, kDiscarded };
  Stderr stderr_handling = Stderr::kMerged;
};

struct CommandOutcome {
  bool exited = false;  // ended by itself: exit_code holds its status
  int exit_code = -1;
  int signal = 0;  // the signal that ended it (SIGKILL when killed at the limit)
  // Still running, or its output still held open by a process it left
  // behind, when the time limit came: its process group was killed.
  bool killed_at_time_limit = false;
  std::string output;              // at most output_limit bytes
  bool output_truncated = false;   // it wrote more than output_limit bytes
  std::uint64_t output_bytes = 0;  // bytes it wrote, kept or not
  std::chrono::milliseconds elapsed{0};

  // Exited with status 0 by itself.
  bool Succeeded() const { return exited && exit_code == 0 && !killed_at_time_limit; }
  // The output up to its first newline, without a trailing '\r'.
  std::string_view FirstLine() const;
  // One line for a log or an alert's context: "exit status 3",
  // "killed by signal 11", "killed (SIGKILL) at its time limit of 2000 ms",
  // with ", output cut at 65536 of 70000 bytes" when it was cut.
  std::string Describe(const CommandSpec& spec) const;
};

// Starts spec.argv[0] with stdin from /dev/null in a new process group, and
// returns when it has ended and its output is closed, or at its time limit
// (then at most about 50 ms later). Safe from any thread, any number at
// once. An error only when it could not start: no program given
// (kInvalidArgument), no such program (kNotFound), not executable
// (kPermissionDenied), out of processes or descriptors (kUnavailable, kIo).
Result<CommandOutcome> RunCommand(const CommandSpec& spec);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_COMMAND_RUNNER_H_
