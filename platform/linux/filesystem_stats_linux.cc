#include <sys/statvfs.h>

#include <cerrno>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include "platform/filesystem_stats.h"
#include "platform/os_error.h"

namespace atmhealth::platform {
namespace {

// One statvfs call, shared between the caller and the worker thread that
// makes it, so that a caller that gives up leaves the state to the worker.
struct PendingProbe {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  int error_number = 0;
  struct statvfs result {};
};

class StatvfsProbe final : public FilesystemProbe {
 public:
  explicit StatvfsProbe(std::chrono::milliseconds time_limit) : time_limit_(time_limit) {}

  Result<FilesystemStats> Probe(const std::string& path) override {
    if (auto hung = hung_.find(path); hung != hung_.end()) {
      std::lock_guard lock(hung->second->mutex);
      if (!hung->second->done) {
        return Error(ErrorCode::kTimeout,
                     "statvfs \"" + path + "\": still not answering after an earlier time-out");
      }
      hung_.erase(hung);
    }

    auto pending = std::make_shared<PendingProbe>();
    try {
      std::thread([pending, path] {
        struct statvfs buf {};
        const int rc = ::statvfs(path.c_str(), &buf);
        const int error_number = rc == 0 ? 0 : errno;
        std::lock_guard lock(pending->mutex);
        pending->result = buf;
        pending->error_number = error_number;
        pending->done = true;
        pending->done_cv.notify_all();
      }).detach();
    } catch (const std::system_error& e) {
      // Out of threads or memory (a limit, or many probes still hung): an
      // expected failure of this probe, reported like any other.
      return Error(ErrorCode::kUnavailable,
                   "statvfs \"" + path + "\": cannot start the probe's thread: " + e.what());
    }

    std::unique_lock lock(pending->mutex);
    if (!pending->done_cv.wait_for(lock, time_limit_, [&] { return pending->done; })) {
      hung_.emplace(path, pending);
      return Error(ErrorCode::kTimeout, "statvfs \"" + path + "\": no answer within " +
                                            std::to_string(time_limit_.count()) + " ms");
    }
    if (pending->error_number != 0) {
      return ErrorFromErrno(pending->error_number, "statvfs \"" + path + "\"");
    }
    const struct statvfs& s = pending->result;
    const std::uint64_t block = s.f_frsize != 0 ? s.f_frsize : s.f_bsize;
    FilesystemStats stats;
    stats.total_bytes = static_cast<std::uint64_t>(s.f_blocks) * block;
    stats.free_bytes = static_cast<std::uint64_t>(s.f_bfree) * block;
    stats.available_bytes = static_cast<std::uint64_t>(s.f_bavail) * block;
    stats.total_inodes = s.f_files;
    stats.free_inodes = s.f_ffree;
    stats.read_only = (s.f_flag & ST_RDONLY) != 0;
    return stats;
  }

 private:
  std::chrono::milliseconds time_limit_;
  // Probes that timed out and whose worker has not returned yet.
  std::map<std::string, std::shared_ptr<PendingProbe>> hung_;
};

}  // namespace

std::unique_ptr<FilesystemProbe> FilesystemProbe::Create(std::chrono::milliseconds time_limit) {
  return std::make_unique<StatvfsProbe>(time_limit);
}

Result<MountTable> ListDataMounts(const std::string& proc_root) {
  const std::string path = proc_root + "/self/mounts";
  std::ifstream in(path);
  if (!in) return ErrorFromErrno(errno, "open \"" + path + "\"");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseDataMounts(text.str(), path);
}

}  // namespace atmhealth::platform
