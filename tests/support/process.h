// Real processes for integration tests: the built binaries started, signalled
// (SIGTERM, SIGKILL) and waited for, their output kept in a log file that is
// printed when a test fails.
#ifndef ATMHEALTH_TESTS_SUPPORT_PROCESS_H_
#define ATMHEALTH_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace atmhealth::testing {

class Process {
 public:
  // Starts `binary` with `args`; stdout and stderr go to `log_file`.
  Process(const std::filesystem::path& binary, const std::vector<std::string>& args,
          const std::filesystem::path& log_file);
  ~Process();  // SIGKILLs the process if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int signal);
  // Waits for the process to end; returns its exit code, or 128 + signal when
  // a signal ended it, or nullopt on time-out.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // Sends SIGTERM and waits for a clean exit.
  std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::filesystem::path log_file_;
};

// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Reads a whole file; empty when it does not exist.
std::string ReadFile(const std::filesystem::path& path);
void WriteFile(const std::filesystem::path& path, const std::string& text);

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_PROCESS_H_
