// What a watched file is: its identity on disk (to tell cheaply whether it
// may have changed) and the SHA-256 of its content (OpenSSL).
#ifndef ATMHEALTH_PLATFORM_FILE_DIGEST_H_
#define ATMHEALTH_PLATFORM_FILE_DIGEST_H_

#include <cstdint>
#include <string>

#include "platform/status.h"

namespace atmhealth::platform {

struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t modified_unix_ns = 0;
  std::int64_t changed_unix_ns = 0;  // ctime: also moves on chmod, chown, rename over
  std::uint32_t mode = 0;            // permission bits
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  bool regular = false;
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

// stat(2) of `path`, following symbolic links; kNotFound when it is gone.
Result<FileIdentity> IdentifyFile(const std::string& path);

// Lowercase hex SHA-256 of a regular file's content, reading at most
// `max_bytes` (a larger file is kInvalidArgument, never half-hashed).
Result<std::string> Sha256OfFile(const std::string& path, std::uint64_t max_bytes);

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_FILE_DIGEST_H_
