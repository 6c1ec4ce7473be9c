#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "platform/directory_usage.h"
#include "platform/os_error.h"

namespace atmhealth::platform {
namespace {

// Directories deeper than this below the root are not entered.
constexpr int kMaxWalkDepth = 64;

class Walk {
 public:
  Walk(dev_t device, const DirectoryUsageLimits& limits)
      : device_(device),
        limits_(limits),
        deadline_(std::chrono::steady_clock::now() + limits.time_limit) {}

  // Bytes allocated by the directory open at `fd` (taken over) and all below
  // it on the same filesystem; directories up to max_depth are listed.
  std::uint64_t Directory(int fd, const std::string& path, int depth) {
    DIR* dir = fdopendir(fd);
    if (dir == nullptr) {
      close(fd);
      return 0;
    }
    std::uint64_t bytes = 0;
    while (!Stopped()) {
      errno = 0;
      const dirent* entry = readdir(dir);
      if (entry == nullptr) break;
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      ++usage_.entries;
      struct stat st {};
      if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (st.st_dev != device_) continue;  // a filesystem mounted below: not this one's space
      bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
      if (!S_ISDIR(st.st_mode)) continue;
      if (depth + 1 > kMaxWalkDepth) {
        usage_.partial = true;  // one open descriptor per level: a bound, not a full count
        continue;
      }
      const int child =
          openat(dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) continue;  // not ours to read: its own size is counted, its content not
      const std::string child_path = (path == "/" ? "" : path) + "/" + std::string(name);
      const std::uint64_t below = Directory(child, child_path, depth + 1);
      bytes += below;
      if (depth + 1 <= limits_.max_depth) {
        listed_.push_back({child_path, below + static_cast<std::uint64_t>(st.st_blocks) * 512});
      }
    }
    closedir(dir);
    return bytes;
  }

  DirectoryUsage Finish() {
    std::sort(listed_.begin(), listed_.end(), [](const auto& a, const auto& b) {
      // A parent before the child that holds all of it.
      return a.bytes != b.bytes ? a.bytes > b.bytes : a.path < b.path;
    });
    if (listed_.size() > limits_.top) listed_.resize(limits_.top);
    usage_.largest = std::move(listed_);
    return std::move(usage_);
  }

 private:
  bool Stopped() {
    if (usage_.partial) return true;
    // The clock is read every 256 entries: cheap next to a stat each.
    if (usage_.entries >= limits_.max_entries ||
        ((usage_.entries & 0xff) == 0 && std::chrono::steady_clock::now() >= deadline_)) {
      usage_.partial = true;
    }
    return usage_.partial;
  }

  const dev_t device_;
  const DirectoryUsageLimits& limits_;
  const std::chrono::steady_clock::time_point deadline_;
  DirectoryUsage usage_;
  std::vector<DirectoryUsage::Directory> listed_;
};

}  // namespace

Result<DirectoryUsage> LargestDirectories(const std::string& root,
                                          const DirectoryUsageLimits& limits) {
  const auto start = std::chrono::steady_clock::now();
  const int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrorFromErrno(errno, "open " + root);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int error_number = errno;
    close(fd);
    return ErrorFromErrno(error_number, "stat " + root);
  }
  Walk walk(st.st_dev, limits);
  walk.Directory(fd, root.size() > 1 && root.back() == '/' ? root.substr(0, root.size() - 1) : root,
                 0);
  DirectoryUsage usage = walk.Finish();
  usage.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return usage;
}

}  // namespace atmhealth::platform
