#include "platform/filesystem_stats.h"

#include <map>
#include <set>
#include <sstream>

namespace atmhealth::platform {

double FilesystemStats::UsedPercent() const {
  const std::uint64_t used = total_bytes - free_bytes;
  const std::uint64_t usable = used + available_bytes;
  if (usable == 0) return 0.0;
  return 100.0 * static_cast<double>(used) / static_cast<double>(usable);
}

double FilesystemStats::InodesUsedPercent() const {
  if (total_inodes == 0) return 0.0;
  return 100.0 * static_cast<double>(total_inodes - free_inodes) /
         static_cast<double>(total_inodes);
}

namespace {

// /proc/self/mounts escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountField(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string octal = field.substr(i + 1, 3);
      if (octal.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::stoi(octal, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// "/run" and "/run/lock" are at or under "/run"; "/runbooks" is not.
bool IsAtOrUnder(const std::string& path, const std::string& directory) {
  return path.compare(0, directory.size(), directory) == 0 &&
         (path.size() == directory.size() || path[directory.size()] == '/');
}

}  // namespace

MountTable ParseDataMounts(std::string_view text, std::string_view source) {
  static const std::set<std::string> kDataTypes = {
      "ext2", "ext3",  "ext4", "xfs",   "btrfs", "zfs", "f2fs", "jfs",  "reiserfs",
      "vfat", "exfat", "ntfs", "ntfs3", "tmpfs", "nfs", "nfs4", "cifs", "overlay"};
  MountTable table;
  std::map<std::string, std::size_t> index_by_path;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::istringstream fields(line);
    MountPoint mount;
    if (!(fields >> mount.device >> mount.path >> mount.type)) {
      if (line.find_first_not_of(" \t") != std::string::npos) {
        table.problems.push_back(std::string(source) + ":" + std::to_string(number) +
                                 ": not \"device path type ...\"; line skipped");
      }
      continue;
    }
    if (kDataTypes.count(mount.type) == 0) continue;
    mount.device = UnescapeMountField(mount.device);
    mount.path = UnescapeMountField(mount.path);
    // /dev/shm and /run are tmpfs scratch space, not storage an outage hides in.
    if (mount.type == "tmpfs" && (mount.path == "/dev/shm" || IsAtOrUnder(mount.path, "/run") ||
                                  IsAtOrUnder(mount.path, "/sys") || mount.path == "/dev")) {
      continue;
    }
    // A later mount on the same path hides the earlier one: statvfs sees the
    // later filesystem, so its device and type are the ones to report.
    if (auto earlier = index_by_path.find(mount.path); earlier != index_by_path.end()) {
      table.mounts[earlier->second] = std::move(mount);
      continue;
    }
    index_by_path.emplace(mount.path, table.mounts.size());
    table.mounts.push_back(std::move(mount));
  }
  return table;
}

}  // namespace atmhealth::platform
