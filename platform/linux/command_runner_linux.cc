#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "platform/command_runner.h"
#include "platform/os_error.h"

extern char** environ;

namespace atmhealth::platform {
namespace {

using Clock = std::chrono::steady_clock;

// After SIGKILL a process is gone within microseconds unless it sleeps
// uninterruptibly in the kernel (a hung NFS read): wait this long, then
// leave it to a reaper thread rather than block the caller.
constexpr auto kKillGrace = std::chrono::milliseconds(50);
// Without a pidfd (kernels before 5.3), how often to look whether it exited.
constexpr auto kExitPollInterval = std::chrono::milliseconds(10);

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

void Record(int wait_status, CommandOutcome& outcome) {
  if (WIFEXITED(wait_status)) {
    outcome.exited = true;
    outcome.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    outcome.signal = WTERMSIG(wait_status);
  }
}

// Reaped: true when the child has ended and its status is in `outcome`.
bool TryReap(pid_t pid, CommandOutcome& outcome) {
  int wait_status = 0;
  pid_t got;
  do {
    got = ::waitpid(pid, &wait_status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got != pid) return false;
  Record(wait_status, outcome);
  return true;
}

}  // namespace

Result<CommandOutcome> RunCommand(const CommandSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Error(ErrorCode::kInvalidArgument, "command: no program given");
  }
  const std::string& program = spec.argv[0];
  const auto start = Clock::now();
  const auto deadline = start + spec.time_limit;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return ErrorFromErrno(errno, "run \"" + program + "\": pipe");
  }
  Fd read_end(pipe_fds[0]);
  Fd write_end(pipe_fds[1]);

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), 1);
  if (spec.stderr_handling == CommandSpec::Stderr::kMerged) {
    posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), 2);
  } else {
    posix_spawn_file_actions_addopen(&setup.actions, 2, "/dev/null", O_WRONLY, 0);
  }
  // Its own process group, so the limit kills whatever it started too; no
  // blocked signals and default handlers whatever the calling thread has
  // (the agent blocks SIGTERM on its threads and may ignore SIGPIPE).
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int signal :
       {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, signal);
  }
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  posix_spawnattr_setsigmask(&setup.attributes, &empty);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const auto& word : spec.argv) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);

  pid_t pid = -1;
  const bool search_path = program.find('/') == std::string::npos;
  const int spawn_error = search_path ? ::posix_spawnp(&pid, program.c_str(), &setup.actions,
                                                       &setup.attributes, argv.data(), environ)
                                      : ::posix_spawn(&pid, program.c_str(), &setup.actions,
                                                      &setup.attributes, argv.data(), environ);
  write_end.Close();  // only the child writes now: EOF when it (and its children) are done
  if (spawn_error != 0) return ErrorFromErrno(spawn_error, "run \"" + program + "\"");

  Fd pid_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  CommandOutcome outcome;
  bool reaped = false;
  bool output_open = true;
  char buffer[16384];
  while (true) {
    if (!reaped) reaped = TryReap(pid, outcome);
    if (reaped && !output_open) break;
    const auto now = Clock::now();
    if (now >= deadline) break;
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    pollfd fds[2];
    nfds_t count = 0;
    if (output_open) fds[count++] = {read_end.get(), POLLIN, 0};
    if (!reaped) {
      if (pid_fd.get() >= 0) {
        fds[count++] = {pid_fd.get(), POLLIN, 0};
      } else {
        wait = std::min(wait, kExitPollInterval);
      }
    }
    const int ready = ::poll(fds, count, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) break;  // cannot wait any more: treat as the limit
    if (ready <= 0 || !output_open || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      continue;
    }
    const ssize_t got = ::read(read_end.get(), buffer, sizeof(buffer));
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) {
      output_open = false;
      read_end.Close();
      continue;
    }
    const auto size = static_cast<std::size_t>(got);
    outcome.output_bytes += size;
    const std::size_t room = spec.output_limit - std::min(spec.output_limit, outcome.output.size());
    outcome.output.append(buffer, std::min(room, size));
    if (size > room) outcome.output_truncated = true;
  }

  if (!reaped || output_open) {
    outcome.killed_at_time_limit = true;
    ::kill(-pid, SIGKILL);  // the whole group, including what it started
    if (!reaped) {
      ::kill(pid, SIGKILL);  // in case it left its group
      const auto give_up = Clock::now() + kKillGrace;
      while (!(reaped = TryReap(pid, outcome)) && Clock::now() < give_up) {
        if (pid_fd.get() >= 0) {
          pollfd fd{pid_fd.get(), POLLIN, 0};
          ::poll(&fd, 1, static_cast<int>(kKillGrace.count()));
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      if (!reaped) {
        outcome.signal = SIGKILL;
        std::thread([pid] {
          int ignored = 0;
          while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
          }
        }).detach();
      }
    }
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return outcome;
}

}  // namespace atmhealth::platform
