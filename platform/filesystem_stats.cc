#include "platform/filesystem_stats.h"

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

}  // namespace atmhealth::platform
