// Filesystem space and inode statistics behind a small interface, so that the
// storage watcher runs the same against a real mount and a test double.
#ifndef ATMHEALTH_PLATFORM_FILESYSTEM_STATS_H_
#define ATMHEALTH_PLATFORM_FILESYSTEM_STATS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

struct FilesystemStats {
  std::uint64_t total_bytes = 0;      // bytes, whole filesystem
  std::uint64_t free_bytes = 0;       // bytes free for root
  std::uint64_t available_bytes = 0;  // bytes free for unprivileged users
  std::uint64_t total_inodes = 0;     // 0 when the filesystem has no inode limit
  std::uint64_t free_inodes = 0;
  bool read_only = false;

  // Percent used as `df` reports it: used / (used + available), 0..100.
  double UsedPercent() const;
  // Percent of inodes used, 0..100; 0 when the filesystem has no inode limit.
  double InodesUsedPercent() const;
};

class FilesystemProbe {
 public:
  virtual ~FilesystemProbe() = default;
  // Statistics of the filesystem holding `path`. Returns kTimeout when the
  // filesystem does not answer in time (a hung NFS or a dying disk), never
  // blocks the caller longer than the probe's time limit.
  virtual Result<FilesystemStats> Probe(const std::string& path) = 0;

  // statvfs(2) with a time limit per call. A call that hangs keeps its worker
  // thread; further probes of the same path fail with kTimeout at once until
  // it returns, so a hung mount costs one thread, never more.
  static std::unique_ptr<FilesystemProbe> Create(std::chrono::milliseconds time_limit);
};

struct MountPoint {
  std::string device;  // e.g. "/dev/sda1"
  std::string path;    // e.g. "/var"
  std::string type;    // e.g. "ext4"
};

struct MountTable {
  std::vector<MountPoint> mounts;
  // Lines that could not be read, as "<source>:<line>: <why>", for the log.
  std::vector<std::string> problems;
};

// The filesystems that hold data (ext4, xfs, btrfs, tmpfs, ...) in the text of
// a mount table in /proc/self/mounts format; pseudo filesystems (proc, sysfs,
// cgroup, ...) and tmpfs scratch space (/run, /dev/shm) are left out.
// `source` names the text in problems.
MountTable ParseDataMounts(std::string_view text, std::string_view source);

// ParseDataMounts of `<proc_root>/self/mounts`.
Result<MountTable> ListDataMounts(const std::string& proc_root = "/proc");

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_FILESYSTEM_STATS_H_
