// Room on a disk held in a file of its own, to be given back when the disk is
// full and something that matters more needs it. The event buffer keeps one:
// on a disk at 100 %, SQLite cannot even delete delivered events (the delete
// goes through the WAL, and the checkpoint that would shrink the file first
// needs room itself), so without room held in advance nothing ever recovers.
#ifndef ATMHEALTH_PLATFORM_DISK_RESERVE_H_
#define ATMHEALTH_PLATFORM_DISK_RESERVE_H_

#include <cstdint>
#include <string>

#include "platform/status.h"

namespace atmhealth::platform {

// Not thread-safe: owned by one thread.
class DiskReserve {
 public:
  // `bytes` at `path`; nothing is allocated before Take(). 0 bytes: a
  // reserve that is never held.
  DiskReserve(std::string path, std::uint64_t bytes) : path_(std::move(path)), bytes_(bytes) {}

  // Allocates the whole file (blocks reserved, nothing written) unless it is
  // held already; a file left by an earlier run is taken over. kNoSpace when
  // the disk lacks the room, and then no file is left behind.
  Status Take();
  // Deletes the file: its room is free the moment this returns. Returns
  // whether it was held.
  bool Release();

  bool held() const { return held_; }
  std::uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::uint64_t bytes_;
  bool held_ = false;
};

}  // namespace atmhealth::platform

#endif  // ATMHEALTH_PLATFORM_DISK_RESERVE_H_
