// Where the space of a filesystem went: the largest directories under its
// mount point, as `du -x --max-depth=2 | sort -rn` would list them, for the
// diagnostic snapshot of a filesystem that fills up. Bounded in the entries
// it looks at and in time, since a full disk is exactly when a walk of
// millions of files must not run unbounded.
#ifndef ATMHEALTH_PLATFORM_DIRECTORY_USAGE_H_
#define ATMHEALTH_PLATFORM_DIRECTORY_USAGE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/status.h"

namespace atmhealth::platform {

struct DirectoryUsageLimits {
  std::size_t top = 5;                 // directories listed, largest first
  int max_depth = 2;                   // levels below the root that are listed
  std::uint64_t max_entries = 200000;  // entries looked at before the walk stops
  std::chrono::milliseconds time_limit{5000};
};

struct DirectoryUsage {
  struct Directory {
    std::string path;         // absolute
    std::uint64_t bytes = 0;  // allocated on disk by it and everything below, this filesystem only
  };
  std::vector<Directory> largest;  // at most `top`, largest first
  std::uint64_t entries = 0;       // entries looked at
  // The walk stopped at max_entries or time_limit: the sizes are what was
  // seen until then (lower bounds).
  bool partial = false;
  std::chrono::milliseconds elapsed{0};
};

// Walks `root` without following symbolic links or crossing into other
// filesystems; directories it may not read are skipped. An error only when
// `root` itself cannot be opened.
Result<DirectoryUsage> LargestDirectories(const std::string& root,
                                          const DirectoryUsageLimits& limits);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_DIRECTORY_USAGE_H_
