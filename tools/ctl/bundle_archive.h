// The file an export bundle is handed over in: a gzip-compressed POSIX tar
// (pax), made with libarchive, that `tar xzf` opens on any Linux, macOS or
// Windows 10+ machine and every archive tool reads. Every member sits in one
// top directory named after the file, so unpacking never scatters files.
#ifndef ATMHEALTH_TOOLS_CTL_BUNDLE_ARCHIVE_H_
#define ATMHEALTH_TOOLS_CTL_BUNDLE_ARCHIVE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/status.h"

namespace atmhealth::ctl {

struct BundleFile {
  std::string name;  // inside the top directory: "events.jsonl", "logs/atmhealthd.log"
  std::string content;
};

// Bytes a member adds to the archive besides its content (tar headers and
// padding, gzip framing), at most: what a bound on the whole file reserves.
inline constexpr std::size_t kBundleMemberOverhead = 2048;

// Writes `files` under `directory/` into a new file at `path`, readable by
// its owner only (the bundle holds the device's events and logs). The file
// appears whole or not at all: it is written beside `path` and renamed.
// kInvalidArgument when `path` exists (never overwritten); kIo naming the
// file otherwise.
Status WriteBundleArchive(const std::string& path, const std::string& directory,
                          const std::vector<BundleFile>& files, std::int64_t mtime_unix_s);

}  // namespace atmhealth::ctl

#endif  // ATMHEALTH_TOOLS_CTL_BUNDLE_ARCHIVE_H_
